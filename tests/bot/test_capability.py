"""Capabilities are objects and each application runs its own assembly: importing registers nothing,
two applications in one process do not share commands or jobs, and what is declared twice is refused."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from bot import commands, communities, consultations, people
from bot.app import build, default_capabilities
from bot.capability import Capability, assemble, resolve
from bot.clock import FrozenClock
from bot.settings import Settings
from tests.support.chat import Chat

ROOT = Path(__file__).resolve().parents[2]


def test_importing_a_command_module_registers_nothing() -> None:
    importlib.import_module("bot.communities.commands")
    importlib.import_module("bot.consultations.jobs")
    empty = assemble(())
    assert empty.registry.commands == {} and empty.jobs == () and empty.digest_sections == ()
    only = assemble((communities.CAPABILITY,))
    assert {c.path[0] for c in only.registry.commands.values()} == {"community", "whoknows", "share", "resources"}
    assert only.registry.lookup(["help"]) == (None, 0)
    assert [s.key for s in only.digest_sections] == ["communities"] and only.jobs == ()


def test_two_applications_in_one_process_run_their_own_assemblies(settings: Settings, engine: Engine) -> None:
    small = Chat(build(settings, clock=FrozenClock(), migrate=False, engine=engine,
                       capabilities=(commands.CAPABILITY, people.CAPABILITY)))
    full = Chat(build(settings, clock=FrozenClock(), migrate=False, engine=engine))
    assert "Unknown command 'community'" in small.error("community list", user="alice")
    assert "community" not in small.ok("help", user="alice")
    assert "help profile: skills" in small.ok("help", user="alice")
    assert "profile skills a,b,c" in small.ok("help profile", user="alice")
    assert small.app.assembly.jobs == () and small.app.assembly.startup == ()
    full.ok('community create garden "Garden"', user="alice")
    assert "garden" in full.ok("community list", user="alice")
    assert {"consultations.close", "crisis-reminders"} <= {j.name for j in full.app.assembly.jobs}
    # The French words of a capability that is not assembled are not known either.
    assert "Unknown command 'communauté'" in small.error("communauté liste", user="alice")


def test_what_is_declared_twice_is_refused() -> None:
    base = default_capabilities()
    with pytest.raises(ValueError, match="listed twice"):
        assemble((*base, Capability("people")))
    with pytest.raises(ValueError, match="command registered twice: community create"):
        assemble((*base, Capability("copy", modules=("bot.communities.commands",))))
    with pytest.raises(ValueError, match=r"periodic job declared twice: consultations\.close"):
        assemble((*base, Capability("copy", modules=("bot.consultations.jobs",))))
    with pytest.raises(ValueError, match="alias 'liste' means both 'list' and 'show'"):
        assemble((*base, Capability("copy", aliases=(("liste", "show"),))))
    with pytest.raises(ValueError, match="help group declared twice: consult"):
        assemble((*base, Capability("copy", groups=(("consult", "Again"),))))
    with pytest.raises(ValueError, match="digest section is declared twice"):
        assemble((*base, Capability("copy", digest_sections=("bot.communities.digest:SECTION",))))


def test_references_name_code_and_objects_stand_for_themselves() -> None:
    from bot.consultations.digest import SECTION

    assert resolve("bot.consultations.digest:SECTION") is SECTION
    assert resolve(SECTION) is SECTION
    with pytest.raises(ValueError, match=r"package\.module:attribute"):
        resolve("bot.consultations.digest")
    merge = assemble((consultations.CAPABILITY,)).merge_rules
    assert [m.__module__ for m in merge] == ["bot.consultations.service"]


def test_slugs_cannot_be_the_words_of_longer_commands_of_this_assembly() -> None:
    words = assemble(default_capabilities()).registry.reserved_words()
    assert {"upvote", "answer", "list", "soutenir", "repondre", "liste"} <= words
    assert "join" not in words and "garden" not in words
    # Alone, communities reserve only what follows `share` (`share remove` is matched before `share <slug>`).
    assert assemble((communities.CAPABILITY,)).registry.reserved_words() == {"remove", "supprimer", "enlever"}


def test_the_cli_imports_capability_subcommands_only_when_asked() -> None:
    probe = ("import sys, bot.cli; print(sorted(m for m in sys.modules if m.startswith(('bot.referrals', "
             "'bot.crisis', 'bot.communities', 'bot.app'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    from bot.cli import main

    listed = CliRunner().invoke(main, ["export", "--help"])
    assert listed.exit_code == 0, listed.output
    for name in ("crisis", "nominations", "person"):
        assert f"  {name} " in listed.output


def test_confidential_commands_give_confidential_replies_errors_included(chat: Chat) -> None:
    assembly = assemble(default_capabilities())
    assert assembly.is_confidential("nomination show") and assembly.is_confidential("profile link")
    assert assembly.is_confidential("crisis ask") and not assembly.is_confidential("crisis announce")
    assert not assembly.is_confidential("community list") and not assembly.is_confidential("profiles")
    assert chat.say("profile skills sql").confidential
    assert chat.say("nomination show N9").confidential  # an error of a confidential command too
    assert not chat.say("community list").confidential and not chat.say("help").confidential


def test_delivery_guards_are_the_declared_ones_by_subject_prefix() -> None:
    from bot.crisis.guard import still_due
    from bot.referrals.guard import may_receive

    guards = assemble(default_capabilities()).delivery_guards(Settings())
    assert [(prefix, guard) for prefix, guard in guards.guards] == [
        ("nomination:", may_receive), ("referrals:", may_receive), ("crisis:", still_due)]
    assert assemble((communities.CAPABILITY,)).delivery_guards(Settings()).guards == ()  # nothing to check
