"""The previous release of Cercle, built from this clone's history into a cached virtual environment.

The releases are listed in `CHANGELOG.md` (`## vX.Y.Z — date` and the commit it was cut from). The
previous release is the newest one whose commit is an ancestor of `HEAD` (and not `HEAD` itself, so the
release commit is tested against the release before it). Its commit is the tag's when the clone has
the tag, else the one written in the changelog; both present and different is an error (a moved tag).

Its source is taken with `git archive` (no checkout, nothing left in the work tree) and installed,
not in editable mode, into `.cache/releases/<version>-<commit>-py<X.Y>/`, reused by later runs. Its
dependencies are constrained to this tree's lock file (without hashes), so the old code runs on the
versions the project locks today and the install comes mostly from pip's cache.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.cache_lock import locked

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "releases"
SCENARIO = ROOT / "tests" / "storage" / "upgrade" / "old_release.py"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"

_HEADING = re.compile(r"^## v(\d+\.\d+\.\d+)\b", re.M)
_COMMIT = re.compile(r"Commit `([0-9a-f]{40})`")


class ReleaseUnavailable(RuntimeError):
    """The previous release cannot be found or installed here; the message says why."""


@dataclass(frozen=True)
class Release:
    version: str
    commit: str  # the full commit hash ("" in a changelog entry that does not name it yet)

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def changelog_releases(text: str | None = None) -> list[Release]:
    """The releases of CHANGELOG.md, newest first, each with the commit its entry names."""
    text = text if text is not None else (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = list(_HEADING.finditer(text))
    out = []
    for i, heading in enumerate(headings):
        end = headings[i + 1].start() if i + 1 < len(headings) else len(text)
        commit = _COMMIT.search(text, heading.end(), end)
        out.append(Release(heading.group(1), commit.group(1) if commit else ""))
    return out


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=check)


def _tag_commit(tag: str) -> str | None:
    done = git("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}", check=False)
    return done.stdout.strip() or None


def _has_commit(commit: str) -> bool:
    return git("cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode == 0


def previous_release() -> Release:
    """The release the current tree upgrades from (see the module docstring)."""
    if git("rev-parse", "--git-dir", check=False).returncode != 0:
        raise ReleaseUnavailable(f"{ROOT} is not a git clone: the previous release cannot be built")
    head = git("rev-parse", "HEAD").stdout.strip()
    for listed in changelog_releases():
        tagged = _tag_commit(listed.tag)
        if tagged and listed.commit and tagged != listed.commit:
            raise ReleaseUnavailable(f"tag {listed.tag} is on {tagged[:12]} but CHANGELOG.md says "
                                     f"{listed.commit[:12]}: one of them is wrong")
        if not listed.commit:  # the release commit cannot name itself: its tag does until the next commit
            if not tagged:
                raise ReleaseUnavailable(f"{listed.tag}: no tag in this clone and no Commit `<hash>` in CHANGELOG.md")
            listed = Release(listed.version, tagged)
        if not _has_commit(listed.commit):
            raise ReleaseUnavailable(f"{listed.tag} ({listed.commit[:12]}) is not in this clone's history "
                                     "(a shallow clone? `git fetch --unshallow --tags`)")
        if listed.commit == head:
            continue
        if git("merge-base", "--is-ancestor", listed.commit, head, check=False).returncode == 0:
            return listed
    raise ReleaseUnavailable("CHANGELOG.md lists no release before HEAD")


def export_source(release: Release, dest: Path) -> Path:
    """The release's tree, as `git archive` gives it, unpacked into `dest`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", release.commit],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def plain_constraints(lock: Path) -> str:
    """`name==version` lines of a hashed lock file (pip refuses hashes in a constraints file)."""
    lines = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._\-]*==[^\s;\\]+)(\s*;\s*[^\\]+?)?\s*(\\)?$", line)
        if match:
            lines.append(match.group(1) + (match.group(2) or ""))
    return "\n".join(lines) + "\n"


def release_python(release: Release) -> Path:
    """The python of the release's cached venv, building it when missing (about a minute, then reused)."""
    name = f"{release.version}-{release.commit[:12]}-py{sys.version_info.major}.{sys.version_info.minor}"
    venv = CACHE / name
    python = venv / "bin" / "python"
    marker = venv / ".cercle-ready"
    with locked(CACHE / f"{name}.lock"):
        if marker.exists() and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        with tempfile.TemporaryDirectory(prefix="cercle-release-") as tmp:
            source = export_source(release, Path(tmp) / "src")
            constraints = Path(tmp) / "constraints.txt"
            constraints.write_text(plain_constraints(RUNTIME_LOCK) if RUNTIME_LOCK.exists() else "")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_CONSTRAINT", "PYTHON"))}
            try:
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
                subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "-c", str(constraints), str(source)], check=True, capture_output=True,
                               timeout=900, env=env)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                stderr = getattr(exc, "stderr", b"") or b""
                raise ReleaseUnavailable(f"cannot install {release.tag}: "
                                         f"{stderr.decode(errors='replace')[-800:]}") from None
        marker.write_text(f"{release.tag} {release.commit}\n")
    return python


def run_old(release: Release, *args: str, timeout: float = 300) -> dict[str, Any]:
    """Run `tests/storage/upgrade/old_release.py` with the release's code; its JSON answer.

    `python -I` from a scratch folder: neither this tree nor its `.env` nor a CERCLE_* variable leaks in."""
    python = release_python(release)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CERCLE_", "SLACK_", "MATRIX_", "PYTHON"))}
    with tempfile.TemporaryDirectory(prefix="cercle-old-") as tmp:
        script = Path(tmp) / "old_release.py"
        shutil.copyfile(SCENARIO, script)
        done = subprocess.run([str(python), "-I", str(script), *args], cwd=tmp, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{release.tag} {' '.join(args[:1])} failed ({done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer
