"""Messages of the referral capability, built in each recipient's language.

Only `announcement` goes to shared channels, and it carries nothing about any nomination.
Everything else is sent to one person in private.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.i18n import _, ngettext, typed_word
from bot.i18n.formats import day
from bot.messages import Actions, Button, Context, Field, Form, FormField, Message, Ring, Section
from bot.referrals.service import FINAL, UNDER_REVIEW, position_code, skills_of, state_label, typed_state
from storage.tables import Position


@dataclass(frozen=True)
class PositionInfo:
    """What messages show of a position (plain values, safe to keep after the session)."""

    id: int
    title: str
    site: str
    team: str
    description: str
    skills: tuple[str, ...]
    closes_at: datetime | None

    @property
    def code(self) -> str:
        return position_code(self.id)

    def headline(self) -> str:
        where = f"{self.site} / {self.team}" if self.team else self.site
        return f"{self.code} — {self.title} — {where}"


def position_info(session: Session, position: Position) -> PositionInfo:
    assert position.id is not None
    return PositionInfo(id=position.id, title=position.title, site=position.site, team=position.team,
                        description=position.description, skills=tuple(skills_of(session, position.id)),
                        closes_at=position.closes_at)


def position_fields(p: PositionInfo) -> tuple[Field, ...]:
    fields = [Field(_("Site"), p.site)]
    if p.team:
        fields.append(Field(_("Team"), p.team))
    fields.append(Field(_("Skills"), ", ".join(p.skills) or _("none listed")))
    fields.append(Field(_("Closes"), day(p.closes_at) if p.closes_at else _("when filled")))
    if p.description:
        fields.append(Field(_("Description"), p.description))
    return tuple(fields)


def consent_buttons(code: str) -> tuple[Button, ...]:
    """Yes and No, as the nominee types them in their language."""
    return (Button(_("Yes, put me forward"), _("nomination consent {code} {answer}", code=code,
                                               answer=typed_word("yes", "answer")), style="primary", reaction="👍"),
            Button(_("No, thank you"), _("nomination consent {code} {answer}", code=code,
                                         answer=typed_word("no", "answer")), reaction="👎"))


def move_command(code: str, state: str) -> str:
    return _("nomination move {code} {state}", code=code, state=typed_state(state))


def nominate_button(p: PositionInfo) -> Button:
    form = Form(title=_("Nominate for {code}", code=p.code), submit=_("Nominate"),
                fields=(FormField("person", _("Who? (mention the person)"), kind="user"),
                        FormField("why", _("Why them? (at least a sentence)"), multiline=True)),
                command=_("nominate {code} {{person}} {{why}}", code=p.code))
    return Button(_("Nominate someone"), style="primary", form=form, private=True)  # typed in private only


def announcement(p: PositionInfo) -> Message:
    """The one line posted in matching communities' channels, with a Nominate button."""
    text = _("New internal position {code}: {title} at {site}. Skills: {skills}. Know someone for it? "
             "Nominate them — it stays confidential.", code=p.code, title=p.title, site=p.site,
             skills=", ".join(p.skills) or _("none listed"))
    return Message(summary=text, blocks=(
        Section(text=text), Actions((nominate_button(p),)),
        Context(_("Or send Cercle, in private: nominate {code} @person \"why them\"", code=p.code))),
        live=f"position:{p.id}")


def closed_announcement(p: PositionInfo) -> Message:
    """The same post once the position is closed (updated in place): no more Nominate button."""
    text = _("Internal position {code}: {title} at {site} — closed: it takes no more nominations.", code=p.code,
             title=p.title, site=p.site)
    return Message(summary=text, blocks=(Section(text=text),), live=f"position:{p.id}")


def consent_request(code: str, p: PositionInfo, nominator: str, argument: str, *, reminder: bool = False) -> Message:
    """Asks the nominee, in private, whether they agree to be put forward."""
    if reminder:
        intro = _("Reminder: {who} nominated you for the position {position} a week ago and is waiting for "
                  "your answer. Without an answer within 7 days, the nomination lapses.", who=nominator,
                  position=p.headline())
    else:
        intro = _("{who} nominated you for the internal position {position}. Do you agree to be put forward? "
                  "HR will know who you are only if you say yes.", who=nominator, position=p.headline())
    return Message(summary=intro, ring=Ring.PEOPLE, blocks=(
        Section(text=intro, fields=(*position_fields(p), Field(_("Why you"), argument))),
        Actions(consent_buttons(code)),
        Context(_("Nomination {code}. Answer with nomination consent {code} yes or no.", code=code))))


