"""Live posts: messages that change in place (a consultation's tally, an idea's upvotes, an announcement's
acknowledgements, a position's state).

A capability marks a post with `Message.live = "<kind>:<id>"` and declares, per kind, a `LiveView`: a
function that says what the post looks like now (`Capability.live`). After a change it calls
`ctx.refresh(key)` (or `Outbox.refresh`): one row per key (`PostRefresh`) gets its version bumped, in the
transaction of the change, whatever the number of channels (an acknowledgement stays cheap).

The edit worker (`bot.outbox.edits`) then fans a due key out (`fan_out`): it renders the post once per
language, rewrites the body of copies not yet handed to the platform, and writes the latest content of each
posted copy into its `OutboxEdit` row (one per message: N changes make one update). A key is fanned out at
most once per `interval` (the first change waits `delay`, so a burst coalesces); a change during a fan-out
bumps the version again, so nothing is lost; the rows are durable, so a restart loses nothing either.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.i18n import use_locale
from bot.messages import Message
from bot.settings import Settings
from storage.db import is_postgres, session_scope, table_of
from storage.tables import Channel, OutboxEdit, OutboxMessage, PostRefresh
from storage.tables.base import UTCDateTime

# What a post looks like now, built in the reader's language when called; None: leave it as it is
# (an anonymous or hidden consultation never shows a tally before it closes).
LiveView = Callable[[Session, str, datetime], Callable[[], Message] | None]

DELAY = timedelta(seconds=2)  # a first change waits this long, so that a burst makes one update
INTERVAL = timedelta(seconds=5)  # at most one update of a post per this long
LEASE = timedelta(seconds=30)
CHUNK = 500


def kind_of(key: str) -> str:
    return key.split(":", 1)[0]


def refresh(session: Session, key: str, now: datetime, *, delay: timedelta = DELAY) -> None:
    """Bump the version of `key` in the caller's transaction (one short upsert, however many copies)."""
    table = table_of(PostRefresh)
    postgres = session.get_bind().dialect.name == "postgresql"
    maker = pg_insert if postgres else sqlite_insert
    soon = bindparam(None, now + delay, type_=UTCDateTime())
    later = (func.greatest if postgres else func.max)(table.c.due_at, soon, type_=UTCDateTime())
    statement = maker(table).values(key=key[:128], version=1, done_version=0, due_at=now + delay, updated_at=now)
    # A clean key (all shown) waits `delay` (and the rest of its interval); a dirty one keeps its due time.
    statement = statement.on_conflict_do_update(index_elements=["key"], set_={
        "version": table.c.version + 1, "updated_at": now,
        "due_at": case((table.c.version == table.c.done_version, later), else_=table.c.due_at)})
    session.execute(statement)


def claim_keys(engine: Engine, now: datetime, limit: int = 20) -> list[tuple[str, int]]:
    """Due dirty keys, leased for `LEASE` (a short transaction: acknowledgements never wait for a fan-out)."""
    with session_scope(engine) as session:
        query = select(PostRefresh).where(col(PostRefresh.version) > col(PostRefresh.done_version),
                                          col(PostRefresh.due_at) <= now,
                                          or_(col(PostRefresh.claimed_until).is_(None),
                                              col(PostRefresh.claimed_until) < now)
                                          ).order_by(col(PostRefresh.due_at)).limit(limit)
        if is_postgres(engine):
            query = query.with_for_update(skip_locked=True)
        out = []
        for row in session.exec(query):
            row.claimed_until = now + LEASE
            out.append((row.key, row.version))
        return out


def finish_key(engine: Engine, key: str, version: int, now: datetime, interval: timedelta) -> None:
    """The posts of `key` show `version`: the next change waits until `interval` has passed."""
    with session_scope(engine) as session:
        session.execute(update(PostRefresh).where(col(PostRefresh.key) == key).values(
            done_version=case((col(PostRefresh.done_version) < version, version), else_=col(PostRefresh.done_version)),
            due_at=now + interval, claimed_until=None))


