"""Keeping an anonymous request apart from everything that names a person (issue #12).

A database reader must not tell who asked an anonymous question or what a secret voter chose by looking
at times, ids or transaction numbers. So for a request its command declares anonymous
(`Capability.anonymous`) the router:

- updates nothing about the caller (no `last_seen_at`) and writes no `ProcessedEvent`: the event is made
  once-only by the `AnonymousRecord` the command writes, whose id is a keyed digest of the event key (no
  sequence, nothing to guess the text or the person from) and whose time is to the hour;
- commits what identifying the caller wrote (a first contact, a changed name) in a transaction of its own,
  before the anonymous write, so that no transaction holds both;
- never queues the reply (`Reply.traceable=False`, errors included): it is shown at once or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import Session

from storage.tables import AnonymousRecord

_UNKEYED = b"cercle anonymous event v1"


def to_the_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def record_id(event_key: str | None, secret_keys: tuple[str, ...]) -> str:
    """The id of the record of an anonymous event: an HMAC of the platform's event key (with
    CERCLE_SECRET_KEY when it is set), or random when the event has no key."""
    if not event_key:
        return secrets.token_hex(20)
    key = secret_keys[0].encode() if secret_keys else _UNKEYED
    return hmac.new(key, event_key.encode(), hashlib.sha256).hexdigest()[:40]


def seen(session: Session, event_key: str, secret_keys: tuple[str, ...]) -> bool:
    """Whether this anonymous event was handled already (a retry or a replay)."""
    return any(session.get(AnonymousRecord, record_id(event_key, keys)) is not None
               for keys in _key_choices(secret_keys))


def _key_choices(secret_keys: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The newest key, then older ones (a rotation must not make a replay look new)."""
    return [(k,) for k in secret_keys] or [()]


def record(session: Session, record_key: str, action: str, subject: str, now: datetime) -> None:
    """Audit an anonymous change: no actor, the hour only, an id without order."""
    session.add(AnonymousRecord(id=record_key, at=to_the_hour(now), action=action, subject=subject[:64]))
