"""`cercle db backup` and `cercle db restore`, run as an operator runs them (the real command, in a process of
its own) next to a bot that keeps writing; and the README's restore drills, run as they are written."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bot.app import build, default_platforms
from bot.cli import main
from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import make_engine
from tests.support.chat import Chat
from tests.support.databases import SqliteTemplate
from tests.support.releases import ROOT

BIN = Path(sys.executable).parent


def cercle(*args: str, url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CERCLE_", "SLACK_", "MATRIX_"))}
    env["CERCLE_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, input=stdin, timeout=120, check=False)


def cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    """The same command in this process (click's runner), where a separate process adds nothing but time."""
    result = CliRunner().invoke(main, list(args), env={"CERCLE_DATABASE_URL": url})
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def chat_on(url: str, engine: Engine | None = None) -> Chat:
    settings = Settings(database_url=url, admins=(default_platforms().parse_account("console:admin"),))
    return Chat(build(settings, clock=FrozenClock(), migrate=False, engine=engine))


def communities(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT slug FROM community ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
def live(_sqlite_template: SqliteTemplate, tmp_path: Path) -> str:
    (tmp_path / "data").mkdir()
    return _sqlite_template.copy_to(tmp_path / "data" / "cercle.db")


def test_backup_while_the_bot_writes_is_a_consistent_private_copy(live: str, tmp_path: Path) -> None:
    engine = make_engine(live)
    chat = chat_on(live, engine)
    stop, created = threading.Event(), list[str]()

    def bot_at_work() -> None:
        while not stop.is_set() and len(created) < 2000:
            slug = f"c{len(created):04d}"
            chat.ok(f'community create {slug} "Community {slug}"', user="admin")
            created.append(slug)

    writer = threading.Thread(target=bot_at_work)
    writer.start()
    try:
        while len(created) < 20:
            stop.wait(0.01)
        started_with = len(created)
        done = cercle("db", "backup", str(tmp_path / "nightly.db"), url=live)
        ended_with = len(created)
    finally:
        stop.set()
        writer.join()
        engine.dispose()
    assert done.returncode == 0, done.stderr
    assert re.match(r"backed up to .*nightly\.db \(\d+\.\d MB, revision \w+\) in \d+\.\d s", done.stdout)
    backup = tmp_path / "nightly.db"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # holds nominations: its owner only
    assert not Path(f"{backup}-wal").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["data", "nightly.db"]
    conn = sqlite3.connect(backup)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    copied = communities(backup)
    assert started_with <= len(copied) <= ended_with + 1  # a moment during the backup: every write before it
    assert copied == created[:len(copied)]  # and no half-written one

    again = cercle("db", "backup", str(backup), url=live)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_restore_is_refused_while_the_database_is_open_then_restores_and_keeps_the_old_one(
        live: str, tmp_path: Path) -> None:
    engine = make_engine(live)
    chat = chat_on(live, engine)
    chat.ok('community create before "Before the backup"', user="admin")
    assert cercle("db", "backup", str(tmp_path / "b.db"), url=live).returncode == 0
    chat.ok('community create after "After the backup"', user="admin")

    refused = cli("db", "restore", str(tmp_path / "b.db"), url=live)  # the bot still has it open
    assert refused.returncode == 1 and "is in use: stop the bot" in refused.stderr
    assert chat.ok("community list", user="admin").count("after") == 1  # untouched

    engine.dispose()  # the bot stopped
    done = cli("db", "restore", str(tmp_path / "b.db"), url=live)
    assert done.returncode == 0, done.stderr
    path = Path(make_url(live).database or "")
    kept = next(path.parent.glob("cercle.db.before-restore-*"))
    assert f"the database as it was is kept in {kept}" in done.stdout
    assert communities(path) == ["before"] and communities(kept) == ["before", "after"]
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    restarted = chat_on(live)
    assert "after" not in restarted.ok("community list", user="admin")
    restarted.ok('community create later "After the restore"', user="admin")
    restarted.app.engine.dispose()


def test_restore_refuses_what_is_not_a_good_backup(live: str, tmp_path: Path) -> None:
    before = Path(make_url(live).database or "").read_bytes()
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    newer = tmp_path / "newer.db"
    assert cli("db", "backup", str(newer), url=live).returncode == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999_future'")
    conn.close()
    for file, problem in ((tmp_path / "missing.db", "does not exist"), (junk, "is not a SQLite database"),
                          (other, "is not a Cercle database"), (newer, "0999_future, from a newer release")):
        done = cli("db", "restore", str(file), url=live)
        assert done.returncode == 1 and problem in done.stderr, (file, done.stderr)
        assert "Traceback" not in done.stderr
    assert Path(make_url(live).database or "").read_bytes() == before
    assert not list(tmp_path.glob("data/*.before-restore-*"))


def test_on_postgresql_the_commands_print_pg_dump_and_pg_restore_without_the_password() -> None:
    url = "postgresql+psycopg://cercle:s3cr3t-pw@db.internal:5433/cercle?sslmode=require"
    done = cli("db", "backup", "/backups/c.dump", url=url)
    assert done.returncode == 3 and "use pg_dump" in done.stderr
    assert done.stdout.strip() == ("pg_dump --format=custom --file=/backups/c.dump "
                                   "'--dbname=postgresql://cercle@db.internal:5433/cercle?sslmode=require'")
    done = cli("db", "restore", "/backups/c.dump", url=url)
    assert done.returncode == 3 and done.stdout.startswith("pg_restore --clean --if-exists --no-owner ")
    assert "s3cr3t" not in done.stdout + done.stderr


def drill(name: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- drill:{name} -->\n```sh\n(.*?)```\n<!-- /drill:{name} -->", readme, re.S)
    assert match, f"README.md has no drill:{name} block"
    return match.group(1)


def run_drill(script: str, replacements: dict[str, str], env: dict[str, str]) -> str:
    for old in replacements:
        assert old in script, f"the README's drill changed: {old!r} is no longer in it"
    pattern = "|".join(re.escape(old) for old in sorted(replacements, key=len, reverse=True))
    script = re.sub(pattern, lambda m: replacements[m.group(0)], script)  # all at once, longest first
    assert (BIN / "cercle").exists(), f"no cercle command in {BIN}"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CERCLE_", "SLACK_", "MATRIX_"))}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env={**base, **env, "PATH": f"{BIN}:{base['PATH']}"}, timeout=180, check=False)
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_sqlite_restore_drill(live: str, tmp_path: Path) -> None:
    engine = make_engine(live)
    chat = chat_on(live, engine)  # the bot runs during the backup
    chat.ok('community create drill-me "Restored by the drill"', user="admin")
    try:
        out = run_drill(drill("sqlite"), {"/var/backups/cercle": str(tmp_path)}, {"CERCLE_DATABASE_URL": live})
    finally:
        engine.dispose()
    assert "drill-me" in out and "Restored by the drill" in out
    assert list(tmp_path.glob("cercle-*.db"))


@pytest.mark.postgres_only
def test_the_readme_postgres_restore_drill(postgres_engine: Engine, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump and pg_restore are needed (apt-get install postgresql-client)", pytrace=False)
    url = postgres_engine.url
    chat = chat_on(url.render_as_string(hide_password=False), postgres_engine)
    chat.ok('community create pg-drill "Restored from pg_dump"', user="admin")
    scratch = f"cercle_drill_{uuid.uuid4().hex[:8]}"
    host = f"{url.username}@{url.host}:{url.port or 5432}"
    out = run_drill(drill("postgres"), {
        "/var/backups/cercle": str(tmp_path), "cercle@db.internal:5432/cercle\"": f"{host}/{url.database}\"",
        "cercle@db.internal:5432/cercle_drill": f"{host}/{scratch}", "cercle_drill": scratch,
        "--host=db.internal --username=cercle": f"--host={url.host} --username={url.username}"}, {})
    assert "pg-drill" in out and "Restored from pg_dump" in out
    with postgres_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": scratch}).scalar() == 0
