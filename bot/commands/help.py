"""`help`: the topics in a few lines; `help <topic>` a topic's commands; `help <command>` one command.
Generated from the application's registry, in the caller's language."""

from __future__ import annotations

from bot.commands.context import Ctx
from bot.commands.registry import Arg, Command, Registry, command
from bot.errors import NotFound
from bot.i18n import N_, _
from bot.messages import Block, Context, Message, Reply, Section


def _aliases_of(registry: Registry, word: str) -> list[str]:
    return sorted(alias for alias, canonical in registry.aliases.items() if canonical == word)


def _groups(registry: Registry) -> dict[str, list[Command]]:
    """Commands by help group, in help's order; commands of no declared group last, under "other"."""
    out: dict[str, list[Command]] = {group_id: [] for group_id in registry.groups}
    for cmd in registry.commands.values():
        out.setdefault(cmd.group if cmd.group in registry.groups else "", []).append(cmd)
    return {group_id: cmds for group_id, cmds in out.items() if cmds}


def _title(registry: Registry, group_id: str) -> str:
    return _(registry.groups[group_id]) if group_id in registry.groups else _("Other")


def _typed(cmd: Command) -> list[str]:
    """The command's words as the reader types them: the first words of its usage, in their language."""
    return _(cmd.usage).split()[:len(cmd.path)]


def _words(cmds: list[Command]) -> str:
    """What a topic's commands are called, in the reader's words: `create, list, info…`."""
    seen: dict[str, None] = {}
    for cmd in cmds:
        words = _typed(cmd)
        seen[" ".join(words[1:] if len(words) > 1 and cmd.path[0] == cmds[0].path[0] else words)] = None
    return ", ".join(seen)


@command("help", usage=N_("help [topic|command]"),
         summary=N_("The topics; with a topic, its commands; with a command, how to use it."),
         args=[Arg("topic", many=True, minimum=0, maximum=3, label=N_("<topic>"))])
def help_command(ctx: Ctx, topic: list[str]) -> Reply:
    registry = ctx.assembly.registry
    if topic:
        return _help_on(registry, topic)
    lines = []
    for group_id, cmds in _groups(registry).items():
        typed = [_typed(c)[0] for c in cmds if c.path[0] == group_id]
        word = typed[0] if typed else _typed(cmds[0])[0]
        lines.append(_("{title} — help {topic}: {commands}", title=_title(registry, group_id),
                       topic=word, commands=_words(cmds)))
    title = _("Cercle commands, by topic")
    hint = Context(_("help <topic> lists a topic's commands, help <command> explains one. Codes like P3, N7, V2, "
                     "I5, C1, Q4 name positions, nominations, consultations, ideas, crises and questions; the "
                     "bare number works too."))
    return Reply(Message(summary=title, blocks=(Section(title=title, lines=tuple(lines)), hint)))


def _topic(registry: Registry, words: list[str]) -> list[Command]:
    """The commands `help <words>` is about: a topic (`help community`), every command starting with a
    word (`help idea`), or one command (`help community join`)."""
    groups = _groups(registry)
    first = registry.canonical(words[0])
    if len(words) == 1 and first in groups:
        return groups[first]
    cmd, used = registry.lookup(words)
    if cmd is not None and used == len(words):
        prefixed = registry.with_prefix(words[0])
        return prefixed if len(words) == 1 and len(prefixed) > 1 else [cmd]
    return registry.with_prefix(words[0]) if cmd is None else [cmd]


def _help_on(registry: Registry, words: list[str]) -> Reply:
    cmds = _topic(registry, words)
    if not cmds:
        raise NotFound(_("There is no topic or command '{word}'. Type help to see the topics.",
                         word=" ".join(words)[:60]))
    blocks: list[Block] = [Section(title=_(c.usage), text=_(c.summary)) for c in cmds]
    aliases = _aliases_of(registry, cmds[0].path[0])
    if aliases:
        blocks.append(Context(_("Also: {aliases}", aliases=", ".join(aliases))))
    return Reply(Message(summary=_(cmds[0].usage), blocks=tuple(blocks)))
