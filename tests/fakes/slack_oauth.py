"""Slack's side of the OAuth install, for the fake Web API (`tests/fakes/slack_api.py`): `oauth.v2.access`
with both grant types (an authorization code, once; a refresh token), the workspace each issued token
belongs to (`auth.test` answers per token), and tokens that expire or are revoked (an uninstall).

    code = fake.oauth.authorize("T1", "Acme")          # what Slack hands the browser after "Allow"
    fake.oauth.revoke("T1")                             # the workspace uninstalled the app
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "fake-client-secret-0123456789abcdef"


@dataclass
class Workspace:
    team_id: str
    name: str
    enterprise_id: str | None = None
    rotation: bool = False  # token_rotation_enabled: tokens expire and come with a refresh token
    expires_in: int = 43200  # seconds a rotated token lives (Slack: 12 hours)
    installer: str = "UINSTALLER"
    org_wide: bool = False  # an Enterprise Grid org-wide install: `team_id` is then the organisation's id

    @property
    def bot_user_id(self) -> str:
        return f"UBOT{self.team_id}"

    @property
    def bot_id(self) -> str:
        return f"BBOT{self.team_id}"


@dataclass
class Issued:
    workspace: Workspace
    expires_at: float | None


@dataclass
class SlackOAuth:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    codes: dict[str, Workspace] = field(default_factory=dict)
    tokens: dict[str, Issued] = field(default_factory=dict)
    refresh_tokens: dict[str, Workspace] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)  # tokens (access and refresh) an uninstall revoked
    _serial: Any = field(default_factory=lambda: itertools.count(1))

    def authorize(self, team_id: str, name: str, **options: Any) -> str:
        """A person allowed the install in `team_id`: the one-time code Slack puts in the redirect."""
        workspace = self.workspaces.setdefault(team_id, Workspace(team_id, name, **options))
        code = f"code-{team_id}-{next(self._serial)}"
        self.codes[code] = workspace
        return code

    def revoke(self, team_id: str) -> None:
        """The app was uninstalled: every token issued to the workspace so far stops working."""
        self.revoked.update(self.bot_tokens(team_id))
        self.revoked.update(r for r, w in self.refresh_tokens.items() if w.team_id == team_id)

    def expire(self, token: str, *, in_seconds: float = 0) -> None:
        self.tokens[token].expires_at = time.time() + in_seconds

    def bot_tokens(self, team_id: str) -> list[str]:
        return [t for t, issued in self.tokens.items() if issued.workspace.team_id == team_id]

    def _issue(self, workspace: Workspace) -> dict[str, Any]:
        token = f"xoxb-{workspace.team_id}-{next(self._serial)}"
        expires = time.time() + workspace.expires_in if workspace.rotation else None
        self.tokens[token] = Issued(workspace, expires)
        answer: dict[str, Any] = {"access_token": token, "token_type": "bot"}
        if workspace.rotation:
            refresh = f"xoxe-1-{workspace.team_id}-{next(self._serial)}"
            self.refresh_tokens[refresh] = workspace
            answer.update(refresh_token=refresh, expires_in=workspace.expires_in)
        return answer

    def access(self, params: dict[str, Any]) -> dict[str, Any]:
        """`oauth.v2.access`: a code (once) or a refresh token, with the app's client id and secret."""
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return {"ok": False, "error": "invalid_client_id" if params.get("client_id") != self.client_id
                    else "bad_client_secret"}
        if params.get("grant_type") == "refresh_token":
            refresh = str(params.get("refresh_token") or "")
            workspace = self.refresh_tokens.get(refresh)
            if workspace is None or refresh in self.revoked:
                return {"ok": False, "error": "invalid_refresh_token"}
            return {"ok": True, "app_id": "ACERCLE", "team": {"id": workspace.team_id, "name": workspace.name},
                    **self._issue(workspace)}
        workspace = self.codes.pop(str(params.get("code") or ""), None)
        if workspace is None:
            return {"ok": False, "error": "invalid_code"}
        enterprise = {"id": workspace.enterprise_id, "name": "Grid"} if workspace.enterprise_id else None
        team = None if workspace.org_wide else {"id": workspace.team_id, "name": workspace.name}
        return {"ok": True, "app_id": "ACERCLE", "authed_user": {"id": workspace.installer},
                "scope": str(params.get("scope") or "commands,chat:write"), "bot_user_id": workspace.bot_user_id,
                "team": team, "enterprise": enterprise, "is_enterprise_install": workspace.org_wide,
                **self._issue(workspace)}

    def refusal(self, token: str) -> str | None:
        """Why Slack refuses a token it issued (None: it works, or it is not an OAuth token)."""
        issued = self.tokens.get(token)
        if issued is None:
            return None
        if token in self.revoked:
            return "token_revoked"
        if issued.expires_at is not None and issued.expires_at < time.time():
            return "token_expired"
        return None

    def auth_test(self, token: str) -> dict[str, Any] | None:
        issued = self.tokens.get(token)
        if issued is None:
            return None
        w = issued.workspace
        return {"ok": True, "url": f"https://{w.team_id.lower()}.slack.com/", "team": w.name, "user": "cercle",
                "team_id": None if w.org_wide else w.team_id, "user_id": w.bot_user_id, "bot_id": w.bot_id,
                "enterprise_id": w.enterprise_id, "is_enterprise_install": w.org_wide}


def basic_auth(header: str) -> dict[str, str]:
    """The client id and secret slack_sdk sends to `oauth.v2.access` as HTTP Basic authentication."""
    import base64

    if not header.startswith("Basic "):
        return {}
    client_id, _sep, secret = base64.b64decode(header[6:]).decode().partition(":")
    return {"client_id": client_id, "client_secret": secret}
