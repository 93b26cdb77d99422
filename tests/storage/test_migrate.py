"""A database a newer release migrated (an old replica restarting during a rolling update, a rollback):
the older code starts on it without touching the schema, and `cercle db upgrade` says so."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.app import build, default_platforms
from bot.clock import FrozenClock
from bot.settings import Settings
from storage.migrate import current_heads, upgrade
from tests.support.chat import Chat
from tests.support.releases import ROOT


def test_a_database_newer_than_the_code_is_left_as_it_is(engine: Engine, database_url: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    heads = current_heads(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999_future'"))
        conn.execute(text("CREATE TABLE future_table (id INTEGER PRIMARY KEY)"))
    try:
        with caplog.at_level(logging.WARNING, logger="storage.migrate"):
            assert upgrade(engine) == {"0999_future"}
        assert "0999_future, newer than this release" in caplog.text
        assert current_heads(engine) == {"0999_future"}

        env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
        done = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, capture_output=True,
                              text=True, env=dict(env, CERCLE_DATABASE_URL=database_url), timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert "database at revision 0999_future, newer than this release: left as it is" in done.stderr

        app = build(Settings(database_url=database_url, admins=(default_platforms().parse_account("console:admin"),)),
                    clock=FrozenClock(), engine=engine)  # migrate=True, as at every start
        assert "ops" in Chat(app).ok('community create ops "Operations"', user="admin")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE future_table"))
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": sorted(heads)[0]})
    assert current_heads(engine) == heads
