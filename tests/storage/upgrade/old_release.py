"""Run by the PREVIOUS release's Python, with that release's code (tests/support/releases.py), never this tree's.

    python -I old_release.py fill  <database url>   # a realistic database, written by the old code
    python -I old_release.py smoke <database url>   # the old code's smoke commands on an (upgraded) schema

It uses only what v0.1.0 offers and the command grammar of the contract: `bot.app.build`, `Router.handle`
with `bot.events.Request`s from Slack, Matrix and console actors, `DeliveryWorker.run_once`, and one
scheduled job. The last line printed is a JSON object; any refused command stops it with exit code 1.
When the release this script runs against changes that surface, update it in the release's commit
(HACKING.md, "Releases"). mypy does not check it against the current code (pyproject.toml).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bot
from bot.app import build
from bot.clock import FrozenClock
from bot.delivery import DeliveryWorker
from bot.events import Actor, Place, Request, UserInfo
from bot.settings import Settings, parse_account_spec

TEAM, HS = "T0CERCLE", "example.org"
ADMINS = ("slack:T0CERCLE:U0ADMIN", "matrix:@admin:example.org", "console:root")

# Who's who: name -> (platform, user id). Slack ids are U0…, Matrix ids @…:example.org, console names.
PEOPLE = {
    "admin": ("slack", "U0ADMIN"), "hr": ("slack", "U0HR"), "comm": ("slack", "U0COMM"),
    "alice": ("slack", "U0ALICE"), "bob": ("slack", "U0BOB"), "erin": ("slack", "U0ERIN"),
    "hugo": ("slack", "U0HUGO"),
    "malice": ("matrix", "@alice:example.org"), "carol": ("matrix", "@carol:example.org"),
    "frank": ("matrix", "@frank:example.org"), "ivan": ("matrix", "@ivan:example.org"),
    "mcomm": ("matrix", "@comm:example.org"),
    "dave": ("console", "dave"), "gina": ("console", "gina"), "judy": ("console", "judy"),
    "root": ("console", "root"),
}
CHANNELS = {"slack": "C0OPS", "matrix": "!ops:example.org", "console": "ops"}


class Refused(Exception):
    pass


class NullSender:
    """Accepts everything: the old release's worker marks rows sent, as if the platform took them."""

    def __init__(self, platform: str) -> None:
        self.platform = platform
        self.sent: list[int] = []

    async def send(self, item: object) -> str:
        self.sent.append(item.id)  # type: ignore[attr-defined]
        return f"{self.platform}-old-{item.id}"  # type: ignore[attr-defined]


def mention(name: str) -> str:
    platform, uid = PEOPLE[name]
    return {"slack": f"<@{uid}>", "matrix": uid, "console": f"@{uid}"}[platform]


class Driver:
    def __init__(self, url: str, clock: FrozenClock, *, migrate: bool) -> None:
        settings = Settings(database_url=url, admins=tuple(parse_account_spec(a) for a in ADMINS),
                            timezone="Europe/Paris")
        self.app = build(settings, clock=clock, migrate=migrate)
        self.clock = clock
        self.replies: list[str] = []
        self.counter = 0

    def say(self, name: str, text: str, *, direct: bool = False, channel: str | None = None) -> str:
        platform, uid = PEOPLE[name]
        workspace = {"slack": TEAM, "matrix": HS, "console": "local"}[platform]
        chan = channel or CHANNELS[platform]
        if direct:
            chan = {"slack": f"D{uid}", "matrix": f"!dm-{uid[1:].split(':')[0]}:{HS}", "console": f"dm-{uid}"}[platform]
        place = Place(platform, workspace, chan, name=f"#{chan}", direct=direct)
        users = {PEOPLE[n][1]: UserInfo(n.capitalize()) for n in PEOPLE if PEOPLE[n][0] == platform}
        self.counter += 1
        request = Request(actor=Actor(platform, workspace, uid, name.capitalize(), None), place=place, text=text,
                          event_key=f"old-{self.counter}-{self.clock.now().timestamp()}", users=users)
        reply = self.app.router.handle(request)
        if reply is None or reply.is_error:
            text_of = reply.message.plain_text() if reply else "(no reply: seen before)"
            raise Refused(f"{name}: {text!r} -> {text_of}")
        out = reply.message.plain_text()
        self.replies.append(out)
        return out

    def deliver(self) -> int:
        senders = {p: NullSender(p) for p in ("slack", "matrix", "console")}
        worker = DeliveryWorker(self.app.engine, dict(senders), clock=self.clock)

        async def go() -> None:
            while await worker.run_once():
                pass

        asyncio.run(go())
        return sum(len(s.sent) for s in senders.values())


