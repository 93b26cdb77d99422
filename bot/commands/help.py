"""`help` and `help <command>`, generated from the application's registry, in the caller's language."""

from __future__ import annotations

from bot.commands.context import Ctx
from bot.commands.registry import Arg, Registry, command
from bot.errors import NotFound
from bot.i18n import N_, _
from bot.messages import Context, Message, Reply, Section


def _aliases_of(registry: Registry, word: str) -> list[str]:
    return sorted(alias for alias, canonical in registry.aliases.items() if canonical == word)


@command("help", usage=N_("help [command]"), summary=N_("List every command, or explain one."),
         args=[Arg("topic", many=True, minimum=0, maximum=3, label=N_("<command>"))])
def help_command(ctx: Ctx, topic: list[str]) -> Reply:
    registry = ctx.assembly.registry
    if topic:
        return _help_on(registry, topic)
    sections = []
    for group_id, title in registry.groups.items():
        cmds = [c for c in registry.commands.values() if c.group == group_id]
        if not cmds:
            continue
        lines = tuple(f"{_(c.usage)} — {_(c.summary)}" for c in cmds)
        sections.append(Section(title=_(title), lines=lines))
    ungrouped = [c for c in registry.commands.values() if c.group not in registry.groups]
    if ungrouped:
        sections.append(Section(title=_("Other"), lines=tuple(f"{_(c.usage)} — {_(c.summary)}" for c in ungrouped)))
    hint = Context(_("Codes like P3, N7, V2, I5, C1, Q4 name positions, nominations, consultations, ideas, "
                     "crises and questions; the bare number works too. Type help <command> for details."))
    return Reply(Message(summary=_("Cercle commands"), blocks=(Section(title=_("Cercle commands")),
                                                              *sections, hint)))


def _help_on(registry: Registry, words: list[str]) -> Reply:
    cmd, _used = registry.lookup(words)
    if cmd is None:
        group = registry.with_prefix(words[0])
        if not group:
            raise NotFound(_("There is no command '{word}'. Type help to see every command.",
                             word=" ".join(words)[:60]))
        cmds = group
    else:
        cmds = [cmd]
    blocks: list = [Section(title=_(c.usage), text=_(c.summary)) for c in cmds]
    aliases = _aliases_of(registry, cmds[0].path[0])
    if aliases:
        blocks.append(Context(_("Also: {aliases}", aliases=", ".join(aliases))))
    return Reply(Message(summary=_(cmds[0].usage), blocks=tuple(blocks)))
