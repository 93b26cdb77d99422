"""Enterprise Grid: one person, one place across an organisation's workspaces.

In a Grid organisation a user id and a channel id are the same in every workspace of the organisation, so
Cercle keys accounts and channels by the organisation (`slack:E…:U…`) rather than by the workspace the
request came through: the same person acknowledges, votes and keeps a profile once, and a channel shared
between workspaces is one place (linked once, posted to once). What was kept under the workspace before
(`slack:T…:U…`, a channel row under `T…`) is handed to the core as `also_known_as`, which joins it on first
sight. Outside Grid nothing changes: requests carry no enterprise id and keys stay `T…`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_TEAMS = 20  # workspaces of one user taken from users.info (a person in more is joined as they come)


@dataclass(frozen=True)
class GridUser:
    """What users.info says of a user of a Grid organisation (`enterprise_user`)."""

    enterprise_id: str
    user_id: str  # the Grid user id, the same in every workspace of the organisation
    teams: tuple[str, ...] = ()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def enterprise_of(body: Mapping[str, Any]) -> str:
    """The organisation a request comes from, or "" outside Grid. Slash commands and events carry
    `enterprise_id`, events `authorizations[].enterprise_id`, interactivity `enterprise.id` (or
    `team.enterprise_id`, `user.enterprise_id`); `function_executed` events like any event."""
    direct = _text(body.get("enterprise_id"))
    if direct:
        return direct
    for authorization in body.get("authorizations") or ():
        if isinstance(authorization, Mapping) and _text(authorization.get("enterprise_id")):
            return _text(authorization.get("enterprise_id"))
    enterprise = body.get("enterprise")
    if isinstance(enterprise, Mapping) and _text(enterprise.get("id")):
        return _text(enterprise.get("id"))
    if isinstance(enterprise, str) and enterprise.strip():
        return enterprise.strip()
    for key in ("team", "user"):
        part = body.get(key)
        if isinstance(part, Mapping) and _text(part.get("enterprise_id")):
            return _text(part.get("enterprise_id"))
    return ""


def grid_user(user: Mapping[str, Any]) -> GridUser | None:
    """The `enterprise_user` part of a users.info answer, or None for a user outside Grid."""
    raw = user.get("enterprise_user")
    if not isinstance(raw, Mapping):
        return None
    enterprise = _text(raw.get("enterprise_id"))
    if not enterprise:
        return None
    grid_id = _text(raw.get("id")) or _text(user.get("id"))
    teams = tuple(t for t in (raw.get("teams") or ()) if isinstance(t, str) and t)[:MAX_TEAMS]
    return GridUser(enterprise, grid_id, teams)


def aliases(local_user_id: str, teams: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The (workspace, user id) keys the same person had before Grid keying, one per workspace."""
    seen: dict[tuple[str, str], None] = {}
    for team in teams:
        if team and local_user_id:
            seen[(team, local_user_id)] = None
    return tuple(seen)


@dataclass(frozen=True)
class Keys:
    """How one request's person and place are keyed: by the organisation in Grid, with the workspace keys
    the same person and channel may have had before (`also_known_as` of the core's Actor and Place)."""

    enterprise: str
    user_id: str
    account_aliases: tuple[tuple[str, str], ...] = ()
    channel_aliases: tuple[str, ...] = ()


def keys(team: str, enterprise: str, user_id: str, grid: GridUser | None) -> Keys:
    """The keys of a request from `team` (and `enterprise`, "" outside Grid) by `user_id`, whose users.info
    said `grid`. A payload without its organisation is keyed by the one users.info names. The aliases are the
    workspaces the person belongs to (users.info's `teams`) and the one the request came through: a channel
    known under one of them before is the same channel (channel ids are unique in the organisation)."""
    enterprise = enterprise or (grid.enterprise_id if grid else "")
    if not enterprise:
        return Keys("", user_id)
    same = grid is not None and grid.enterprise_id == enterprise
    teams = tuple(dict.fromkeys(t for t in (team, *(grid.teams if grid and same else ())) if t))
    return Keys(enterprise, grid.user_id if grid and same else user_id, aliases(user_id, teams), teams)