def code(prefix: str, text: str) -> str:
    match = re.search(rf"\b({prefix}\d+)\b", text)
    if match is None:
        raise Refused(f"no {prefix} code in {text!r}")
    return match.group(1)


def fill(url: str) -> dict[str, object]:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = FrozenClock(now - timedelta(days=20))
    d = Driver(url, clock, migrate=True)
    from adapters.matrix.state import MatrixState
    from bot.crisis import jobs as crisis_jobs
    from bot.digests import jobs as digest_jobs
    from bot.referrals import jobs as referral_jobs

    # Roles, from admins on every platform.
    d.say("admin", f"role grant {mention('hr')} hr")
    d.say("admin", f"role grant {mention('comm')} communicator")
    d.say("admin", "role grant <@U0ALICE> communicator")
    d.say("root", "role list")

    # A nomination that will lapse: asked 20 days ago, reminded, then lapsed by the consent job.
    p1 = code("P", d.say("hr", 'position open "Site reliability engineer" --site Lyon --team Platform '
                               '--skills python,kafka', direct=True))
    lapsed = code("N", d.say("alice", f'nominate {p1} {mention("hugo")} "Hugo ran the Kafka migration."',
                             direct=True))
    clock.advance(timedelta(days=8))
    referral_jobs.consent_reminders(d.app.job_context())
    clock.advance(timedelta(days=8))
    referral_jobs.consent_reminders(d.app.job_context())

    # Communities, on every platform; a Slack and a Matrix account joined into one person.
    d.say("alice", 'community create ops "Operations" --purpose "Keep the lights on" --topics infra,oncall')
    d.say("alice", "community link ops")
    link = re.search(r"\b([A-Z0-9]{6,})\b", d.say("alice", "profile link", direct=True))
    if link is None:
        raise Refused("no link code")
    d.say("malice", f"profile link {link.group(1)}", direct=True)
    d.say("malice", "community link ops")
    d.say("dave", 'community create garden "Garden" --topics plants')
    d.say("dave", "community link garden", channel="garden")
    for name in ("bob", "carol", "dave", "erin", "frank", "gina", "ivan", "judy", "comm"):
        d.say(name, "community join ops")
    d.say("bob", "community join garden")
    d.say("alice", f"community promote ops {mention('bob')}")
    d.say("bob", 'share ops https://wiki.example.org/runbook "On-call runbook" --tags oncall,infra')
    d.say("bob", "profile skills python,kafka")
    d.say("bob", 'profile site "Lyon"')
    d.say("carol", "profile skills rust,python")
    d.say("carol", "language fr")
    d.say("gina", "whoknows python")

    # Consultations and ideas: one closed and answered, one open with votes from every platform.
    done = code("V", d.say("alice", 'consult open ops "Retro day?" "Monday" "Friday"'))
    d.say("bob", f"vote {done} 2")
    d.say("alice", f"consult close {done}")
    d.say("alice", f'consult answer {done} "Retros move to Friday."')
    open_v = code("V", d.say("alice", 'consult open ops "Which on-call tool?" "PagerDuty" "Opsgenie" "Grafana OnCall" '
                                      "--closes 30d"))
    d.say("bob", f"vote {open_v} 1")
    d.say("carol", f"vote {open_v} 2")
    d.say("dave", f"vote {open_v} 1")
    idea = code("I", d.say("carol", 'idea ops "Rotate the on-call weekly"'))
    d.say("bob", f"idea upvote {idea}")
    d.say("dave", f"idea upvote {idea}")
    d.say("alice", f'idea answer {idea} "Starting in January."')
    code("I", d.say("gina", 'idea ops "A quiet room in Lyon"'))
    d.say("alice", 'digest schedule ops "0 9 * * *" --tz Europe/Paris')
    d.say("alice", "digest now ops")
    sent_before = d.deliver()  # part of the history went out before the upgrade

    # Referrals: a nomination in every state, nominees on every platform.
    p2 = code("P", d.say("hr", 'position open "Database administrator" --site Paris', direct=True))
    p3 = code("P", d.say("hr", 'position open "Tech writer" --site Nantes', direct=True))
    d.say("hr", f"position close {p3}", direct=True)
    states: dict[str, str] = {"lapsed": lapsed}
    # (nominee, nominator): a mention names someone of the same platform.
    nominees = {"awaiting_consent": ("bob", "alice"), "consented": ("carol", "malice"),
                "declined": ("dave", "gina"), "under_review": ("erin", "bob"), "interview": ("frank", "carol"),
                "offered": ("gina", "dave"), "hired": ("ivan", "frank"), "rejected": ("judy", "dave"),
                "withdrawn": ("hugo", "bob")}
    for state, (nominee, nominator) in nominees.items():
        position = p2 if state in ("hired", "rejected", "withdrawn") else p1
        why = f"Great at {state.replace('_', ' ')} and mentors the whole team."
        states[state] = code("N", d.say(nominator, f'nominate {position} {mention(nominee)} "{why}"', direct=True))
    for state, n in states.items():
        if state in ("lapsed", "awaiting_consent"):
            continue
        nominee, nominator = nominees[state]
        d.say(nominee, f"nomination consent {n} {'no' if state == 'declined' else 'yes'}", direct=True)
        path = {"under_review": ["under_review"], "interview": ["under_review", "interview"],
                "offered": ["under_review", "interview", "offered"],
                "hired": ["under_review", "interview", "offered", "hired"],
                "rejected": ["under_review", "rejected"]}.get(state, [])
        for step in path:
            d.say("hr", f'nomination move {n} {step} "HR note for {step}"', direct=True)
        if state == "withdrawn":
            d.say(nominator, f"nomination withdraw {n}", direct=True)

    # A crisis in progress: declared, announced, some acknowledgements, questions (one anonymous).
    crisis = code("C", d.say("comm", 'crisis declare "Lyon site closure" --audience ops'))
    d.say("comm", f'crisis announce {crisis} "The Lyon site closes on Friday; buses leave at 8."')
    d.say("bob", f"crisis ack {crisis}")
    d.say("erin", f"crisis ack {crisis}")
    d.say("frank", f"crisis ack {crisis}")
    answered = code("Q", d.say("carol", f'crisis ask {crisis} "Will we be relocated?" --anonymous', direct=True))
    d.say("comm", f'crisis answer {answered} "Yes, to Paris, with support."')
    open_q = code("Q", d.say("dave", f'crisis ask {crisis} "Is parking free?"', direct=True))
    # A second crisis, closed.
    over = code("C", d.say("comm", 'crisis declare "Network outage" --audience ops'))
    d.say("comm", f'crisis announce {over} "The network is back."')
    d.say("comm", f"crisis close {over}")
    d.say("comm", f"crisis remind {crisis}")
    clock.set(now)
    ran = digest_jobs.run_due(d.app.job_context())  # the daily digest of ops, due since 9:00
    crisis_jobs.reminders_job(d.app.job_context())  # the reminder round asked above
    # What the Matrix adapter keeps in the database (sync token, device, direct rooms).
    MatrixState(d.app.engine, "@cercle:example.org").put({"sync_token": "s72594_4483_1934", "device_id": "OLDDEVICE",
                                                          "dm:@carol:example.org": "!dm-carol:example.org"})
    return {"version": bot.__file__, "crisis": crisis, "closed_crisis": over, "open_question": open_q,
            "consultation": open_v, "closed_consultation": done, "idea": idea, "positions": [p1, p2, p3],
            "nominations": states,
            "sent_before_upgrade": sent_before, "commands": d.counter, "digests": ran, "people": PEOPLE}


