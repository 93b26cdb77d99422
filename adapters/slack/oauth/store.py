"""Bolt's installation and OAuth state stores over Cercle's database (SQLite or PostgreSQL).

Tokens are sealed with `CERCLE_SECRET_KEY` before they are written and opened when read. An installation
that was uninstalled (or whose bot token was revoked) is kept, marked, and no longer found: the workspace's
requests are refused and its deliveries end. Installing again brings the row back.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import UTC, datetime, timedelta
from logging import Logger
from typing import Any

from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.secret_box import SecretBox
from storage.db import affected
from storage.tables.slack_oauth import SlackInstallation, SlackOAuthState, SlackTeam

log = logging.getLogger(__name__)
STATE_SECONDS = 600  # an install link works this long, once


def _when(value: Any) -> datetime | None:
    """An expiry as Slack's SDK gives it (epoch seconds or a datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(value), UTC)


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


class InstallationStore(AsyncInstallationStore):
    """One row per workspace (or per Grid organisation for an org-wide install): its latest installation."""

    def __init__(self, engine: Engine, box: SecretBox, client_id: str) -> None:
        self.engine = engine
        self.box = box
        self.client_id = client_id
        self._logger = log

    @property
    def logger(self) -> Logger:
        return self._logger

    # -- Bolt's interface ---------------------------------------------------------------------------
    async def async_save(self, installation: Installation) -> None:
        await self._saved(installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await self._saved(bot)

    async def _saved(self, item: Installation | Bot) -> None:
        """Save, with a failure as Bolt's `BoltError` (its install flow then shows the failure page)."""
        try:
            await asyncio.to_thread(self.save, item)
        except SQLAlchemyError as exc:
            log.error("slack: could not save the installation of %s: %s", item.team_id or item.enterprise_id,
                      type(exc).__name__)
            raise BoltError("the installation could not be saved") from None

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        row = await asyncio.to_thread(self.find, enterprise_id, team_id, bool(is_enterprise_install))
        return self._bot(row) if row is not None else None

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        row = await asyncio.to_thread(self.find, enterprise_id, team_id, bool(is_enterprise_install))
        if row is None or (user_id is not None and row.installer_user_id != user_id):
            return None
        return self._installation(row)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.mark_gone, enterprise_id, team_id, "bot_deleted")

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        await asyncio.to_thread(self.mark_gone, enterprise_id, team_id, "installation_deleted")

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.mark_gone, enterprise_id, team_id, "installation_deleted")

    # -- rows ----------------------------------------------------------------------------------------
    def find(self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False,
             *, active: bool = True, fallback: bool = True) -> SlackInstallation | None:
        """The installation serving a workspace: its own, else (`fallback`) its Grid organisation's org-wide one."""
        with Session(self.engine) as session:
            keys = [(enterprise_id or "", "" if is_enterprise_install else team_id or "")]
            if enterprise_id and not is_enterprise_install and fallback:
                keys.append((enterprise_id, ""))
            for enterprise, team in keys:
                query = select(SlackInstallation).where(SlackInstallation.enterprise_id == enterprise,
                                                        SlackInstallation.team_id == team)
                if active:
                    query = query.where(col(SlackInstallation.uninstalled_at).is_(None))
                row = session.exec(query).first()
                if row is not None:
                    return row
        return None

    def find_team(self, team_id: str) -> SlackInstallation | None:
        """The active installation serving a workspace known by its id only (an outbox row's workspace): its
        own, else the org-wide one of its Grid organisation (an `E…` id names the organisation itself)."""
        with Session(self.engine) as session:
            row = session.exec(select(SlackInstallation).where(
                SlackInstallation.team_id == team_id, col(SlackInstallation.uninstalled_at).is_(None))).first()
            if row is not None:
                return row
            grid = team_id if team_id.startswith("E") else None
            if grid is None:
                team = session.get(SlackTeam, team_id)
                grid = team.enterprise_id if team is not None else None
            if not grid:
                return None
            # The organisation's org-wide install, else one of its workspaces' (rows keyed by the organisation:
            # people and channels of a Grid are one across its workspaces).
            return session.exec(select(SlackInstallation).where(
                SlackInstallation.enterprise_id == grid, col(SlackInstallation.uninstalled_at).is_(None))
                .order_by(col(SlackInstallation.is_enterprise_install).desc(),
                          col(SlackInstallation.updated_at).desc())).first()

    def active(self, enterprise_id: str) -> list[SlackInstallation]:
        """The active installations of a Grid organisation (org-wide and per workspace)."""
        with Session(self.engine) as session:
            return list(session.exec(select(SlackInstallation).where(
                SlackInstallation.enterprise_id == enterprise_id, col(SlackInstallation.uninstalled_at).is_(None))))

    def remember_team(self, team_id: str, enterprise_id: str) -> None:
        """Note that a workspace belongs to a Grid organisation (from one of its requests)."""
        try:
            with Session(self.engine) as session, session.begin():
                team = session.get(SlackTeam, team_id)
                if team is None:
                    session.add(SlackTeam(team_id=team_id, enterprise_id=enterprise_id))
                elif team.enterprise_id != enterprise_id:
                    team.enterprise_id = enterprise_id
                    session.add(team)
        except IntegrityError:  # another replica noted it at the same moment
            pass

    def save(self, installation: Installation | Bot) -> None:
        for attempt in range(3):  # two replicas saving a new workspace at once: the second one updates
            try:
                self._save(installation)
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    def _save(self, item: Installation | Bot) -> None:
        enterprise, team = item.enterprise_id or "", "" if item.is_enterprise_install else item.team_id or ""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            row = session.exec(select(SlackInstallation).where(
                SlackInstallation.enterprise_id == enterprise, SlackInstallation.team_id == team)
                .with_for_update()).first()
            if row is None:
                row = SlackInstallation(enterprise_id=enterprise, team_id=team, installed_at=now)
            elif row.uninstalled_at is not None:  # installed again
                row.installed_at, row.uninstalled_at, row.uninstall_reason = now, None, ""
            row.is_enterprise_install = bool(item.is_enterprise_install)
            row.app_id = item.app_id or row.app_id
            row.enterprise_name = item.enterprise_name or row.enterprise_name
            row.enterprise_url = getattr(item, "enterprise_url", None) or row.enterprise_url
            row.team_name = item.team_name or row.team_name
            row.bot_id = item.bot_id or row.bot_id
            row.bot_user_id = item.bot_user_id or row.bot_user_id
            row.bot_scopes = ",".join(item.bot_scopes or []) or row.bot_scopes
            if item.bot_token:
                row.bot_token = self.box.seal(item.bot_token)
                row.bot_refresh_token = self.box.seal(item.bot_refresh_token) if item.bot_refresh_token else None
                row.bot_token_expires_at = _when(item.bot_token_expires_at)
            if isinstance(item, Installation) and (item.user_token or item.user_id != row.installer_user_id):
                row.installer_user_id = item.user_id or ""
                row.user_scopes = ",".join(item.user_scopes or [])
                row.user_token = self.box.seal(item.user_token) if item.user_token else None
                row.user_refresh_token = self.box.seal(item.user_refresh_token) if item.user_refresh_token else None
                row.user_token_expires_at = _when(item.user_token_expires_at)
                row.token_type = item.token_type or row.token_type
            row.updated_at = now
            session.add(row)

    def mark_gone(self, enterprise_id: str | None, team_id: str | None, reason: str) -> SlackInstallation | None:
        """Mark a workspace's installation uninstalled (kept for `cercle workspace forget`); the row or None."""
        enterprise, team = enterprise_id or "", team_id or ""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            query = select(SlackInstallation).where(col(SlackInstallation.uninstalled_at).is_(None))
            query = (query.where(SlackInstallation.team_id == team) if team
                     else query.where(SlackInstallation.enterprise_id == enterprise, SlackInstallation.team_id == ""))
            row = session.exec(query.with_for_update()).first()
            if row is None:
                return None
            row.uninstalled_at, row.uninstall_reason = datetime.now(UTC), reason
            session.add(row)
            return row

    def drop_user_token(self, team_id: str, user_ids: list[str]) -> None:
        """Users revoked their own tokens: forget them, the bot stays."""
        with Session(self.engine) as session, session.begin():
            for row in session.exec(select(SlackInstallation).where(SlackInstallation.team_id == team_id,
                                                                    col(SlackInstallation.installer_user_id)
                                                                    .in_(user_ids))):
                row.user_token = row.user_refresh_token = None
                row.user_token_expires_at = None
                session.add(row)

    def _open(self, sealed: str | None) -> str | None:
        return self.box.open(sealed) if sealed else None

    def _installation(self, row: SlackInstallation) -> Installation:
        return Installation(
            app_id=row.app_id or None, enterprise_id=row.enterprise_id or None, enterprise_name=row.enterprise_name
            or None, enterprise_url=row.enterprise_url or None, team_id=row.team_id or None,
            team_name=row.team_name or None, bot_token=self._open(row.bot_token), bot_id=row.bot_id or None,
            bot_user_id=row.bot_user_id or None, bot_scopes=row.bot_scopes,
            bot_refresh_token=self._open(row.bot_refresh_token), bot_token_expires_at=_epoch(row.bot_token_expires_at),
            user_id=row.installer_user_id, user_token=self._open(row.user_token), user_scopes=row.user_scopes,
            user_refresh_token=self._open(row.user_refresh_token),
            user_token_expires_at=_epoch(row.user_token_expires_at), is_enterprise_install=row.is_enterprise_install,
            token_type=row.token_type or None, installed_at=row.installed_at.timestamp())

    def _bot(self, row: SlackInstallation) -> Bot:
        return Bot(app_id=row.app_id or None, enterprise_id=row.enterprise_id or None,
                   enterprise_name=row.enterprise_name or None, team_id=row.team_id or None,
                   team_name=row.team_name or None, bot_token=self._open(row.bot_token) or "",
                   bot_id=row.bot_id, bot_user_id=row.bot_user_id, bot_scopes=row.bot_scopes,
                   bot_refresh_token=self._open(row.bot_refresh_token),
                   bot_token_expires_at=_epoch(row.bot_token_expires_at),
                   is_enterprise_install=row.is_enterprise_install, installed_at=row.installed_at.timestamp())

    def installation(self, row: SlackInstallation) -> Installation:
        """A row as the SDK's `Installation` (tokens opened)."""
        return self._installation(row)


class StateStore(AsyncOAuthStateStore):
    """OAuth `state` values: random, kept in the database (any replica may get the redirect), consumed by
    one atomic delete, so a state works once and only before it expires."""

    def __init__(self, engine: Engine, *, now: Any = None, seconds: int = STATE_SECONDS) -> None:
        self.engine = engine
        self.seconds = seconds
        self.now = now or (lambda: datetime.now(UTC))
        self._logger = log

    @property
    def logger(self) -> Logger:
        return self._logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.consume, state)

    def issue(self) -> str:
        state = secrets.token_urlsafe(32)
        now = self.now()
        with Session(self.engine) as session, session.begin():
            session.execute(delete(SlackOAuthState).where(col(SlackOAuthState.expires_at) < now))
            session.add(SlackOAuthState(state=state, expires_at=now + timedelta(seconds=self.seconds)))
        return state

    def consume(self, state: str) -> bool:
        if not state or len(state) > 128:
            return False
        with Session(self.engine) as session, session.begin():
            return affected(session, delete(SlackOAuthState).where(col(SlackOAuthState.state) == state,
                                                                   col(SlackOAuthState.expires_at) > self.now())) == 1
