"""The digest message, built in the language of where it is posted."""

from __future__ import annotations

from bot.consultations.service import result_lines, status_label, upvotes
from bot.digests.providers import PROVIDERS
from bot.digests.service import ConsultationSummary, Digest
from bot.i18n import _, ngettext
from bot.i18n.formats import day, duration, percent
from bot.messages import Context, Field, Message, Section


def trend(now: int, before: int) -> str:
    if before == 0:
        return _("new activity") if now else _("no change")
    diff = now - before
    sign = "+" if diff >= 0 else ""
    return _("{sign}{diff} ({sign}{percent}) vs the previous period", sign=sign, diff=diff,
             percent=percent(100 * diff / before))


def _consultation_line(s: ConsultationSummary, closed: bool) -> list[str]:
    c = s.consultation
    head = f"V{c.id} — {c.question}"
    if not closed and c.hidden:
        return [head + " — " + _("results when it closes") + ", "
                + ngettext("{n} vote so far", "{n} votes so far", s.total)]
    lines = [head + (" — " + _("closed") if closed else "")]
    lines.extend("    " + line for line in result_lines(s.options))
    if c.decision:
        lines.append("    " + _("Decision: {decision}", decision=c.decision))
    return lines


def render(d: Digest) -> Message:
    name = d.community.name
    period = f"{day(d.start)} → {day(d.end)}"
    if d.empty:
        text = _("Quiet period in {name} ({period}): nothing new. Share a resource, propose an idea or ask a "
                 "question to get things going.", name=name, period=period)
        return Message.text(text)
    title = _("Digest of {name} — {period}", name=name, period=period)
    blocks: list = [Section(title=title)]
    if d.new_member_count:
        more = d.new_member_count - len(d.new_members)
        lines = list(d.new_members) + ([ngettext("and {n} more", "and {n} more", more)] if more > 0 else [])
        blocks.append(Section(title=ngettext("Welcome to {n} new member", "Welcome to {n} new members",
                                             d.new_member_count), lines=tuple(lines)))
    if d.resources:
        blocks.append(Section(title=_("New resources"), lines=tuple(f"{r.title} — {r.url}" for r in d.resources)))
    if d.open_consultations:
        lines = [line for s in d.open_consultations for line in _consultation_line(s, False)]
        blocks.append(Section(title=_("Open consultations (vote with vote V<n> <number>)"), lines=tuple(lines)))
    if d.closed_consultations:
        lines = [line for s in d.closed_consultations for line in _consultation_line(s, True)]
        blocks.append(Section(title=_("Closed consultations"), lines=tuple(lines)))
    if d.new_ideas:
        blocks.append(Section(title=_("New ideas (support one with idea upvote I<n>)"), lines=tuple(
            f"I{i.id} — {i.text} ({upvotes(i.upvotes)})" for i in d.new_ideas)))
    if d.answered_ideas:
        blocks.append(Section(title=_("Answered ideas"), lines=tuple(
            f"I{i.id} — {i.text} — " + _("{status}: {answer}", status=status_label(i.status), answer=i.answer or "")
            for i in d.answered_ideas)))
    for key, lines in d.extra:
        provider = PROVIDERS.get(key)
        blocks.append(Section(title=provider.title() if provider else key, lines=tuple(lines)))
    h = d.health
    blocks.append(Section(title=_("Health"), fields=(
        Field(_("Active members"), f"{h.active} — {trend(h.active, h.previous_active)}"),
        Field(_("New contributors"), str(h.new_contributors)),
        Field(_("Median time to first answer"), duration(h.median_answer) if h.median_answer else _("no answer")),
    )))
    blocks.append(Context(_("Digest of {slug}. Managers change its schedule with digest schedule {slug} "
                            "\"<cron>\".", slug=d.community.slug)))
    return Message(summary=title, blocks=tuple(blocks))
