"""Forgetting a workspace that left (an uninstalled chat workspace): what Cercle holds of it, then
deleting it.

Its accounts go; a person who had no account elsewhere goes with everything that is theirs (every row
pointing at the person that cannot exist without them: skills, roles, memberships, votes, nominations
about or by them…), and is blanked where a row outlives them (an audit entry, a community they
created, a question they asked: the column pointing at them becomes empty). A person who also has an
account on another workspace or platform keeps the rest. The workspace's channels (and their links to
communities and crises), outbox rows and processed-event keys go too. Audit rows stay, without
identities, and one more records the counts. The walk over the tables is generic, as `merge_persons`'s
is, so a capability's new table is covered without a change here.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Table, delete, func, update
from sqlalchemy import select as select_column
from sqlmodel import Session, SQLModel, col, select

from bot.identity import display_name
from storage.db import affected, table_of
from storage.tables import Account, AuditEntry, Channel, OutboxMessage, Person, ProcessedEvent


def _referring(table_name: str) -> list[tuple[Table, Column[Any]]]:
    """Every (table, column) whose foreign key points at `table_name`."""
    return [(table, column) for table in SQLModel.metadata.sorted_tables for column in table.columns
            if any(fk.column.table.name == table_name for fk in column.foreign_keys)]


def _delete_rows(session: Session, table: Table, where: Any) -> int:
    """Delete the rows of `table` matching `where`, first emptying or deleting the rows that point at them."""
    primary = list(table.primary_key.columns)
    if len(primary) == 1:
        ids = select_column(primary[0]).where(where).scalar_subquery()
        for child, column in _referring(table.name):
            if child is table:
                continue
            if column.nullable:
                session.execute(update(child).where(column.in_(ids)).values({column.name: None}))
            else:
                _delete_rows(session, child, column.in_(ids))
    return affected(session, delete(table).where(where))


def erase_person(session: Session, person_id: int) -> None:
    """Delete a person and what cannot outlive them; blank them where a row stays."""
    people = table_of(Person)
    _delete_rows(session, people, people.c.id == person_id)


def holdings(session: Session, platform: str, workspace: str) -> dict[str, Any]:
    """What Cercle holds of a workspace (the export written before forgetting it)."""
    accounts = list(session.exec(select(Account).where(col(Account.platform) == platform,
                                                       col(Account.workspace) == workspace)))
    people = []
    for account in accounts:
        person = session.get(Person, account.person_id)
        assert person is not None
        others = session.exec(select(func.count()).select_from(Account).where(
            col(Account.person_id) == account.person_id, col(Account.id) != account.id)).one()
        people.append({"user_id": account.user_id, "display_name": account.display_name,
                       "person": {"id": account.person_id, "name": display_name(session, account.person_id),
                                  "site": person.site, "locale": person.locale, "timezone": person.timezone},
                       "other_accounts": int(others)})
    channels = [{"channel_id": c.channel_id, "name": c.name, "direct": c.direct} for c in session.exec(
        select(Channel).where(col(Channel.platform) == platform, col(Channel.workspace) == workspace))]
    outbox = dict(session.exec(select(OutboxMessage.status, func.count()).where(
        col(OutboxMessage.platform) == platform, col(OutboxMessage.workspace) == workspace)
        .group_by(OutboxMessage.status)).all())
    events = session.exec(select(func.count()).select_from(ProcessedEvent).where(
        col(ProcessedEvent.key).startswith(f"{platform}:{workspace}:"))).one()
    return {"platform": platform, "workspace": workspace, "accounts": people, "channels": channels,
            "outbox": {str(k): int(v) for k, v in outbox.items()}, "processed_events": int(events)}


def forget(session: Session, platform: str, workspace: str) -> dict[str, int]:
    """Delete what Cercle holds of a workspace (see the module's docstring); the counts."""
    counts = {"accounts": 0, "persons_deleted": 0, "persons_kept": 0, "channels": 0, "outbox": 0,
              "processed_events": 0}
    accounts = list(session.exec(select(Account).where(col(Account.platform) == platform,
                                                       col(Account.workspace) == workspace)))
    accounts_table = table_of(Account)
    for account in accounts:
        person_id, account_id = account.person_id, account.id
        assert account_id is not None
        _delete_rows(session, accounts_table, accounts_table.c.id == account_id)
        counts["accounts"] += 1
        if session.exec(select(func.count()).select_from(Account)
                        .where(col(Account.person_id) == person_id)).one():
            counts["persons_kept"] += 1
        else:
            erase_person(session, person_id)
            counts["persons_deleted"] += 1
    channel_table = table_of(Channel)
    counts["channels"] = _delete_rows(session, channel_table, (channel_table.c.platform == platform)
                                      & (channel_table.c.workspace == workspace))
    outbox = table_of(OutboxMessage)
    counts["outbox"] = _delete_rows(session, outbox, (outbox.c.platform == platform)
                                    & (outbox.c.workspace == workspace))  # and their edits (`outboxedit`)
    counts["processed_events"] = affected(session, delete(ProcessedEvent).where(
        col(ProcessedEvent.key).startswith(f"{platform}:{workspace}:")))
    session.add(AuditEntry(action="workspace.forget", subject=f"{platform}:{workspace}"[:64],
                           details=json.dumps(counts)))
    session.expire_all()
    return counts
