"""The OAuth install ("Add to Slack") on Cercle's HTTP listener, and what an uninstall does.

- `GET /slack/install` redirects the browser to Slack's authorize page with a fresh `state` (kept in the
  database, single use, 10 minutes) and the same value in a cookie (Bolt checks both come back).
- `GET /slack/oauth_redirect?code=…&state=…`: Bolt's `AsyncOAuthFlow` checks the state, exchanges the code
  with `oauth.v2.access`, and saves the installation (tokens sealed) through `InstallationStore`. A forged,
  replayed or expired state, a cancelled install or a refused code stores nothing and gets a page that says
  what happened and what to do.
- `app_uninstalled`, `tokens_revoked` (the bot's): the installation is marked gone, the workspace's pending
  deliveries end ("workspace uninstalled"), and its requests are refused until it is installed again.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from adapters.slack.oauth.store import STATE_SECONDS, InstallationStore, StateStore
from adapters.slack.oauth.tokens import (
    ROTATE_BEFORE_MINUTES,
    UNINSTALLED,
    Tokens,
    WorkspaceClient,
    WorkspaceSender,
    use_request_token,
)
from adapters.slack.platform import NAME, SlackSettings
from bot.core import Core
from bot.http import HttpServer
from bot.i18n import _, use_locale
from bot.secret_box import SecretUnreadable, secret_box
from storage.tables.slack_oauth import SlackInstallation

log = logging.getLogger(__name__)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def api_client(api_url: str, token: str | None = None, *, cls: type[AsyncWebClient] = AsyncWebClient,
               session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """A Web API client like the adapter's (a few retries on connection errors and 5xx, never on 429)."""
    return cls(token=token, base_url=api_url, timeout=10, session=session,
               retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2),
                               AsyncServerErrorRetryHandler(max_retry_count=2)])


