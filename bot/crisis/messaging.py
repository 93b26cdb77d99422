"""The messages a crisis sends: the same words in every channel, on every platform."""

from __future__ import annotations

from bot.i18n import _
from bot.messages import Actions, Button, Context, Form, FormField, Message, Ring, Section
from storage.tables import Crisis, CrisisAnnouncement, CrisisQuestion

ACK_REACTION = "✅"


def platforms_phrase(shown: list[str]) -> str:
    """"Slack and Matrix" (the platforms' names, already in the reader's language)."""
    if len(shown) <= 1:
        return "".join(shown)
    return _("{first} and {last}", first=", ".join(shown[:-1]), last=shown[-1])


def ack_command(crisis: Crisis) -> str:
    return _("crisis ack C{id}", id=crisis.id)


def ask_buttons(crisis_id: int) -> tuple[Button, ...]:
    field = (FormField("question", _("Your question"), multiline=True),)
    return (
        Button(_("Ask a question"), form=Form(_("Ask a question about C{id}", id=crisis_id), _("Send"), field,
                                              _("crisis ask C{id} {{question}}", id=crisis_id))),
        Button(_("Ask anonymously"), form=Form(_("Ask anonymously about C{id}", id=crisis_id), _("Send"), field,
                                               _("crisis ask C{id} {{question}} --anonymous", id=crisis_id)),
               private=True),  # typed where others read it, it would not be anonymous (bot.places)
    )


def announcement(crisis: Crisis, row: CrisisAnnouncement, author: str, *, everyone: bool = False) -> Message:
    """Rings the channel's members; `everyone`: notifies the whole room where the platform can (@room).
    A live post: `bot.crisis.live` adds its acknowledgements as they come."""
    if row.number == 1:
        title = _("Crisis C{id}: {title}", id=crisis.id, title=crisis.title)
    else:
        title = _("Crisis C{id}: {title} — update {n}", id=crisis.id, title=crisis.title, n=row.number - 1)
    buttons = (Button(_("Acknowledge"), ack_command(crisis), style="primary", reaction=ACK_REACTION),
               *ask_buttons(crisis.id or 0))
    return Message(summary=_("{title}: {text}", title=title, text=row.text)[:300], pin=True,
                   ring=Ring.EVERYONE if everyone else Ring.PEOPLE, blocks=(
        Section(title=title, text=row.text),
        Context(_("From {who}. Please acknowledge that you have read it: crisis ack C{id} (or react with {emoji}). "
                  "Questions: crisis ask C{id} \"<question>\" [--anonymous].", who=author, id=crisis.id,
                  emoji=ACK_REACTION)),
        Actions(buttons),
    ), live=live_key(crisis.id or 0, row.number))


def live_key(crisis_id: int, number: int) -> str:
    """The live key of an announcement's posts (`bot.outbox.live`)."""
    return f"crisis:{crisis_id}:ann:{number}"


def answer(crisis: Crisis, question: CrisisQuestion, who: str, *, corrected: bool = False) -> Message:
    title = _("Question Q{qid} about C{id} ({title})", qid=question.id, id=crisis.id, title=crisis.title)
    if corrected:
        summary = _("Corrected answer to Q{qid}: {answer}", qid=question.id, answer=question.answer or "")
        heading = _("Corrected answer from {who} (it replaces the previous one)", who=who)
    else:
        summary = _("Answer to Q{qid}: {answer}", qid=question.id, answer=question.answer or "")
        heading = _("Answer from {who}", who=who)
    return Message(summary=summary[:300], ring=Ring.PEOPLE, blocks=(Section(title=title, text=question.text),
                                                                    Section(title=heading, text=question.answer or "")))


def answered_notice(crisis: Crisis, question: CrisisQuestion, *, corrected: bool = False) -> Message:
    if corrected:
        summary = _("The answer to your question Q{qid} was corrected.", qid=question.id)
        text = _("The answer to your question Q{qid} about C{id} was corrected, in public in the crisis channels:",
                 qid=question.id, id=crisis.id)
    else:
        summary = _("Your question Q{qid} was answered.", qid=question.id)
        text = _("Your question Q{qid} about C{id} was answered, in public in the crisis channels:",
                 qid=question.id, id=crisis.id)
    return Message(summary=summary, ring=Ring.PEOPLE, blocks=(Section(text=text),
                                                              Section(title=question.text, text=question.answer or "")))


def named_communicator(crisis: Crisis, title: str, declarer: str) -> Message:
    """To a person named with --communicators, in private: what they may now do."""
    text = _("{who} named you a communicator of the crisis C{id} ({title}). Nothing has been sent yet. Announce "
             "with crisis announce C{id} \"<text>\"; follow it with crisis status C{id} and crisis questions C{id}.",
             who=declarer, id=crisis.id, title=title)
    return Message.text(text)


def cancelled(crisis: Crisis, who: str) -> Message:
    """To the other communicators, in private: the crisis was cancelled before any announcement."""
    return Message.text(_("{who} cancelled the crisis C{id} ({title}) before any announcement: nothing was posted.",
                          who=who, id=crisis.id, title=crisis.title))


def reminder(crisis: Crisis, row: CrisisAnnouncement) -> Message:
    text = _("You have not yet acknowledged the announcement of the crisis C{id} ({title}). Please read it:",
             id=crisis.id, title=crisis.title)
    return Message(summary=_("Reminder: please read the announcement of C{id}.", id=crisis.id), ring=Ring.PEOPLE,
                   blocks=(
        Section(text=text), Section(text=row.text),
        Actions((Button(_("Acknowledge"), ack_command(crisis), style="primary", reaction=ACK_REACTION),)),
    ))


def closing(crisis: Crisis, who: str) -> Message:
    text = _("The crisis C{id} ({title}) is closed by {who}. Thank you for your attention. Its announcements and "
             "answers stay here for reference.", id=crisis.id, title=crisis.title, who=who)
    return Message(summary=text, blocks=(Section(text=text),), ring=Ring.PEOPLE)


def state_label(status: str) -> str:
    """A crisis's state in the reader's language."""
    return {"closed": _("closed"), "cancelled": _("cancelled")}.get(status, _("open"))
