"""The README's promise: a new user pipes a script into `cercle console` (or `cercle run`) and it works,
and the data is still there on the next run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CERCLE = [sys.executable, "-m", "bot.cli"]


def run_cercle(args: list[str], script: str, database_url: str, cwd: Path,
               **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
    environ.update({"CERCLE_DATABASE_URL": database_url, "PYTHONPATH": str(Path(__file__).parents[2]), **env})
    return subprocess.run([*CERCLE, *args], input=script, capture_output=True, text=True, cwd=cwd, env=environ,
                          timeout=120)


SCRIPT = """\
:as alice
community create data-science "Data Science" --purpose "Share ML practice" --topics python,ml
:in #data
community link data-science
profile skills python, pandas
:as bob
community join data-science
profile skills "machine learning", python
whoknows python
share data-science https://example.org/guide "ML guide" --tags ml
resources data-science
community promote data-science @bob
:as alice
community promote data-science @bob
:dm
community info data-science
"""


def test_two_people_use_communities_from_a_pipe(database_url: str, tmp_path: Path) -> None:
    result = run_cercle(["console"], SCRIPT, database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not re.search(r"^\w+@(#\w+|dm)> ", out, re.MULTILINE)  # no prompt when reading a pipe
    assert "Community Data Science (data-science) created. You are its manager." in out
    assert "This channel is now linked to the community Data Science" in out
    assert "Welcome to Data Science! Its purpose: Share ML practice" in out
    assert "• alice — python — in data-science — 1 contribution\n  • bob — python — in data-science" in out
    assert "[#data] bob shared a resource with Data Science:" in out
    assert "ML guide — https://example.org/guide [ml]" in out
    assert "Only the managers of 'data-science' may do this." in out
    assert "[dm @bob] alice made you a manager of the community Data Science." in out
    assert "Managers: alice, bob" in out
    assert "Traceback" not in out + result.stderr

    # Run again on the same database: the data is still there.
    again = run_cercle(["console", "--user", "carol"], "community list\nwhoknows pandas\n", database_url, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "data-science — Data Science (2 members)" in again.stdout
    assert "• alice — pandas — in data-science" in again.stdout


def test_cercle_run_without_platform_starts_the_console_on_sqlite(tmp_path: Path) -> None:
    result = run_cercle(["run"], 'community create demo "Demo"\ncommunity list\n', f"sqlite:///{tmp_path}/c.db",
                        tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Community Demo (demo) created." in result.stdout and "demo — Demo (1 member)" in result.stdout
    assert "starting the console" in result.stderr
    assert (tmp_path / "c.db").exists()


def test_default_database_is_cercle_db_in_the_working_directory(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
    environ["PYTHONPATH"] = str(Path(__file__).parents[2])
    result = subprocess.run([*CERCLE, "console", "--user", "zoe"], input="profile site Paris\n",
                            capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Your site: Paris." in result.stdout
    assert (tmp_path / "cercle.db").exists()


def test_a_wrong_setting_stops_with_one_line(tmp_path: Path) -> None:
    result = run_cercle(["run"], "", "sqlite:///x.db", tmp_path, CERCLE_LOCALE="de")
    assert result.returncode == 2
    assert result.stderr.strip() == "cercle: invalid setting CERCLE_LOCALE: 'de' is not one of en, fr"


def test_db_upgrade_reports_the_revision(database_url: str, tmp_path: Path) -> None:
    result = run_cercle(["db", "upgrade"], "", database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("database at revision ")


def test_console_controls_are_explained(tmp_path: Path) -> None:
    result = run_cercle(["console"], ":nonsense\n:as\n", f"sqlite:///{tmp_path}/c.db", tmp_path)
    assert result.stdout.count("Console controls: :as <user>, :in #<channel>, :dm") == 2


@pytest.mark.parametrize("flag", [["--user", "bad name"], ["--channel", "#a b"]])
def test_console_options_are_validated(tmp_path: Path, flag: list[str]) -> None:
    result = run_cercle(["console", *flag], "", f"sqlite:///{tmp_path}/c.db", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_without_admins_the_console_starter_administers_the_console(tmp_path: Path) -> None:
    script = "role grant @hannah hr\n:as bob\nrole grant @zoe hr\n"
    result = run_cercle(["console", "--user", "lea"], script, f"sqlite:///{tmp_path}/c.db", tmp_path)
    assert "hannah now has the hr role." in result.stdout
    assert "Only people with the admin role may do this." in result.stdout  # bob is not
    assert "console user 'lea' is an administrator" in result.stderr
    configured = run_cercle(["console", "--user", "lea"], "role grant @zoe hr\n", f"sqlite:///{tmp_path}/c.db",
                            tmp_path, CERCLE_ADMINS="console:root")
    assert "Only people with the admin role may do this." in configured.stdout



HEAVY = ("slack_bolt", "slack_sdk", "nio", "aiohttp", "apscheduler", "prometheus_client")
# `cercle console` through its console script's entry point, printing at exit (after its answer and drain)
# the modules it imported and whether the garbage collector, paused while starting, runs again.
WITH_MODULES = ("import atexit, gc, sys; "
                "atexit.register(lambda: sys.stderr.write('modules: ' + ' '.join(sorted(sys.modules)) + chr(10)"
                " + f'collector on: {gc.isenabled()}' + chr(10))); "
                "sys.argv = ['cercle', 'console']; from bot.start import main; main()")


def test_a_console_command_loads_no_platform_library_server_scheduler_or_metrics(tmp_path: Path) -> None:
    """`echo help | cercle console` needs none of them to answer (`tests/bench/bench_startup.py` times it)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
    environ.update({"CERCLE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "PYTHONPATH": str(Path(__file__).parents[2])})
    result = subprocess.run([sys.executable, "-c", WITH_MODULES], input="help\n", capture_output=True, text=True,
                            cwd=tmp_path, env=environ, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Cercle commands" in result.stdout
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("modules: ")]
    assert "collector on: True" in result.stderr.splitlines()
    imported = set(line.split()[1:])
    assert {"bot.app", "sqlalchemy", "adapters.slack.platform", "adapters.matrix.platform"} <= imported
    assert sorted(m for m in imported if m.split(".")[0] in HEAVY) == []
