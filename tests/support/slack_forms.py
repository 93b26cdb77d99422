"""Drive shortcuts and declared forms like Slack does: shortcut payloads, and view submissions whose state
has the shape Slack gives each kind of input (text, pickers, selects, date picker, checkboxes)."""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_api import TEAM_ID
from tests.support.slack import ALICE, USERS, Answer, SlackHarness, new_id


def shortcut_payload(callback_id: str, *, user: str = ALICE, message: dict[str, Any] | None = None,
                     channel: str = "CGENERAL", channel_name: str = "general", team: str = TEAM_ID,
                     enterprise: str = "") -> dict[str, Any]:
    """A global shortcut (the ⚡ menu), or a message shortcut when `message` is given; `enterprise`: from a
    workspace of an Enterprise Grid organisation."""
    payload: dict[str, Any] = {
        "type": "shortcut", "callback_id": callback_id, "trigger_id": new_id("trig."), "action_ts": "1700000000.1",
        "team": {"id": team, "domain": "cercle-test"}, "token": "legacy",
        "user": {"id": user, "username": USERS.get(user, (user, ""))[0].lower(), "team_id": team}}
    if enterprise:
        payload["enterprise"] = {"id": enterprise, "name": "Grid"}
    if message is not None:
        payload.update(type="message_action", message=message, message_ts=message["ts"],
                       channel={"id": channel, "name": channel_name},
                       response_url=f"https://hooks.invalid/{new_id('r')}")
    return payload


async def shortcut(slack: SlackHarness, callback_id: str, **kwargs: Any) -> dict[str, Any]:
    """Run a shortcut; returns the view Cercle opened (asserting exactly one `views.open` with its trigger)."""
    before = len(slack.fake.calls_to("views.open"))
    payload = shortcut_payload(callback_id, **kwargs)
    answer = await slack.post_payload(payload)
    assert answer.status == 200, answer
    await slack.settle()
    opened = slack.fake.calls_to("views.open")[before:]
    assert len(opened) == 1, f"expected one views.open, got {len(opened)}"
    assert opened[0].params["trigger_id"] == payload["trigger_id"]
    return dict(opened[0].params["view"])


def element_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """What Slack puts in `view.state.values` for one element given what the person entered."""
    kind = element["type"]
    if kind == "users_select":
        return {"type": kind, "selected_user": value}
    if kind == "multi_users_select":
        return {"type": kind, "selected_users": list(value or [])}
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": value}
    if kind == "multi_conversations_select":
        return {"type": kind, "selected_conversations": list(value or [])}
    if kind == "datepicker":
        return {"type": kind, "selected_date": value}
    if kind == "static_select":
        return {"type": kind, "selected_option": _option(element, value) if value else None}
    if kind in ("multi_static_select", "checkboxes"):
        return {"type": kind, "selected_options": [_option(element, v) for v in value or []]}
    return {"type": kind, "value": value}


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    found = [o for o in element["options"] if o["value"] == value]
    return found[0] if found else {"text": {"type": "plain_text", "text": value}, "value": value}


async def submit(slack: SlackHarness, view: dict[str, Any], values: dict[str, Any], *, user: str = ALICE,
                 view_id: str | None = None, team: str = TEAM_ID, enterprise: str = "") -> Answer:
    """Submit a declared form's modal with these values (by block id); returns Cercle's ack."""
    inputs = [block for block in view["blocks"] if block["type"] == "input"]
    state = {"values": {b["block_id"]: {"value": element_state(b["element"], values.get(b["block_id"]))}
                        for b in inputs}}
    payload: dict[str, Any] = {
        "type": "view_submission", "team": {"id": team, "domain": "cercle-test"},
        "user": {"id": user, "username": USERS.get(user, (user, ""))[0].lower(), "team_id": team},
        "api_app_id": "ACERCLE", "trigger_id": new_id("trig."),
        "view": {**view, "id": view_id or new_id("V"), "hash": new_id("h"), "state": state}}
    if enterprise:
        payload["enterprise"] = {"id": enterprise, "name": "Grid"}
    answer = await slack.post_payload(payload)
    await slack.settle()
    return answer


def blocks_of(view: dict[str, Any]) -> dict[str, str]:
    """Block id -> element type, in order."""
    return {b["block_id"]: b["element"]["type"] for b in view["blocks"]}


def options_of(view: dict[str, Any], block_id: str) -> list[str]:
    (block,) = [b for b in view["blocks"] if b["block_id"] == block_id]
    return [o["value"] for o in block["element"]["options"]]


def label_of(view: dict[str, Any], block_id: str) -> str:
    (block,) = [b for b in view["blocks"] if b["block_id"] == block_id]
    return str(block["label"]["text"])
