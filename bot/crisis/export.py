"""`cercle export crisis <C-code> [--json|--markdown]`: the timeline of a crisis, for the record.

Questions are exported without their askers: the record is shared beyond the communicators.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.engine import Engine

from bot import identity
from bot.crisis import service
from bot.errors import UserError
from bot.i18n import _, ngettext, use_locale
from bot.i18n.formats import moment, percent
from storage.db import session_scope

if TYPE_CHECKING:
    from bot.capability import CommandLine


def timeline(engine: Engine, crisis_id: int) -> dict[str, Any]:
    """Announcements, questions and answers, and figures, as plain data."""
    with session_scope(engine) as session:
        crisis = service.get(session, crisis_id)

        def name(pid: int | None) -> str:
            return identity.display_name(session, pid, missing="")

        figures = {f.announcement.id: f for f in service.figures(session, crisis)}
        anns = []
        for a in service.announcements(session, crisis_id):
            fig = figures[a.id]
            counts = fig.counts
            anns.append({"number": a.number, "at": a.at.isoformat(), "author": name(a.author_id), "text": a.text,
                         "channels": len(fig.deliveries), "delivered": counts["sent"], "failed": counts["failed"],
                         "waiting": counts["pending"] + counts["missing"], "acknowledged": fig.acked,
                         "audience": fig.audience, "percent": fig.percent,
                         "by_community": [{"community": c.slug, "acknowledged": ack, "members": total}
                                          for c, ack, total in fig.by_community]})
        qs = [{"code": f"Q{q.id}", "asked_at": q.asked_at.isoformat(), "anonymous": q.anonymous, "text": q.text,
               "answer": q.answer, "answered_by": name(q.answered_by) if q.answer is not None else None,
               "answered_at": q.answered_at.isoformat() if q.answered_at else None}
              for q in service.questions(session, crisis_id)]
        return {"code": service.code(crisis), "title": crisis.title, "status": crisis.status,
                "declared_at": crisis.declared_at.isoformat(), "declared_by": name(crisis.declared_by),
                "closed_at": crisis.closed_at.isoformat() if crisis.closed_at else None,
                "audience": {"declared": crisis.audience,
                             "people": len(service.audience_ids(session, crisis_id)),
                             "channels": len(service.channels(session, crisis_id))},
                "announcements": anns, "questions": qs}


def _at(text: str | None) -> str:
    return moment(datetime.fromisoformat(text)) if text else "-"


def markdown(data: dict[str, Any]) -> str:
    """The timeline as Markdown, in the current language and time zone."""
    audience = data["audience"]
    out = [f"# {data['code']} — {data['title']}", "",
           "- " + _("Status: {status}", status=_("closed") if data["status"] == "closed" else _("open")),
           "- " + _("Declared: {at} by {who}", at=_at(data["declared_at"]), who=data["declared_by"]),
           "- " + _("Closed: {at}", at=_at(data["closed_at"])),
           "- " + _("Audience: {declared} — {people} in {channels}", declared=audience["declared"],
                    people=ngettext("{n} person", "{n} people", audience["people"]),
                    channels=ngettext("{n} channel", "{n} channels", audience["channels"])),
           "", "## " + _("Announcements"), ""]
    for a in data["announcements"]:
        label = _("Announcement") if a["number"] == 1 else _("Update {n}", n=a["number"] - 1)
        out += [f"### {label} — {_at(a['at'])} ({a['author']})", "", a["text"], "",
                _("Delivered to {sent} of {channels} ({failed} failed); acknowledged by {acked} of {total} "
                  "({percent}).", sent=a["delivered"], channels=ngettext("{n} channel", "{n} channels", a["channels"]),
                  failed=a["failed"], acked=a["acknowledged"], total=a["audience"], percent=percent(a["percent"])), ""]
        out += ["- " + _("{community}: {acked} of {total}", community=c["community"], acked=c["acknowledged"],
                         total=c["members"]) for c in a["by_community"]]
    out += ["", "## " + _("Questions"), ""]
    for q in data["questions"]:
        who = _("anonymous") if q["anonymous"] else _("named")
        out += [f"### {q['code']} ({who}, {_at(q['asked_at'])})", "", q["text"], ""]
        if q["answer"]:
            out += ["**" + _("Answer") + "** " + _("({who}, {at}): {answer}", who=q["answered_by"],
                                                    at=_at(q["answered_at"]), answer=q["answer"]), ""]
        else:
            out += ["_" + _("Not answered.") + "_", ""]
    return "\n".join(out).rstrip() + "\n"


def register(cli: click.Group) -> None:
    """Add `crisis` to the `cercle export` group."""
    group = cli.commands.get("export")
    assert isinstance(group, click.Group)

    @group.command("crisis")
    @click.argument("crisis_code")
    @click.option("--json", "as_json", is_flag=True, help="JSON instead of Markdown.")
    @click.option("--markdown", "as_markdown", is_flag=True, help="Markdown (the default).")
    @click.pass_obj
    def export_crisis(cli: CommandLine, crisis_code: str, as_json: bool, as_markdown: bool) -> None:
        """The timeline of a crisis: announcements, questions, answers, figures."""
        if as_json and as_markdown:
            raise click.UsageError("choose --json or --markdown, not both")
        text = crisis_code.strip().upper().removeprefix("C")
        if not text.isdigit() or int(text) == 0:
            raise click.BadParameter(f"'{crisis_code}' is not a crisis code like C1", param_hint="CRISIS_CODE")
        app = cli.application()
        try:
            data = timeline(app.engine, int(text))
        except UserError as exc:
            click.echo(f"cercle: {exc.message}", err=True)
            sys.exit(1)
        if as_json:
            click.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        with use_locale(app.settings.locale, zone=app.settings.timezone):
            click.echo(markdown(data), nl=False)
