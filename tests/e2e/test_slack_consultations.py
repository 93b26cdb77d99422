"""A consultation in a Slack channel: members vote with the buttons of the posted question."""

from __future__ import annotations

import json

from tests.support.slack import ADMIN, ALICE, BOB, SlackHarness, block_text, buttons


async def test_members_vote_with_buttons_and_anonymous_votes_stay_private(slack: SlackHarness) -> None:
    await slack.command('community create cafe "Café"', user=ADMIN)
    await slack.command("community link cafe", user=ADMIN, channel="CCAFE", channel_name="cafe")
    for user in (ALICE, BOB):
        await slack.command("community join cafe", user=user)
    opened = await slack.command('consult open cafe "Which coffee?" "Arabica" "Robusta" --anonymous', user=ADMIN)
    assert "V1" in block_text(opened.params["blocks"])
    await slack.worker.run_once()
    (post,) = slack.fake.posted("CCAFE")
    choices = buttons(post.params["blocks"])
    assert [b["value"] for b in choices] == ["vote V1 1", "vote V1 2"]
    assert len({b["action_id"] for b in choices}) == 2

    _a, alice_key = await slack.click(choices[0], user=ALICE, channel="CCAFE")
    _b, bob_key = await slack.click(choices[1], user=BOB, channel="CCAFE")
    for key in (alice_key, bob_key):
        (reply,) = slack.responses_to(key)
        assert reply.params["response_type"] == "ephemeral"
    # Anonymous: no live tally, not even for its manager (issue 12); the closing post shows it.
    live = await slack.command("consult results V1", user=ADMIN)
    assert "shown when it closes. 2 votes so far." in block_text(live.params["blocks"])
    await slack.command("consult close V1", user=ADMIN)
    await slack.worker.run_once()
    closing = slack.fake.posted("CCAFE")[-1]
    text = block_text(closing.params["blocks"])
    assert "Results of V1" in text
    assert "1. Arabica — 1 vote (50%)" in text and "2. Robusta — 1 vote (50%)" in text
    shared = json.dumps([c.params for c in slack.fake.posted("CCAFE")], ensure_ascii=False)
    assert "Alice" not in shared and "Bérénice" not in shared  # nobody's vote is shown in the channel