def smoke(url: str) -> dict[str, object]:
    """The old release's smoke commands, on a database it did not migrate (a replica during a rolling update)."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    d = Driver(url, clock, migrate=False)
    d.say("alice", "help")
    d.say("alice", 'community create rolling "Rolling update"', channel="C0ROLL")
    d.say("alice", "community link rolling", channel="C0ROLL")
    d.say("bob", "community join rolling")
    d.say("bob", "community list")
    d.say("carol", "profile skills go")
    d.say("carol", "whoknows go")
    d.say("malice", "community info ops")
    v = code("V", d.say("alice", 'consult open rolling "Old replica?" "yes" "no"'))
    d.say("bob", f"vote {v} 1")
    d.say("bob", f"consult results {v}")
    p = code("P", d.say("hr", 'position open "Rolling engineer" --site Lyon', direct=True))
    n = code("N", d.say("dave", f'nominate {p} {mention("judy")} "Judy knows rolling updates by heart."',
                        direct=True))
    d.say("judy", f"nomination consent {n} yes", direct=True)
    d.say("hr", f"nomination move {n} under_review", direct=True)
    d.say("hr", "nomination list", direct=True)
    c = code("C", d.say("comm", 'crisis declare "Rolling drill" --audience rolling'))
    d.say("comm", f'crisis announce {c} "Drill: please acknowledge."')
    d.say("bob", f"crisis ack {c}")
    d.say("comm", f"crisis status {c}")
    d.say("alice", "digest preview ops")
    sent = d.deliver()
    return {"version": bot.__file__, "commands": d.counter, "sent": sent, "crisis": c, "nomination": n,
            "consultation": v}


def main() -> int:
    mode, url = sys.argv[1], sys.argv[2]
    if not Path(bot.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()):
        print(f"refusing to run: bot is imported from {bot.__file__}, not from the release's venv", file=sys.stderr)
        return 2
    try:
        result = fill(url) if mode == "fill" else smoke(url)
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
