"""The lock files answer for pyproject.toml: made from it (fingerprint), every requirement pinned to a version
it allows, with hashes, nothing missing and nothing stale, and the tests run on exactly those versions
(scripts/test installs them). The wheel builds with no deprecation warning; time zones come from the locked
`tzdata`, not from whatever the system has."""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

from tests.deploy.lockcheck import LOCKS, ROOT, Pin, canonical, fingerprint, read_lock, requirements

LOCK_FILES = ("runtime.lock", "test.lock", "build.lock")


def pins(name: str) -> dict[str, Pin]:
    return {p.name: p for p in read_lock(LOCKS / name)[1]}


def applies(pin: Pin) -> bool:
    return not pin.marker or Requirement(f"x; {pin.marker}").marker.evaluate()  # type: ignore[union-attr]


def test_the_locks_were_made_from_this_pyproject() -> None:
    for name in LOCK_FILES:
        first, _ = read_lock(LOCKS / name)
        assert fingerprint() in first, f"pyproject.toml changed since {name} was made: run scripts/lock"


def test_every_requirement_is_pinned_to_an_allowed_version_with_hashes() -> None:
    wanted = requirements()
    for lock, sections in (("runtime.lock", ["dependencies"]), ("test.lock", ["dependencies", "test"]),
                           ("build.lock", ["build"])):
        locked = pins(lock)
        for pin in locked.values():
            assert pin.hashes and all(h.startswith("sha256:") for h in pin.hashes), f"{lock}: {pin.name} has no hash"
        for section in sections:
            for text in wanted[section]:
                req = Requirement(text)
                found = locked.get(canonical(req.name))
                assert found is not None, f"{lock} does not pin {req.name} ({section}): run scripts/lock"
                assert req.specifier.contains(found.version, prereleases=True), \
                    f"{lock} pins {found.name}=={found.version}, pyproject.toml wants {req}: run scripts/lock"


def test_the_image_and_the_tests_use_the_same_versions() -> None:
    test = pins("test.lock")
    for name, pin in pins("runtime.lock").items():
        assert name in test and test[name].version == pin.version, f"{name}: runtime and test locks differ"


def closure(roots: list[str]) -> set[str]:
    """The distributions `roots` need here, following each installed one's metadata (markers and extras)."""
    env = {k: str(v) for k, v in default_environment().items()}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        key = (canonical(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        for dep in md.distribution(key[0]).requires or []:
            child = Requirement(dep)
            if child.marker is None or any(child.marker.evaluate({**env, "extra": e}) for e in req.extras | {""}):
                child.marker = None  # decided in the context of its parent's extras
                todo.append(child)
    return {name for name, _extras in seen}


def test_the_tests_run_on_the_locked_versions_and_the_lock_holds_exactly_what_is_needed() -> None:
    locked = {n: p for n, p in pins("test.lock").items() if applies(p)}
    installed = {canonical(d.metadata["Name"]): d.version for d in md.distributions()}
    wrong = {n: (p.version, installed.get(n)) for n, p in locked.items() if installed.get(n) != p.version}
    assert wrong == {}, f"installed versions differ from requirements/test.lock (locked, installed): {wrong}; " \
                        "scripts/test installs the lock"
    wanted = requirements()
    needed = closure(wanted["dependencies"] + wanted["test"])
    assert set(locked) == needed, (f"stale in the lock: {sorted(set(locked) - needed)}; "
                                   f"missing from it: {sorted(needed - set(locked))}: run scripts/lock")


def test_the_wheel_builds_without_deprecation_warnings(tmp_path: Path) -> None:
    build = pins("build.lock")
    have = {canonical(d.metadata["Name"]): d.version for d in md.distributions()}
    # With the locked setuptools installed (scripts/test, the image) build with it; else pip fetches one.
    args = ["--no-build-isolation"] if all(have.get(n) == p.version for n, p in build.items()) else []
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-v", "-w", str(tmp_path),
                           *args], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    output = done.stdout + done.stderr
    assert not re.search(r"Deprecat", output), re.findall(r".*Deprecat.*", output)
    (wheel,) = tmp_path.glob("cercle-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata


def test_time_zones_come_from_the_locked_tzdata_even_without_system_zones() -> None:
    code = ("import zoneinfo, tzdata; from bot.app import default_platforms; from bot.settings import load_settings; "
            "settings = load_settings({'CERCLE_TIMEZONE': 'US/Eastern'}, dotenv_path=None, "
            "platforms=default_platforms()); print(settings.zone, tzdata.IANA_VERSION)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**os.environ, "PYTHONTZPATH": ""}, check=False)  # as on a slim image: no zoneinfo
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "US/Eastern"
