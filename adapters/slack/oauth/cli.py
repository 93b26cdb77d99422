"""`cercle workspace forget T123`: after a Slack workspace uninstalled Cercle, delete what Cercle holds
of it (optionally exporting it first as JSON). Refused while the workspace is still installed, unless
`--force`. The core deletes the accounts, persons, channels, outbox rows and processed events
(`Core.forget_workspace`); this command adds the installation row, tokens included."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import delete
from sqlmodel import Session, col, select

from adapters.slack.platform import NAME
from storage.tables.slack_oauth import SlackInstallation, SlackTeam

if TYPE_CHECKING:
    from bot.capability import CommandLine

_TEAM = re.compile(r"^[TE][A-Z0-9]{2,}$")


def _installation(row: SlackInstallation) -> dict[str, Any]:
    """The installation without its tokens (they are secrets, and useless once revoked)."""
    return {"team_id": row.team_id, "team_name": row.team_name, "enterprise_id": row.enterprise_id,
            "is_enterprise_install": row.is_enterprise_install, "bot_user_id": row.bot_user_id,
            "scopes": row.bot_scopes, "installer_user_id": row.installer_user_id,
            "installed_at": row.installed_at.isoformat(),
            "uninstalled_at": row.uninstalled_at.isoformat() if row.uninstalled_at else None,
            "uninstall_reason": row.uninstall_reason}


def register(group: click.Group) -> None:
    @group.group("workspace")
    def workspace() -> None:
        """Slack workspaces Cercle was installed in."""

    @workspace.command("forget")
    @click.argument("team_id")
    @click.option("--export", "export_to", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                  help="First write what Cercle holds of the workspace to this file (JSON).")
    @click.option("--force", is_flag=True, help="Forget it even though it is still installed.")
    @click.pass_obj
    def forget(cli: CommandLine, team_id: str, export_to: Path | None, force: bool) -> None:
        """Delete what Cercle holds of an uninstalled Slack workspace (TEAM_ID like T0123ABCD, or E… for a
        Grid organisation: its people and channels, and its org-wide installation)."""
        if not _TEAM.match(team_id):
            raise click.BadParameter(f"'{team_id}' is not a Slack workspace id like T0123ABCD", param_hint="TEAM_ID")
        app = cli.application()
        own = (col(SlackInstallation.enterprise_id) == team_id) & (col(SlackInstallation.team_id) == "") \
            if team_id.startswith("E") else col(SlackInstallation.team_id) == team_id  # E…: a Grid organisation
        with Session(app.engine) as session:
            rows = list(session.exec(select(SlackInstallation).where(own)))
            grid = session.get(SlackTeam, team_id)
            org_wide = session.exec(select(SlackInstallation).where(  # its organisation's install serves it too
                SlackInstallation.enterprise_id == (grid.enterprise_id if grid else "-"),
                SlackInstallation.team_id == "", col(SlackInstallation.uninstalled_at).is_(None))).first()
        if (org_wide is not None or any(r.uninstalled_at is None for r in rows)) and not force:
            click.echo(f"cercle: workspace {team_id} is still installed; uninstall Cercle there first "
                       "(or add --force)", err=True)
            sys.exit(1)
        held = app.core.workspace_holdings(NAME, team_id)
        if not rows and not held["accounts"] and not held["channels"] and not held["outbox"] \
                and not held["processed_events"]:
            click.echo(f"cercle: nothing is known of workspace {team_id}", err=True)
            sys.exit(1)
        if export_to is not None:
            held["installations"] = [_installation(r) for r in rows]
            try:
                export_to.write_text(json.dumps(held, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            except OSError as exc:
                click.echo(f"cercle: cannot write {export_to}: {exc.strerror}; nothing was deleted", err=True)
                sys.exit(1)
        counts = app.core.forget_workspace(NAME, team_id)
        with Session(app.engine) as session, session.begin():
            session.execute(delete(SlackInstallation).where(own))
            session.execute(delete(SlackTeam).where((col(SlackTeam.team_id) == team_id)
                                                    | (col(SlackTeam.enterprise_id) == team_id)))
        click.echo(f"workspace {team_id} forgotten: {counts['accounts']} account(s), {counts['persons_deleted']} "
                   f"person(s) deleted, {counts['persons_kept']} kept (accounts elsewhere), {counts['channels']} "
                   f"channel(s), {counts['outbox']} outbox row(s), {counts['processed_events']} processed "
                   f"event(s), {len(rows)} installation(s)"
                   + (f"; exported to {export_to}" if export_to else ""))
