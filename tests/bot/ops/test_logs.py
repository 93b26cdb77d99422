"""No secret and no private message text in the logs, whatever path writes them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from adapters.matrix.platform import MatrixSettings
from adapters.slack.platform import SlackSettings
from bot import identity
from bot.app import build, default_platforms
from bot.clock import FrozenClock
from bot.logs import MASK, Redactor, make_handler
from bot.messages import Message
from bot.outbox import DeliveryError, Outgoing, enqueue
from bot.outbox.worker import DeliveryWorker
from bot.settings import Settings
from storage.db import session_scope
from tests.bot.referrals.helpers import HR_NOTE, WHY
from tests.support.chat import Chat

BOT_TOKEN = "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOpQrStUvWx"
APP_TOKEN = "xapp-1-A0123456789-1234567890-0123456789abcdef"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MATRIX_TOKEN = "syt_Y2VyY2xl_QwErTyUiOpAsDfGhJkLz_1a2b3c"
MATRIX_PASSWORD = "correct-horse-battery-staple"
DB_PASSWORD = "s3cr3t-db-pw"
PRIVATE_TEXT = "Claire is leaving Lyon for the Nantes position"
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, MATRIX_TOKEN, MATRIX_PASSWORD, DB_PASSWORD)


@pytest.mark.parametrize(("text", "kept"), [
    (f"auth.test failed for {BOT_TOKEN}", "auth.test failed for ***"),
    (f"socket mode with {APP_TOKEN}", "socket mode with ***"),
    (f"GET /sync?access_token={MATRIX_TOKEN}&since=s1", "GET /sync?access_token=***&since=s1"),
    (f"Authorization: Bearer {MATRIX_TOKEN}", "Authorization: Bearer ***"),
    ("Authorization: Bearer abcDEF0123456789.xyz", "Authorization: ***"),
    (f"connect postgresql+psycopg://cercle:{DB_PASSWORD}@db:5432/cercle", "postgresql+psycopg://cercle:***@db"),
    (f'{{"password": "{MATRIX_PASSWORD}", "user": "cercle"}}', '{"password": "***", "user": "cercle"}'),
    ("a plain line with a token-free word: tokenizer", "a plain line with a token-free word: tokenizer"),
])
def test_redactor_patterns(text: str, kept: str) -> None:
    out = Redactor().redact(text)
    assert kept in out
    assert all(secret not in out for secret in SECRETS)


def test_configured_secret_values_are_redacted() -> None:
    redactor = Redactor()
    redactor.add_secrets([SIGNING_SECRET, None, ""])
    assert redactor.redact(f"signature mismatch, secret {SIGNING_SECRET}!") == f"signature mismatch, secret {MASK}!"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything the process logs, through the handler `cercle` installs (JSON lines)."""
    stream = io.StringIO()
    handler = make_handler(stream, json_lines=True)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


class LeakySender:
    """A platform whose errors quote the credentials, as real client libraries sometimes do."""

    platform = "console"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, item: Outgoing) -> str:
        self.calls += 1
        if self.calls % 2:
            raise DeliveryError(f"invalid_auth (token {BOT_TOKEN})", retry_after=0)
        raise RuntimeError(f"POST https://matrix.example/_matrix/client/v3/rooms?access_token={MATRIX_TOKEN}")


async def test_a_scenario_logs_no_secret_and_no_private_text(captured: io.StringIO, database_url: str,
                                                             engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database_url=database_url, admins=(default_platforms().parse_account("console:admin"),),
                        sections={"slack": SlackSettings(bot_token=BOT_TOKEN, signing_secret=SIGNING_SECRET,
                                                         app_token=APP_TOKEN),
                                  "matrix": MatrixSettings(homeserver="https://matrix.example",
                                                           user_id="@cercle:matrix.example", password=MATRIX_PASSWORD,
                                                           access_token=MATRIX_TOKEN)})
    clock = FrozenClock(datetime.now(UTC) + timedelta(seconds=1))
    app = build(settings, clock=clock, migrate=False, engine=engine)
    chat = Chat(app)
    log = logging.getLogger("tests.ops")
    log.info("starting with %r", settings)
    log.error("cannot connect to postgresql+psycopg://cercle:%s@db:5432/cercle", DB_PASSWORD)
    log.warning("matrix login refused for password=%s", MATRIX_PASSWORD)

    # Commands, including one that fails inside the core with a secret in the exception.
    chat.ok("community create jardin \"Jardiniers\" --purpose \"Cultiver ensemble\"")
    chat.ok("community join jardin", user="bob")

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError(f"signing secret {SIGNING_SECRET} rejected by {BOT_TOKEN}")

    monkeypatch.setattr(identity, "account_for_actor", broken)
    reply = chat.say("community list", user="carol")
    monkeypatch.undo()
    assert reply.is_error
    shown = reply.message.plain_text()
    assert "Traceback" not in shown and all(secret not in shown for secret in SECRETS)

    # A confidential nomination, from the position to HR's note, with a refused attempt on the way.
    chat.ok("role grant @hannah hr", user="admin")
    chat.ok('position open "Data engineer" --site Lyon --team Platform', user="hannah", direct=True)
    chat.error(f'nominate P9 @bob "{WHY}"', user="marc", direct=True)
    chat.ok(f'nominate P1 @bob "{WHY}"', user="marc", direct=True)
    chat.ok("nomination consent N1 yes", user="bob", direct=True)
    chat.ok(f'nomination move N1 under_review "{HR_NOTE}"', user="hannah", direct=True)

    # Private messages whose sends fail with the credentials in the errors.
    with session_scope(engine) as session:
        enqueue(session, platform="console", workspace="local", target_kind="dm", target_id="claire",
                message=Message.text(PRIVATE_TEXT), subject="referral:1")
    worker = DeliveryWorker(engine, {"console": LeakySender()}, clock=clock)
    assert await worker.run_once() >= 3  # the nomination's private messages and ours
    clock.advance(timedelta(minutes=10))
    assert await worker.run_once() >= 3

    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is a JSON object
    assert any(r["logger"] == "bot.commands.router" and "exception" in r for r in records)
    assert any(r["logger"] == "bot.outbox.worker" for r in records)
    assert sum(MASK in line for line in lines) >= 5
    output = captured.getvalue()
    for secret in SECRETS:
        assert secret not in output, f"a secret reached the logs: {secret[:6]}…"
    for confidential in (PRIVATE_TEXT, WHY, HR_NOTE, "Kafka migration", "salary band"):
        assert confidential not in output, f"confidential text reached the logs: {confidential}"
