"""Fixtures: every database test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.app import Application, build, default_platforms
from bot.clock import FrozenClock
from bot.settings import Settings
from storage.db import make_engine
from storage.migrate import upgrade
from tests.support.chat import Chat
from tests.support.databases import (
    PostgresDatabase,
    SqliteTemplate,
    in_ci,
    postgres_reachable,
    truncate_all,
    wanted_backends,
)
from tests.support.slack import SlackHarness


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresDatabase]:
    problem = postgres_reachable()
    if problem:
        message = f"PostgreSQL unreachable at CERCLE_TEST_POSTGRES_URL ({problem})"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    database = PostgresDatabase()
    engine = make_engine(database.url)
    upgrade(engine)
    engine.dispose()
    yield database
    database.drop()


@pytest.fixture(scope="session")
def _postgres_engine(_postgres: PostgresDatabase) -> Iterator[Engine]:
    engine = make_engine(_postgres.url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(_postgres_engine: Engine) -> Engine:
    """A migrated, emptied PostgreSQL engine, for tests that only make sense there (several workers)."""
    truncate_all(_postgres_engine)
    return _postgres_engine


@pytest.fixture(params=wanted_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the current backend."""
    if backend == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("_sqlite_template")
        return template.copy_to(tmp_path / "cercle.db")
    engine: Engine = request.getfixturevalue("_postgres_engine")
    truncate_all(engine)
    return str(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def engine(database_url: str, backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if backend == "postgres":
        yield request.getfixturevalue("_postgres_engine")
        return
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, admins=(default_platforms().parse_account("console:admin"),))


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, engine: Engine) -> Application:
    return build(settings, clock=clock, migrate=False, engine=engine)


@pytest.fixture
def chat(app: Application) -> Chat:
    return Chat(app)


@pytest.fixture
async def slack(settings: Settings, clock: FrozenClock, engine: Engine) -> AsyncIterator[SlackHarness]:
    """Cercle running for Slack over HTTP against a fake Slack (tests/support/slack.py)."""
    from tests.support.slack import running_slack

    async with running_slack(settings, clock, engine) as harness:
        yield harness


@pytest.fixture
async def slack_socket(settings: Settings, clock: FrozenClock, engine: Engine) -> AsyncIterator[SlackHarness]:
    """Cercle running for Slack in Socket Mode against a fake Slack."""
    from tests.support.slack import running_slack

    async with running_slack(settings, clock, engine, socket_mode=True) as harness:
        yield harness


# -- Matrix: a real Synapse for the whole session, fresh accounts per test --------------------------

from tests.support.matrix import MatrixWorld  # noqa: E402
from tests.support.synapse import Synapse, SynapseUnavailable  # noqa: E402


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """The homeserver (installed into .cache/synapse-venv when missing); with CI=true, failing to start fails."""
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    try:
        server.start()
    except SynapseUnavailable as exc:
        if in_ci():
            pytest.fail(f"Synapse could not start: {exc}", pytrace=False)
        pytest.skip(f"Synapse could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture
async def matrix(synapse: Synapse, engine: Engine, settings: Settings) -> AsyncIterator[MatrixWorld]:
    world = MatrixWorld(synapse, engine, settings)
    yield world
    await world.close()
