"""`cercle db backup` and `cercle db restore`: the database is the whole state, so this is the whole backup.

SQLite: the backup is SQLite's online backup API from a read transaction, a consistent copy taken while
the bot keeps writing (write-ahead log included), written to a temporary file, checked with
`PRAGMA integrity_check`, made a single self-contained file (rollback journal, not WAL), readable by
its owner only, then renamed into place. A restore is refused while any process has the database
open (the bot, a console, a `sqlite3` shell): SQLite grants the restore an exclusive lock only when no
other connection exists, and the restore keeps that lock while it copies, so nothing can start
half-way. The database as it was is kept beside it (`<name>.before-restore-<time>`), and the restored
one is migrated to this release's schema. A backup from a newer release is refused.

PostgreSQL: `pg_dump`/`pg_restore` do this better than Cercle could; the commands print the exact
invocation for the configured database, without its password.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.engine import URL, make_url

from storage.db import make_engine
from storage.migrate import current_heads, known_revisions, upgrade

if TYPE_CHECKING:
    from bot.capability import CommandLine

SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """Nothing was written; the message says why and what to do."""


@dataclass(frozen=True)
class Copied:
    path: Path
    size: int
    revision: str
    seconds: float
    kept: Path | None = None  # restore: the database as it was before


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("an in-memory database has nothing to back up or restore")
    return Path(parsed.database)


def pg_dump_command(url: str, target: str) -> str:
    return shlex.join(["pg_dump", "--format=custom", f"--file={target}", f"--dbname={_libpq_url(url)}"])


def pg_restore_command(url: str, source: str) -> str:
    return shlex.join(["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={_libpq_url(url)}", source])


def _libpq_url(url: str) -> str:
    """The libpq form of the database URL, without the password (give it with PGPASSWORD or ~/.pgpass)."""
    parsed = make_url(url)
    bare = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                      database=parsed.database, query=parsed.query)
    return bare.render_as_string(hide_password=False)


def _connect(path: Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


def _check(conn: sqlite3.Connection, what: str) -> str:
    """Integrity and revision of a database; its alembic revision."""
    result = conn.execute("PRAGMA integrity_check").fetchone()
    if not result or result[0] != "ok":
        raise BackupError(f"{what} fails SQLite's integrity check: {result[0] if result else 'no answer'}")
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError:
        raise BackupError(f"{what} is not a Cercle database (no alembic_version table)") from None
    if not rows:
        raise BackupError(f"{what} has no schema revision")
    return ", ".join(sorted(r[0] for r in rows))


def _private_file(path: Path) -> None:
    """Create `path` empty, readable by its owner only (a backup holds nominations and HR notes)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def backup_sqlite(url: str, target: Path) -> Copied:
    source = sqlite_file(url)
    assert source is not None
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    if target.exists():
        raise BackupError(f"{target} already exists: give a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    started = time.monotonic()
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _private_file(partial)
    try:
        src = _connect(source)
        dst = _connect(partial)
        try:
            src.backup(dst)  # one step: one read transaction, a consistent snapshot; writers go on (WAL)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            revision = _check(dst, "the copy")
        finally:
            dst.close()
            src.close()
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.link(partial, target)  # never replaces a file that appeared meanwhile
    finally:
        partial.unlink(missing_ok=True)
    return Copied(target, target.stat().st_size, revision, time.monotonic() - started)


def restore_sqlite(url: str, backup: Path, *, now: datetime | None = None) -> Copied:
    live = sqlite_file(url)
    assert live is not None
    if not backup.is_file():
        raise BackupError(f"{backup} does not exist")
    with backup.open("rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{backup} is not a SQLite database")
    started = time.monotonic()
    src = sqlite3.connect(f"file:{backup.resolve()}?mode=ro", uri=True, isolation_level=None)
    try:
        revision = _check(src, str(backup))
        _refuse_newer(revision)
        if not live.parent.is_dir():
            raise BackupError(f"{live.parent} is not a folder")
        kept = None
        dst = sqlite3.connect(live, timeout=0, isolation_level=None)
        try:
            dst.execute("PRAGMA locking_mode=EXCLUSIVE")
            try:
                dst.execute("BEGIN EXCLUSIVE")
                dst.execute("COMMIT")  # the lock stays with this connection until it closes
            except sqlite3.OperationalError:
                raise BackupError(f"{live} is in use: stop the bot (and any other cercle command or sqlite3 "
                                  "shell on it), then restore") from None
            if dst.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
                kept = live.with_name(f"{live.name}.before-restore-{stamp}")
                _private_file(kept)
                copy = sqlite3.connect(kept, isolation_level=None)
                try:
                    dst.backup(copy)
                    copy.execute("PRAGMA journal_mode=DELETE")
                finally:
                    copy.close()
            src.backup(dst)
            _check(dst, "the restored database")
        finally:
            dst.close()
    finally:
        src.close()
    engine = make_engine(url)
    try:
        upgrade(engine)  # a backup from an older release is brought to this one's schema
        revision = ", ".join(sorted(current_heads(engine)))
    finally:
        engine.dispose()
    return Copied(live, live.stat().st_size, revision, time.monotonic() - started, kept)


def _refuse_newer(revision: str) -> None:
    unknown = sorted(set(revision.split(", ")) - known_revisions())
    if unknown:
        raise BackupError(f"the backup is at revision {', '.join(unknown)}, from a newer release: restore it "
                          "with that release")


def register(db: click.Group) -> None:
    """`cercle db backup FILE` and `cercle db restore FILE`."""

    @db.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.pass_obj
    def backup_command(cli: CommandLine, file: Path) -> None:
        """Copy the SQLite database to FILE while the bot runs (PostgreSQL: prints the pg_dump command)."""
        url = cli.settings().database_url
        if sqlite_file(url) is None:
            click.echo("cercle db backup copies SQLite databases; on PostgreSQL use pg_dump (give the password "
                       "with PGPASSWORD or ~/.pgpass):", err=True)
            click.echo(pg_dump_command(url, str(file)))
            sys.exit(3)
        done = _run(lambda: backup_sqlite(url, file))
        click.echo(f"backed up to {done.path} ({done.size / 1e6:.1f} MB, revision {done.revision}) "
                   f"in {done.seconds:.1f} s")

    @db.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.pass_obj
    def restore_command(cli: CommandLine, file: Path) -> None:
        """Replace the SQLite database with the backup FILE; refused while the database is in use."""
        url = cli.settings().database_url
        if sqlite_file(url) is None:
            click.echo("cercle db restore restores SQLite databases; on PostgreSQL stop the bot, then use "
                       "pg_restore and `cercle db upgrade`:", err=True)
            click.echo(pg_restore_command(url, str(file)))
            sys.exit(3)
        done = _run(lambda: restore_sqlite(url, file))
        click.echo(f"restored {file} into {done.path} (revision {done.revision}) in {done.seconds:.1f} s")
        if done.kept:
            click.echo(f"the database as it was is kept in {done.kept}")


def _run(action: Callable[[], Copied]) -> Copied:
    try:
        return action()
    except BackupError as exc:
        click.echo(f"cercle: {exc}", err=True)
        sys.exit(1)
    except (OSError, sqlite3.Error) as exc:
        click.echo(f"cercle: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
