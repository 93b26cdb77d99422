"""End to end through `cercle console` on a fresh database: a crisis as a communicator and staff live it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = """\
community create ops "Operations"
:in #ops
community link ops
:as bob
community join ops
:as admin
role grant @dave communicator
:as dave
crisis declare "Lyon site closure" --audience ops
crisis announce C1 "The Lyon site closes on Friday."
:as bob
crisis ack C1
:dm
crisis ask C1 "Is my job at risk?" --anonymous
:as dave
crisis questions C1
crisis answer Q1 "No: every job moves to Villeurbanne."
crisis status C1
crisis close C1
crisis announce C1 "Too late."
"""


def test_crisis_through_the_console(tmp_path: Path) -> None:
    env = {**os.environ, "CERCLE_DATABASE_URL": f"sqlite:///{tmp_path}/cercle.db", "CERCLE_ADMINS": "console:admin"}
    env.pop("SLACK_BOT_TOKEN", None)
    env.pop("MATRIX_HOMESERVER", None)
    done = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--user", "admin"], input=SCRIPT, text=True,
                          capture_output=True, env=env, timeout=120, cwd=Path(__file__).resolve().parents[2])
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "will reach 2 people in 1 channel on the console" in out
    announcement = out[out.index("[#ops]"):]
    assert "Crisis C1: Lyon site closure" in announcement and "The Lyon site closes on Friday." in announcement
    assert "[Acknowledge] → crisis ack C1" in announcement
    assert "your acknowledgement of C1 is recorded" in out
    assert "Your anonymous question Q1" in out
    assert "Q1 [to answer] (anonymous): Is my job at risk?" in out
    assert re.search(r"\[#ops\][^\n]*\n?.*Question Q1 about C1", out, re.S)
    assert "Acknowledged by 1 of 2 (50%)" in out
    assert "is closed by dave" in out
    assert "The crisis C1 is closed: it is read-only." in out
    assert "[dm @bob]" not in out  # an anonymous asker gets no message that would point at them
    assert "Traceback" not in out + done.stderr