@dataclass
class OAuthInstall:
    """What the adapter uses in OAuth mode: the Bolt app, its shared client, the outbox sender."""

    core: Core
    settings: SlackSettings
    store: InstallationStore
    bolt: AsyncApp
    client: AsyncWebClient
    sender: WorkspaceSender
    grid_teams: set[tuple[str, str]] = field(default_factory=set)  # (team, enterprise) already noted

    @classmethod
    def build(cls, core: Core, settings: SlackSettings) -> OAuthInstall:
        assert settings.client_id and settings.client_secret
        box = secret_box(core.settings.secret_keys, "Slack workspace tokens")
        store = InstallationStore(core.engine, box, settings.client_id)
        client = api_client(settings.api_url, cls=WorkspaceClient)
        oauth = AsyncOAuthSettings(
            client_id=settings.client_id, client_secret=settings.client_secret, scopes=list(settings.scopes),
            user_scopes=[], redirect_uri=settings.redirect_uri, install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH, install_page_rendering_enabled=False,
            installation_store=store, installation_store_bot_only=True,
            state_store=StateStore(core.engine, now=core.clock.now),
            state_expiration_seconds=STATE_SECONDS, token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
            callback_options=AsyncCallbackOptions(success=_success(core, settings.command), failure=_failure(core)))
        # Bolt's `authorize=` takes a plain function, which it refuses next to OAuth settings: an `AsyncAuthorize`
        # goes in the settings (`AsyncOAuthSettings.authorize`), which the app then uses. Ours shares the
        # app's client; no user scopes are asked: one lookup (`find_bot`) per request.
        oauth.authorize = AsyncInstallationStoreAuthorize(
            logger=logging.getLogger("slack_bolt.cercle"), installation_store=store, client_id=settings.client_id,
            client_secret=settings.client_secret, token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
            client=client, bot_only=True)
        with use_locale(core.settings.locale):
            refused = _("Cercle is not installed in this workspace (or it was uninstalled): ask an "
                        "administrator to install it again.")
        bolt = AsyncApp(client=client, signing_secret=settings.signing_secret or "", oauth_settings=oauth,
                        request_verification_enabled=not settings.socket_mode,
                        user_facing_authorize_error_message=refused,
                        logger=logging.getLogger("slack_bolt.cercle"))
        rotator = AsyncTokenRotator(client_id=settings.client_id, client_secret=settings.client_secret,
                                    client=client)
        sender = WorkspaceSender(Tokens(store, rotator),  # on the adapter's connections, shared once it starts
                                 lambda token: api_client(settings.api_url, token, session=client.session))
        install = cls(core, settings, store, bolt, client, sender)
        bolt.use(install.on_request)
        bolt.event("app_uninstalled")(install.on_uninstalled)
        bolt.event("tokens_revoked")(install.on_tokens_revoked)
        return install

    def serve(self, http: HttpServer) -> None:
        http.app.router.add_get(INSTALL_PATH, self.on_install)
        http.app.router.add_get(REDIRECT_PATH, self.on_redirect)

    async def on_request(self, context: Any, next: Callable[[], Awaitable[Any]]) -> Any:
        """Bolt middleware, after its authorize: the request's token for the shared client, and which Grid
        organisation the request's workspace belongs to (its outbox rows then find an org-wide install)."""
        use_request_token(context.get("bot_token") or context.get("token"))
        enterprise, team = context.get("enterprise_id"), context.get("team_id")
        if enterprise and team and (team, enterprise) not in self.grid_teams:
            await asyncio.to_thread(self.store.remember_team, team, enterprise)
            self.grid_teams.add((team, enterprise))
        return await next()

    @property
    def flow(self) -> AsyncOAuthFlow:
        flow = self.bolt.oauth_flow
        assert flow is not None
        return flow

    async def on_install(self, request: web.Request) -> web.Response:
        use_request_token(None)  # a keep-alive connection may have carried a workspace's request before
        return await to_aiohttp_response(await self.flow.handle_installation(await to_bolt_request(request)))

    async def on_redirect(self, request: web.Request) -> web.Response:
        use_request_token(None)  # `oauth.v2.access` authenticates with the client id and secret only
        return await to_aiohttp_response(await self.flow.handle_callback(await to_bolt_request(request)))

    # -- uninstall ----------------------------------------------------------------------------------
    async def on_uninstalled(self, body: dict[str, Any]) -> None:
        await self._gone(body, "app_uninstalled")

    async def on_tokens_revoked(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        tokens = event.get("tokens") or {}
        if tokens.get("bot"):
            await self._gone(body, "tokens_revoked")
        if tokens.get("oauth"):
            await asyncio.to_thread(self.store.drop_user_token, str(body.get("team_id") or ""),
                                    [str(u) for u in tokens["oauth"]])

    async def _gone(self, body: dict[str, Any], reason: str) -> None:
        org_wide = bool(body.get("is_enterprise_install")
                        or any(a.get("is_enterprise_install") for a in body.get("authorizations") or []))
        team = "" if org_wide else str(body.get("team_id") or "")
        enterprise = str(body.get("enterprise_id") or "")
        if await asyncio.to_thread(self.store.find, enterprise, team, org_wide, fallback=False) is None:
            return  # not installed (a repeated event, or another app's)
        # Deliveries first: once the row is marked, everything about the uninstall is done. Rows of a Grid
        # are keyed by the organisation: they end when no installation of the organisation is left.
        ended = await asyncio.to_thread(self.core.end_deliveries, NAME, team, UNINSTALLED) if team else 0
        if enterprise and all(r.team_id == team for r in await asyncio.to_thread(self.store.active, enterprise)):
            ended += await asyncio.to_thread(self.core.end_deliveries, NAME, enterprise, UNINSTALLED)
        row = await asyncio.to_thread(self.store.mark_gone, enterprise, team, reason)
        log.info("slack: workspace %s %s: installation marked gone, %d pending deliveries ended",
                 team or body.get("enterprise_id"), reason, ended if row is not None else 0)

    # -- running -------------------------------------------------------------------------------------
    def installed(self) -> tuple[int, bool]:
        """How many installations are active, and whether the latest one's token opens with the key."""
        with Session(self.core.engine) as session:
            active = col(SlackInstallation.uninstalled_at).is_(None)
            count = int(session.exec(select(func.count()).select_from(SlackInstallation).where(active)).one())
            latest = session.exec(select(SlackInstallation).where(active)
                                  .order_by(col(SlackInstallation.updated_at).desc())).first()
        try:
            if latest is not None and latest.bot_token:
                self.store.box.open(latest.bot_token)
        except SecretUnreadable:
            return count, False
        return count, True

    async def health(self) -> tuple[bool, str]:
        count, readable = await asyncio.to_thread(self.installed)
        if not readable:
            return False, "oauth: workspace tokens do not open with CERCLE_SECRET_KEY"
        return True, f"oauth: {count} workspace(s) installed"


def _page(core: Core, status: int, title: str, text: str) -> BoltResponse:
    body = (f"<!DOCTYPE html><html lang=\"{core.settings.locale}\"><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
            f"</body></html>")
    return BoltResponse(status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def _success(core: Core, command: str) -> Any:
    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        where = installation.team_name or installation.enterprise_name or installation.team_id or ""
        log.info("slack: installed in %s", installation.team_id or installation.enterprise_id)
        with use_locale(core.settings.locale):
            return _page(core, 200, _("Cercle is installed"),
                         _("Cercle is installed in {workspace}. In Slack, type {command} help to begin.",
                           workspace=where, command=command))
    return success


def _failure(core: Core) -> Any:
    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("slack: an install was refused (%s)", args.reason)
        with use_locale(core.settings.locale):
            reasons = {
                "invalid_browser": _("This install link was not started in this browser, or it was already used."),
                "invalid_state": _("This install link is not valid: it expired, was already used, or was not "
                                   "issued by Cercle."),
                "missing_code": _("Slack did not send an authorization code."),
                "invalid_code": _("Slack refused the authorization code (it may have been used already)."),
                "access_denied": _("The install was cancelled in Slack."),
                "storage_error": _("The installation could not be saved; nothing was installed."),
            }
            text = reasons.get(args.reason, _("Slack reported an error: {reason}.", reason=args.reason[:100]))
            return _page(core, args.suggested_status_code, _("Cercle was not installed"),
                         text + " " + _("Start again from {path}.", path=INSTALL_PATH))
    return failure
