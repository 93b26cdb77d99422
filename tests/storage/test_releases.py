"""Releases are named: CHANGELOG.md lists them with their commits, tags agree with it, and a clone without
tags (as CI may make) still finds the previous release from the changelog."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.releases import ROOT, ReleaseUnavailable, changelog_releases, git, previous_release


def test_the_changelog_names_each_release_and_its_tag_agrees() -> None:
    releases = changelog_releases()
    assert releases and releases[-1].version == "0.1.0"
    assert releases[-1].commit == "a0c5ea9033ab9497b4ef16a46fb5ad472cb488c7"
    versions = [tuple(int(p) for p in r.version.split(".")) for r in releases]
    assert versions == sorted(versions, reverse=True), "newest first"
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for release in releases:
        tagged = git("rev-parse", "--verify", "--quiet", f"refs/tags/{release.tag}^{{commit}}", check=False).stdout
        if tagged.strip() and release.commit:
            assert tagged.strip() == release.commit, f"{release.tag} moved"


def test_a_release_entry_without_its_commit_needs_its_tag() -> None:
    text = "## v9.9.9 — soon\n\nNo commit line yet.\n\n## v0.1.0 — 2026-12-02\n\nCommit `" + "a" * 40 + "`\n"
    first, second = changelog_releases(text)
    assert (first.version, first.commit) == ("9.9.9", "") and second.commit == "a" * 40


def test_a_clone_without_tags_finds_the_previous_release_in_the_changelog(tmp_path: Path) -> None:
    head = git("rev-parse", "HEAD").stdout.strip()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", "--no-tags", "--no-checkout", str(ROOT), str(clone)], check=True,
                   capture_output=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head], check=True, capture_output=True)
    assert subprocess.run(["git", "-C", str(clone), "tag"], capture_output=True, text=True, check=True).stdout == ""
    found = subprocess.run([sys.executable, "-c", "from tests.support.releases import previous_release as p; "
                            "r = p(); print(r.tag, r.commit)"], cwd=clone, capture_output=True, text=True,
                           env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(clone)}, check=False)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [previous_release().tag, previous_release().commit]


def test_a_moved_tag_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import releases

    monkeypatch.setattr(releases, "_tag_commit", lambda tag: "b" * 40)
    with pytest.raises(ReleaseUnavailable, match="one of them is wrong"):
        releases.previous_release()
