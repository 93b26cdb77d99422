"""Slack's protocol at the edge: request signatures, retried deliveries, escaping of user text,
mentions and direct messages, health."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import func
from sqlmodel import select

from storage.db import session_scope
from storage.tables import Account, AuditEntry, Community, ProcessedEvent
from tests.fakes.slack_api import BOT_USER_ID
from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text, sign


def _count(slack: SlackHarness, table: type) -> int:
    with session_scope(slack.app.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


async def _refused(slack: SlackHarness, headers: dict[str, str], *, signed: bool = True) -> None:
    body, _trigger = slack.command_body('community create evil "Evil"', user=ADMIN)
    answer = await slack.post(body, "application/x-www-form-urlencoded", headers=headers, signed=signed)
    await slack.settle()
    assert answer.status == 401
    assert "Traceback" not in answer.body
    for table in (Account, Community, ProcessedEvent, AuditEntry):
        assert _count(slack, table) == 0, table
    assert slack.fake.responses == [] and slack.fake.calls_to("users.info") == []


async def test_bad_signature_is_refused_and_changes_nothing(slack: SlackHarness) -> None:
    await _refused(slack, {"X-Slack-Signature": "v0=" + "0" * 64})


async def test_signature_with_another_secret_is_refused(slack: SlackHarness) -> None:
    body, _trigger = slack.command_body("community list")
    await _refused(slack, sign(body, secret="not-the-secret"))


async def test_stale_timestamp_is_refused(slack: SlackHarness) -> None:
    body, _trigger = slack.command_body('community create evil "Evil"', user=ADMIN)
    old = int(time.time()) - 10 * 60
    answer = await slack.post(body, "application/x-www-form-urlencoded", headers=sign(body, timestamp=old))
    await slack.settle()
    assert answer.status == 401
    assert _count(slack, Community) == 0 and _count(slack, Account) == 0


async def test_missing_headers_are_refused(slack: SlackHarness) -> None:
    await _refused(slack, {}, signed=False)


async def test_a_retried_command_has_no_second_effect(slack: SlackHarness) -> None:
    body, trigger = slack.command_body('community create writers "Writers"', user=ADMIN, trigger_id="trig.same")
    first = await slack.post(body, "application/x-www-form-urlencoded")
    second = await slack.post(body, "application/x-www-form-urlencoded", retry_num=1)
    third = await slack.post(body, "application/x-www-form-urlencoded", retry_num=2)
    await slack.settle()
    assert first.status == second.status == third.status == 200
    assert len(slack.responses_to(trigger)) == 1
    assert _count(slack, Community) == 1
    with session_scope(slack.app.engine) as session:
        assert len(session.exec(select(AuditEntry).where(AuditEntry.action == "community.create")).all()) == 1


async def test_a_retried_event_has_no_second_effect(slack: SlackHarness) -> None:
    event = {"type": "app_mention", "user": ALICE, "text": f"<@{BOT_USER_ID}> profile skills go", "channel": "CGENERAL",
             "ts": "1700000000.000200", "event_ts": "1700000000.000200"}
    await slack.event(event, event_id="Ev0SAME")
    await slack.event(event, event_id="Ev0SAME", retry_num=1)
    ephemeral = slack.fake.calls_to("chat.postEphemeral")
    assert len(ephemeral) == 1
    assert ephemeral[0].params["user"] == ALICE
    assert "Your skills: go." in block_text(ephemeral[0].params["blocks"])


async def test_user_text_is_escaped_so_it_cannot_notify_or_format(slack: SlackHarness) -> None:
    # Slack sends `&lt;!channel&gt;` for what the person typed; Cercle reads it back as text.
    await slack.command('community create loud "&lt;!channel&gt; *bold* &amp; _it_" --purpose "&lt;@U999&gt; ~x~"',
                        user=ADMIN)
    await slack.command("community link loud", user=ADMIN, channel="CLOUD", channel_name="loud")
    with session_scope(slack.app.engine) as session:
        community = session.exec(select(Community).where(Community.slug == "loud")).one()
        assert community.name == "<!channel> *bold* & _it_"
    info = await slack.command("community info loud", user=ALICE)
    rendered = json.dumps(info.params)
    assert "<!channel>" not in rendered and "<@U999>" not in rendered
    assert "&lt;!channel&gt;" in rendered and "&lt;@U999&gt;" in rendered and "&amp;" in rendered
    title = info.params["blocks"][0]["text"]["text"]
    assert title.startswith("*") and title.endswith("*")
    inner = title[1:-1]
    assert "*bold*" not in inner and "_it_" not in inner  # formatting characters are shown, not applied
    assert inner.count("<!date^00000000^{_}|*>") == 2
    # The same in messages to channels (the archive notice names the community).
    await slack.command("community archive loud", user=ADMIN)
    await slack.worker.run_once()
    (posted,) = slack.fake.posted("CLOUD")
    assert "<!channel>" not in json.dumps(posted.params)
    assert posted.params["text"].startswith("The community &lt;!channel&gt; *bold* &amp; _it_ has been archived")


async def test_mention_of_the_bot_answers_in_the_channel(slack: SlackHarness) -> None:
    await slack.command('community create writers "Writers"', user=ADMIN)
    await slack.event({"type": "app_mention", "user": ADMIN, "text": f"<@{BOT_USER_ID}> community link writers",
                       "channel": "CWRITERS", "ts": "1700000000.000300"})
    (posted,) = slack.fake.posted("CWRITERS")
    assert "now linked to the community Writers" in block_text(posted.params["blocks"])


async def test_direct_messages_to_the_bot_are_commands(slack: SlackHarness) -> None:
    await slack.event({"type": "message", "channel_type": "im", "user": BOB, "text": "profile site \"Lyon\"",
                       "channel": "DBOB", "ts": "1700000000.000400"})
    (posted,) = slack.fake.posted("DBOB")
    assert "Votre site\u202f: Lyon." in block_text(posted.params["blocks"])
    # The bot's own messages and edits in the conversation are not commands.
    await slack.event({"type": "message", "channel_type": "im", "bot_id": "BBOT", "user": BOT_USER_ID,
                       "text": "help", "channel": "DBOB", "ts": "1700000000.000500"})
    await slack.event({"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "DBOB",
                       "ts": "1700000000.000600", "message": {"text": "help"}})
    assert len(slack.fake.posted("DBOB")) == 1


async def test_names_and_locales_are_read_once(slack: SlackHarness) -> None:
    for _ in range(3):
        await slack.command("profile show", user=BOB)
    assert [c.params["user"] for c in slack.fake.calls_to("users.info")] == [BOB]
    assert slack.fake.calls_to("users.info")[0].params["include_locale"] in (True, "true", "1")


async def test_healthz_reports_slack(slack: SlackHarness) -> None:
    async with slack.session.get(f"http://127.0.0.1:{slack.http.bound_port}/healthz") as response:
        body = await response.json()
    assert response.status == 200
    assert body["checks"]["slack"] == {"ok": True, "detail": "team T0CERCLE"}
    slack.fake.fail_next("auth.test", "invalid_auth")
    async with slack.session.get(f"http://127.0.0.1:{slack.http.bound_port}/healthz") as response:
        body = await response.json()
    # Slack refusing the token degrades the replica but does not fail it (design §4.3: 200 while the
    # database answers), so an orchestrator does not restart every replica during a Slack incident.
    assert response.status == 200 and body["status"] == "degraded" and body["checks"]["slack"]["ok"] is False
    slack.fake.fail_next("auth.test", "invalid_auth")
    async with slack.session.get(f"http://127.0.0.1:{slack.http.bound_port}/healthz?strict") as response:
        assert response.status == 503


async def test_events_url_verification(slack: SlackHarness) -> None:
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV", "type": "url_verification"}).encode()
    answer = await slack.post(body, "application/json")
    assert answer.status == 200 and answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV"}


async def test_simultaneous_retries_have_one_effect(slack: SlackHarness) -> None:
    body, trigger = slack.command_body("community create writers \"Writers\"", user=ADMIN, trigger_id="trig.race")
    answers = await asyncio.gather(*(slack.post(body, "application/x-www-form-urlencoded", retry_num=n or None)
                                     for n in range(4)))
    await slack.settle()
    assert [a.status for a in answers] == [200] * 4
    assert len(slack.responses_to(trigger)) == 1
    assert _count(slack, Community) == 1


async def test_mistakes_get_a_specific_private_answer(slack: SlackHarness) -> None:
    missing = await slack.command("community join", user=ALICE)
    text = block_text(missing.params["blocks"])
    assert missing.params["response_type"] == "ephemeral"
    assert "community join &lt;slug&gt;" in text and "Traceback" not in text
    unknown = await slack.command("comunity list", user=ALICE)
    assert "Did you mean 'community'?" in block_text(unknown.params["blocks"])
    french = await slack.command("communauté rejoindre inconnue", user=BOB)
    assert "Il n'y a pas de communauté «\u202finconnue\u202f»" in block_text(french.params["blocks"])
    assert french.params["response_type"] == "ephemeral"


async def test_an_expired_response_url_falls_back_to_an_ephemeral_message(slack: SlackHarness) -> None:
    body, trigger = slack.command_body("profile skills rust", user=ALICE, channel="CGENERAL")
    slack.fake.expired_responses.add(trigger)
    answer = await slack.post(body, "application/x-www-form-urlencoded")
    await slack.settle()
    assert answer.status == 200 and slack.responses_to(trigger) == []
    (ephemeral,) = slack.fake.calls_to("chat.postEphemeral")
    assert ephemeral.params["user"] == ALICE and ephemeral.params["channel"] == "CGENERAL"
    assert "Your skills: rust." in block_text(ephemeral.params["blocks"])
