"""The README's promise: a new user pipes a script into `cercle console` (or `cercle run`) and it works,
and the data is still there on the next run."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
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
    result = run_cercle(["console"], SCRIPT, database_url, tmp_path, CERCLE_ADMINS="console:admin")
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


def test_without_admins_everyone_in_the_console_administers_it(tmp_path: Path) -> None:
    script = "role grant @hannah hr\n:as bob\nrole grant @zoe hr\n"
    result = run_cercle(["console", "--user", "lea"], script, f"sqlite:///{tmp_path}/c.db", tmp_path)
    assert "hannah now has the hr role." in result.stdout
    assert "zoe now has the hr role." in result.stdout  # bob too: nobody signs in to the console
    assert "everyone in this console is an administrator" in result.stderr
    configured = run_cercle(["console", "--user", "lea"], "role grant @zoe hr\n:as ALICE\nrole grant @zoe hr\n",
                            f"sqlite:///{tmp_path}/c.db", tmp_path, CERCLE_ADMINS="console:Alice")
    assert configured.stdout.count("Only people with the admin role may do this.") == 1  # lea is not; alice is
    assert "zoe already has the hr role." in configured.stdout


README = Path(__file__).parents[2] / "README.md"


def readme_console_example() -> str:
    text = README.read_text(encoding="utf-8")
    block = text[text.index("<!-- example:console -->"):text.index("<!-- /example:console -->")]
    return block.split("```sh\n", 1)[1].rsplit("```", 1)[0]


def test_the_readme_console_example_runs_exactly_as_printed(tmp_path: Path) -> None:
    """The block is run by a shell as it is written, with `.venv/bin/cercle` the installed command, no
    CERCLE_ADMINS, and standard error kept apart: every command it shows works."""
    example = readme_console_example()
    assert example.startswith(".venv/bin/cercle console <<'SCRIPT'\n")
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    installed = Path(sys.executable).parent / "cercle"
    assert installed.exists(), "the cercle command is installed with the project"
    (venv_bin / "cercle").symlink_to(installed)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
    result = subprocess.run(["bash", "-c", example], capture_output=True, text=True, cwd=tmp_path, env=environ,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Community Data Science (data-science) created. You are its manager." in out
    assert "Your skills: machine-learning, python." in out
    assert "hannah now has the hr role." in out
    assert "Welcome to Data Science!" in out
    assert "• alice — machine-learning — in data-science" in out
    assert "[#data] bob shared a resource with Data Science:" in out
    assert "community members <slug>" in out and "Usage:" not in out
    assert "Traceback" not in out + result.stderr and '{"time"' not in out + result.stderr
    assert (tmp_path / "cercle.db").exists()


def _digest_ran(database: Path) -> bool:
    with sqlite3.connect(database) as db:
        return bool(db.execute("SELECT count(*) FROM digestrun").fetchone()[0])


def _slow_console(args: list[str], environ: dict[str, str], cwd: Path) -> str:
    """`cercle console 2>&1` fed by someone typing: the console waits for the next line (its scheduler then
    starts and the digest catch-up runs and logs), then gets one more command. Returns the merged output."""
    process = subprocess.Popen([*CERCLE, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=cwd, env=environ)
    assert process.stdin is not None
    process.stdin.write("help\n")
    process.stdin.flush()
    # The person waits until the digest catch-up has run (its run is recorded), however busy the machine is.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _digest_ran(cwd / "c.db"):
        time.sleep(0.2)
    time.sleep(0.5)  # its log line follows the commit
    out, _err = process.communicate("community list\n", timeout=120)
    assert process.returncode == 0, out
    return out


def test_log_lines_never_land_among_the_replies(tmp_path: Path) -> None:
    """Run as `cercle console 2>&1`: the digest catch-up logs a line; it is kept off the output (and written to
    --log-file when asked)."""
    url = f"sqlite:///{tmp_path}/c.db"
    run_cercle(["console", "--user", "alice"], 'community create ds "DS"\n:in #data\ncommunity link ds\n', url,
               tmp_path)
    with sqlite3.connect(tmp_path / "c.db") as db:
        db.execute("UPDATE community SET created_at = datetime('now', '-30 days')")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MATRIX_", "CERCLE_"))}
    environ.update({"CERCLE_DATABASE_URL": url, "PYTHONPATH": str(Path(__file__).parents[2])})
    merged = _slow_console(["console", "--user", "bob"], environ, tmp_path)
    assert "ds — DS" in merged and "[#data] Quiet period in DS" in merged  # the catch-up ran
    assert not [line for line in merged.splitlines() if line.startswith("{")], merged
    with sqlite3.connect(tmp_path / "c.db") as db:
        db.execute("DELETE FROM digestrun")
        db.execute("DELETE FROM outboxmessage")
    log = tmp_path / "cercle.log"
    logged = _slow_console(["console", "--user", "bob", "--log-file", str(log)], environ, tmp_path)
    assert not [line for line in logged.splitlines() if line.startswith("{")]
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert any(entry["message"] == "posted 1 digest(s)" for entry in lines), lines


def test_version_and_full_help_lines(tmp_path: Path) -> None:
    version = run_cercle(["--version"], "", f"sqlite:///{tmp_path}/c.db", tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"cercle \d+\.\d+\.\d+\S*\n", version.stdout)
    shown = run_cercle(["--help"], "", f"sqlite:///{tmp_path}/c.db", tmp_path, COLUMNS="80").stdout
    flat = " ".join(shown.split())
    assert "Read commands from standard input (a terminal or a pipe) and print the replies." in flat
    assert "Start every configured platform; with none, the console on the embedded database." in flat
    assert "..." not in shown.split("Commands:")[1]  # no description cut short
    db_help = " ".join(run_cercle(["db", "--help"], "", f"sqlite:///{tmp_path}/c.db", tmp_path).stdout.split())
    assert "Replace the SQLite database with the backup FILE; refused while the database is in use." in db_help


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