def _locales(session: Session, posts: list[OutboxMessage]) -> dict[tuple[str, str, str], str | None]:
    ids = sorted({p.target_id for p in posts})
    found: dict[tuple[str, str, str], str | None] = {}
    for start in range(0, len(ids), CHUNK):
        for ch in session.exec(select(Channel).where(col(Channel.channel_id).in_(ids[start:start + CHUNK]))):
            found[(ch.platform, ch.workspace, ch.channel_id)] = ch.locale
    return found


def fan_out(engine: Engine, settings: Settings, views: Mapping[str, LiveView], key: str, now: datetime,
            editable: Collection[str]) -> int:
    """Write the current look of `key` into its posts: the body of copies not yet claimed by a worker, the
    edit row of every other copy on a platform that can edit (`editable`). Returns how many edits became due."""
    view = views.get(kind_of(key))
    with session_scope(engine) as session:
        build = view(session, key, now) if view is not None else None
        if build is None:
            return 0
        posts = list(session.exec(select(OutboxMessage).where(col(OutboxMessage.live_key) == key,
                                                              col(OutboxMessage.status) != "failed")))
        if not posts:
            return 0
        locales = _locales(session, posts)
        bodies: dict[str, str] = {}

        def body_for(post: OutboxMessage) -> str:
            locale = locales.get((post.platform, post.workspace, post.target_id)) or settings.locale
            if locale not in bodies:
                with use_locale(locale, zone=settings.timezone):
                    bodies[locale] = build().to_json()
            return bodies[locale]

        ids = [p.id or 0 for p in posts]
        edits = {e.original_id: e for start in range(0, len(ids), CHUNK) for e in session.exec(
            select(OutboxEdit).where(col(OutboxEdit.original_id).in_(ids[start:start + CHUNK])))}
        rewritten = _rewrite_unclaimed(session, [p for p in posts if p.id not in edits], body_for)
        new: list[dict[str, object]] = []
        changed_by_body: dict[str, list[int]] = {}
        for post in posts:
            if post.id in rewritten or post.platform not in editable:
                continue
            body = body_for(post)
            edit = edits.get(post.id or 0)
            if edit is None:
                new.append({"original_id": post.id, "platform": post.platform, "workspace": post.workspace,
                            "target_kind": post.target_kind, "target_id": post.target_id, "body": body,
                            "version": 1, "sent_version": 0, "due_at": now, "attempts": 0})
            elif edit.body != body:
                changed_by_body.setdefault(body, []).append(post.id or 0)
        if new:
            session.execute(insert(OutboxEdit), new)
        for body, changed in changed_by_body.items():  # one statement per language, not per post
            for start in range(0, len(changed), CHUNK):
                session.execute(update(OutboxEdit).where(col(OutboxEdit.original_id).in_(changed[start:start + CHUNK]))
                                .values(body=body, version=OutboxEdit.version + 1))
        return len(new) + sum(len(ids) for ids in changed_by_body.values())


def _rewrite_unclaimed(session: Session, posts: Iterable[OutboxMessage], body_for: Callable[[OutboxMessage], str],
                       ) -> set[int]:
    """Posts still waiting in the outbox (never claimed) simply go out with the new look: no edit needed.
    Returns the ids rewritten (a row a worker claimed meanwhile is not: it gets an edit)."""
    by_body: dict[str, list[int]] = {}
    for post in posts:
        if post.status == "pending" and post.claimed_until is None:
            by_body.setdefault(body_for(post), []).append(post.id or 0)
    done: set[int] = set()
    for body, ids in by_body.items():
        for start in range(0, len(ids), CHUNK):
            result = session.execute(update(OutboxMessage).where(
                and_(col(OutboxMessage.id).in_(ids[start:start + CHUNK]), col(OutboxMessage.status) == "pending",
                     col(OutboxMessage.claimed_until).is_(None))).values(body=body).returning(col(OutboxMessage.id)))
            done.update(int(row[0]) for row in result)
    return done
