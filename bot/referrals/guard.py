"""Who may still receive a referral message, asked by the delivery worker just before it sends one.

A referral message is addressed when it is written; this is the second look, at delivery
(`bot.outbox.guard`): a message about a nomination goes only to someone who may still see it, by the same
rules as `service.viewer`, and the nomination must still exist with its content (not purged by the
retention job). Each message says, in its outbox subject, whom it was written for:

- `nomination:N:consent`, `nomination:N:consent-reminder` — the consent request: to the nominee, while
  the nomination goes on or once they have consented (one withdrawn, lapsed or declined before it went
  out is never revealed);
- `nomination:N:hr` — to HR: the recipient holds hr now and is not the nominee;
  `nomination:N:hr-named` names the nominee, so their consent must also still stand;
- `nomination:N` — to the people behind it or the nominee: they may still see it; a nominee who never
  answered hears that it ended (withdrawn, lapsed) only if the consent request did reach them;
- `referrals:hr-digest` — to a person holding hr now; `referrals:hr-needed` — to an administrator now.

A subject of these prefixes that is none of the above is refused: a message nobody can vouch for stays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, col, select

from bot import permissions
from bot.outbox.guard import Addressed
from bot.permissions import Role
from bot.referrals import service
from bot.referrals.retention import REDACTED
from bot.settings import Settings
from storage.tables import Nomination, NominationSupporter, OutboxMessage

PARTIES, CONSENT, CONSENT_REMINDER, HR, HR_NAMED = "", "consent", "consent-reminder", "hr", "hr-named"
KINDS = frozenset({PARTIES, CONSENT, CONSENT_REMINDER, HR, HR_NAMED})
HR_DIGEST, HR_NEEDED = "referrals:hr-digest", "referrals:hr-needed"
# What the capability declares (`Capability.delivery_guards`).
PREFIXES = ("nomination:", "referrals:")


def subject(nomination_id: int | None, kind: str = PARTIES) -> str:
    """The outbox subject of a message about a nomination, for `kind` of recipient (see the module)."""
    assert kind in KINDS
    return f"nomination:{nomination_id}" + (f":{kind}" if kind else "")


def _parse(text: str) -> tuple[int, str] | None:
    """(nomination id, kind) of a nomination subject; None when it is not one."""
    head, _sep, rest = text.removeprefix("nomination:").partition(":")
    if not text.startswith("nomination:") or not head.isdigit() or rest not in KINDS:
        return None
    return int(head), rest


def may_receive(session: Session, settings: Settings, rows: Sequence[Addressed]) -> set[int]:
    """The ids of `rows` whose recipient may no longer receive them; a few queries for the whole batch."""
    parsed = {r.id: _parse(r.subject) for r in rows}
    ids = sorted({p[0] for p in parsed.values() if p is not None})
    nominations: dict[int, Nomination] = {}
    backers: dict[int, set[int]] = defaultdict(set)
    unasked: set[int] = set()  # nominations whose consent request has not reached the nominee
    if ids:
        nominations = {n.id or 0: n for n in session.exec(select(Nomination).where(col(Nomination.id).in_(ids)))}
        for nomination_id, person_id in session.exec(select(NominationSupporter.nomination_id,
                                                            NominationSupporter.supporter_id)
                                                     .where(col(NominationSupporter.nomination_id).in_(ids))):
            backers[nomination_id].add(person_id)
        asks = {subject(i, CONSENT): i for i in ids}
        unasked = {asks[s] for s, status in session.exec(select(OutboxMessage.subject, OutboxMessage.status)
                                                         .where(col(OutboxMessage.subject).in_(list(asks))))
                   if status != "sent"}
    hr = set(permissions.people_with_role(session, Role.HR))
    admins = set(permissions.admin_ids(session, settings)) if any(r.subject == HR_NEEDED for r in rows) else set()
    refused = set()
    for row in rows:
        person, found = row.person_id, parsed[row.id]
        if person is None:
            ok = False  # the recipient was erased
        elif found is None:
            ok = (row.subject == HR_DIGEST and person in hr) or (row.subject == HR_NEEDED and person in admins)
        else:
            nomination = nominations.get(found[0])
            ok = nomination is not None and nomination.argument != REDACTED and _entitled(
                nomination, found[1], person, backers[found[0]], hr, found[0] in unasked)
        if not ok:
            refused.add(row.id)
    return refused


def _entitled(nomination: Nomination, kind: str, person: int, backers: set[int], hr: set[int],
              unasked: bool) -> bool:
    """May `person` still receive a message of `kind` about `nomination` (the `service.viewer` rules)?"""
    nominee = person == nomination.nominee_id
    as_hr = person in hr and not nominee
    if kind in (CONSENT, CONSENT_REMINDER):
        # Once they said yes, the request is theirs to read, however late; else only while it goes on.
        return nominee and (nomination.state not in service.FINAL or service.hr_may_identify(nomination))
    if kind == HR:
        return as_hr
    if kind == HR_NAMED:
        return as_hr and service.hr_may_identify(nomination)
    behind = person == nomination.nominator_id or person in backers
    # A nominee who never answered learns of an end (withdrawn, lapsed) only if they were asked at all.
    untold = unasked and nomination.consented_at is None and nomination.state in (service.WITHDRAWN, service.LAPSED)
    return behind or as_hr or (nominee and nomination.state != service.SUBMITTED and not untold)
