"""Messages of consultations and ideas, built in the recipient's language when called."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.consultations.service import Tally, result_lines, status_label, upvotes
from bot.i18n import _, ngettext
from bot.i18n.formats import moment
from bot.messages import Actions, Button, Context, Field, Message, Poll, Ring, Section
from storage.tables import Consultation, ConsultationOption, Idea

if TYPE_CHECKING:
    from storage.tables import Community  # a row the communities service returns

UPVOTE_REACTION = "👍"


def poll_key(consultation: Consultation) -> str:
    """What ties a consultation's native poll (Matrix) to the message that ends it."""
    return f"consultation:{consultation.id}"


def opened(consultation: Consultation, community: Community, options: list[ConsultationOption],
           who: str) -> Message:
    """The post in the community's channels: the question and a button per option; a native poll where the
    platform has them, unless the vote is anonymous (a poll answer is seen by everyone: an anonymous vote is
    typed in private)."""
    n = consultation.id
    title = _("Consultation V{n} in {name}: {question}", n=n, name=community.name, question=consultation.question)
    hints = [_("{who} asks the members of {name}. Vote with vote V{n} <number>.", who=who, name=community.name, n=n)]
    if consultation.closes_at is not None:
        hints.append(_("Closes on {when}.", when=moment(consultation.closes_at)))
    if consultation.anonymous:
        hints.append(_("Anonymous: nobody can see who voted what, and a vote cannot be changed."))
        hints.append(_("Vote where nobody else sees your choice (a button, or a private conversation with "
                       "Cercle), never by typing it here."))
    if consultation.hidden or consultation.anonymous:
        hints.append(_("Results are shown when it closes."))
    # An anonymous vote is typed in private (`bot.places`): its buttons say so where a button is a typed command.
    buttons = tuple(Button(f"{o.number}. {o.label}"[:75], _("vote V{n} {number}", n=n, number=o.number),
                           private=consultation.anonymous) for o in options)
    poll = None if consultation.anonymous else Poll(poll_key(consultation), title)
    return Message(summary=title, blocks=(Section(title=title, lines=tuple(f"{o.number}. {o.label}" for o in options)),
                                          Actions(buttons), Context(" ".join(hints))), poll=poll,
                   live=f"consultation:{n}")


def results(t: Tally, *, final: bool) -> Message:
    c = t.consultation
    if final:
        title = _("Results of V{n} in {name}: {question}", n=c.id, name=t.community.name, question=c.question)
    else:
        title = _("Results so far of V{n} in {name}: {question}", n=c.id, name=t.community.name,
                  question=c.question)
    blocks: list = [Section(title=title, lines=result_lines(t.options))]
    blocks.append(Context(ngettext("{n} vote in all.", "{n} votes in all.", t.total)))
    if c.decision:
        blocks.append(Section(text=_("Decision: {decision}", decision=c.decision)))
    poll = Poll(poll_key(c), title, ends=True) if final and not c.anonymous else None
    return Message(summary=title, blocks=tuple(blocks), poll=poll)


def decision(t: Tally, who: str) -> Message:
    c = t.consultation
    title = _("Decision on V{n} in {name}: {question}", n=c.id, name=t.community.name, question=c.question)
    return Message(summary=title, ring=Ring.PEOPLE, blocks=(
        Section(title=title, text=_("{who} answers: {decision}", who=who, decision=c.decision or "")),
        Section(lines=result_lines(t.options)),
        Context(_("This answers the consultation V{n}.", n=c.id))))


def idea_proposed(idea: Idea, community: Community, who: str) -> Message:
    title = _("New idea I{n} in {name}", n=idea.id, name=community.name)
    return Message(summary=title, blocks=(
        Section(title=title, text=_("{who} proposes: {text}", who=who, text=idea.text)),
        Actions((Button(_("Upvote"), _("idea upvote I{n}", n=idea.id), style="primary", reaction=UPVOTE_REACTION),)),
        Context(_("Upvote with idea upvote I{n}.", n=idea.id))), live=f"idea:{idea.id}")


def idea_answered(idea: Idea, community: Community, who: str) -> Message:
    title = _("Answer to idea I{n} in {name}: {status}", n=idea.id, name=community.name,
              status=status_label(idea.status))
    return Message(summary=title, blocks=(
        Section(title=title, lines=(idea.text,)),
        Section(text=_("{who} answers: {answer}", who=who, answer=idea.answer or "")),
        Context(upvotes(idea.upvotes))))


def consultation_line(c: Consultation, votes: int, still_open: bool) -> str:
    """One line of `consult list`: code, question, where it stands."""
    count = ngettext("{n} vote", "{n} votes", votes)
    if still_open:
        state = _("open until {when}", when=moment(c.closes_at)) if c.closes_at else _("open")
    elif c.decision:
        state = _("closed, decided")
    else:
        state = _("closed, awaiting the decision")
    return _("V{n} — {question} — {state}, {votes}", n=c.id, question=c.question[:200], state=state, votes=count)


def idea_answered_to_author(idea: Idea, community: Community, who: str) -> Message:
    """To the idea's author, in private: their idea got an answer."""
    text = _("{who} answered your idea I{n} in {name}: {status}.", who=who, n=idea.id, name=community.name,
             status=status_label(idea.status))
    return Message(summary=text, blocks=(Section(text=text, lines=(idea.text,)),
                                         Section(text=idea.answer or "")))


def idea_detail(idea: Idea, community: Community, author: str, answerer: str, upvoted: bool,
                may_upvote: bool) -> Message:
    """`idea show`: the idea, who proposed it, its upvotes, status and answer."""
    title = _("Idea I{n} in {name}", n=idea.id, name=community.name)
    fields = [Field(_("Proposed by"), _("{who}, {when}", who=author, when=moment(idea.created_at))),
              Field(_("Support"), upvotes(idea.upvotes) + (" " + _("(yours among them)") if upvoted else "")),
              Field(_("Status"), status_label(idea.status))]
    blocks: list = [Section(title=title, text=idea.text, fields=tuple(fields))]
    if idea.answer:
        when = moment(idea.answered_at) if idea.answered_at else ""
        blocks.append(Section(title=_("Answer from {who}, {when}", who=answerer, when=when), text=idea.answer))
    if may_upvote:
        blocks.append(Actions((Button(_("Upvote"), _("idea upvote I{n}", n=idea.id), style="primary",
                                      reaction=UPVOTE_REACTION),)))
    return Message(summary=title, blocks=tuple(blocks))


def closed_by_itself(tally: Tally) -> Message:
    """To the managers, in private: a consultation reached its closing time."""
    c = tally.consultation
    text = _("The consultation V{n} in {name} closed by itself at its closing time ({question}); its results "
             "are posted in the community's channels. Give the decision with consult answer V{n} "
             "\"<decision>\".", n=c.id, name=tally.community.name, question=c.question[:200])
    return Message(summary=text, blocks=(Section(text=text, lines=result_lines(tally.options)),
                                         Context(ngettext("{n} vote in all.", "{n} votes in all.", tally.total))))