def nominator_consented(code: str, p: PositionInfo, nominee: str) -> Message:
    return Message.text(_("Good news: {name} agreed to be put forward for {position} ({code}). HR will now "
                          "review the nomination; you will hear about each step.", name=nominee,
                          position=p.headline(), code=code)).rings()


def nominator_declined(code: str, p: PositionInfo, nominee: str) -> Message:
    return Message.text(_("Your nomination {code} of {name} for {position} is closed and will not go further. "
                          "Thank you for thinking of them: keep an eye out for other positions.", code=code,
                          name=nominee, position=p.headline())).rings()


def nominator_lapsed(code: str, p: PositionInfo, nominee: str) -> Message:
    return Message.text(_("Your nomination {code} of {name} for {position} has lapsed: they did not answer "
                          "within 14 days. Nothing further will happen with it.", code=code, name=nominee,
                          position=p.headline())).rings()


def nominee_lapsed(code: str, p: PositionInfo) -> Message:
    return Message.text(_("Your nomination {code} for {position} has lapsed without an answer. Nobody at HR "
                          "was told who you are.", code=code, position=p.headline())).rings()


def hr_consented(code: str, p: PositionInfo, nominee: str) -> Message:
    return Message(summary=_("{name} consented to the nomination {code} for {position}.", name=nominee, code=code,
                             position=p.headline()),
                   blocks=(Section(text=_("{name} consented to the nomination {code} for {position}.", name=nominee,
                                          code=code, position=p.headline())),
                           Actions((Button(_("Show"), _("nomination show {code}", code=code)),
                                    Button(_("Start the review"), move_command(code, UNDER_REVIEW),
                                           style="primary"))),))


def state_changed(code: str, p: PositionInfo, state: str, note: str = "") -> Message:
    text = _("The nomination {code} for {position} is now: {state}.", code=code, position=p.headline(),
             state=state_label(state))
    blocks: list = [Section(text=text)]
    if note:
        blocks.append(Section(fields=(Field(_("Note from HR"), note),)))
    return Message(summary=text, blocks=tuple(blocks), ring=Ring.PEOPLE)


def withdrawn_to_nominee(code: str, p: PositionInfo) -> Message:
    return Message.text(_("The nomination {code} for {position} has been withdrawn by the person who made it. "
                          "Nothing further will happen with it.", code=code, position=p.headline())).rings()


def withdrawn_to_hr(code: str, p: PositionInfo) -> Message:
    return Message.text(_("The nomination {code} for {position} has been withdrawn by its nominator.", code=code,
                          position=p.headline()))


def hr_digest(lines: list[str]) -> Message:
    title = ngettext("{n} nomination has waited for HR for 14 days or more",
                     "{n} nominations have waited for HR for 14 days or more", len(lines))
    return Message(summary=title, blocks=(Section(title=title, lines=tuple(lines)),
                                          Context(_("Move them on with nomination move <N-code> <state>, "
                                                    "or see the queue with nomination list."))))


MessageBuilder = Callable[[], Message]


def digest_line(code: str, position_code_: str, title: str, state: str, nominee: str, now: datetime,
                updated: datetime) -> str:
    days = max(0, (now - updated).days)
    return _("{code} — {name} for {position} ({title}) — {state}, untouched for {age}", code=code, name=nominee,
             position=position_code_, title=title, state=state_label(state),
             age=ngettext("{n} day", "{n} days", days))


def nomination_figures(counts: dict[str, int]) -> str:
    """HR's figures of a position: "3 nominations: 2 in progress, 1 finished"."""
    total = sum(counts.values())
    if not total:
        return _("no nomination")
    finished = sum(n for state, n in counts.items() if state in FINAL)
    return _("{total}: {active}, {finished}", total=ngettext("{n} nomination", "{n} nominations", total),
             active=ngettext("{n} in progress", "{n} in progress", total - finished),
             finished=ngettext("{n} finished", "{n} finished", finished))


def hr_needed() -> Message:
    """To the admins: a nomination waits for an HR person who is not its nominee. Nothing about it is said:
    admins do not read nominations."""
    return Message.text(_("A nomination is waiting for an HR person who can handle it: the only person holding "
                          "the hr role cannot handle this one. Give the hr role to someone else with role grant "
                          "@person hr.")).rings()


def consent_taken_back_to_hr(code: str, p: PositionInfo) -> Message:
    """To HR: the nominee took back their consent; HR no longer sees who they are."""
    return Message.text(_("The nominee of {code} for {position} took back their consent: the nomination is "
                          "closed, and they are no longer named to HR.", code=code, position=p.headline()))
