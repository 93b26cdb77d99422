"""A platform the core has never heard of, declared in tests/platform_fourth/pigeon.py: its settings, admins,
grammar, private places, pacing, a command, a private answer, a channel broadcast and a crisis announcement."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.app import Application, build, delivery_worker, platform_adapters
from bot.clock import FrozenClock
from bot.outbox.worker import DeliveryWorker
from bot.platforms import Platforms, RateLimit
from bot.settings import SettingsError, load_settings
from tests.platform_fourth.pigeon import NAME, PLATFORM, PigeonAdapter, Sent
from tests.support.chat import found

PIGEON_ONLY = Platforms([PLATFORM])


@pytest.fixture
def pigeon_app(database_url: str, engine: Engine, clock: FrozenClock) -> Application:
    settings = load_settings({"CERCLE_DATABASE_URL": database_url, "CERCLE_ADMINS": "pigeon:ada",
                              "PIGEON_LOFT": "roof"}, dotenv_path=None, platforms=PIGEON_ONLY)
    return build(settings, clock=clock, migrate=False, engine=engine, platforms=PIGEON_ONLY)


async def deliver(worker: DeliveryWorker) -> None:
    while await worker.run_once():
        pass


def test_its_settings_and_admins_are_read_by_its_descriptor() -> None:
    settings = load_settings({"PIGEON_LOFT": "roof", "CERCLE_ADMINS": "pigeon:ada"}, dotenv_path=None,
                             platforms=PIGEON_ONLY)
    assert settings.configured() == (NAME,) and [str(a) for a in settings.admins] == ["pigeon:ada"]
    with pytest.raises(SettingsError) as wrong:
        load_settings({"PIGEON_LOFT": "Roof Top"}, dotenv_path=None, platforms=PIGEON_ONLY)
    assert wrong.value.name == "PIGEON_LOFT"
    with pytest.raises(SettingsError) as unknown:
        load_settings({"CERCLE_ADMINS": "slack:T1:U1"}, dotenv_path=None, platforms=PIGEON_ONLY)
    assert str(unknown.value) == "CERCLE_ADMINS: 'slack:T1:U1' does not start with pigeon:"


async def test_commands_answers_broadcasts_and_a_crisis_go_through_a_fourth_platform(pigeon_app: Application) -> None:
    (adapter,) = platform_adapters(pigeon_app, None)  # built by its descriptor's factory
    assert isinstance(adapter, PigeonAdapter)
    worker = delivery_worker(pigeon_app, {NAME: adapter.sender})
    assert worker.pacer.limits == {NAME: RateLimit(per_target=0.0, per_second=50.0)}

    # A command, answered privately to the person who typed it.
    await adapter.hear("ada", 'community create birds "Birds"', loft="roof")
    assert adapter.shown[-1][0] == "~ada"
    assert adapter.shown[-1][1].startswith("Community Birds (birds) created. You are its manager.")
    # A public answer, in the loft; mentions in the platform's own syntax.
    await adapter.hear("ada", "community link birds", loft="roof")
    assert adapter.shown[-1][0] == "%roof" and "now linked to the community Birds" in adapter.shown[-1][1]
    await adapter.hear("bob", "community join birds", loft="roof")
    granted = await adapter.hear("ada", "role grant ~bob communicator")
    assert granted is not None and not granted.is_error, granted

    # A broadcast to the loft, through the outbox and the platform's sender.
    await adapter.hear("bob", 'share birds https://example.org/nest "Nest"', loft="roof")
    await deliver(worker)
    (shared,) = [s for s in adapter.sender.sent if s.target_kind == "channel"]
    assert shared.target_id == "roof" and "bob shared a resource with Birds" in shared.text

    # A crisis announced in the loft.
    declared = await adapter.hear("bob", 'crisis declare "Storm" --audience %roof')
    assert declared is not None and "on Pigeon post" in declared.message.plain_text(), declared
    crisis = found(r"Crisis C(\d+)", declared.message.plain_text())
    await adapter.hear("bob", f'crisis announce C{crisis} "Stay inside the loft."')
    await deliver(worker)
    announcement = adapter.sender.sent[-1]
    assert isinstance(announcement, Sent) and (announcement.target_kind, announcement.target_id) == ("channel", "roof")
    assert "Stay inside the loft." in announcement.text

    # Private places are the platform's to say: a whisper is private, the loft is not.
    aloud = await adapter.hear("bob", f'crisis ask C{crisis} "Who knew?" --anonymous', loft="roof")
    assert aloud is not None and aloud.is_error and "private conversation" in aloud.message.plain_text()
    whispered = await adapter.hear("bob", f'crisis ask C{crisis} "Who knew?" --anonymous', loft="roof",
                                   whisper=True)
    assert whispered is not None and not whispered.is_error, whispered
    assert adapter.shown[-1][0] == "~bob"  # the acknowledgement to bob only
