"""A whole nomination played through `cercle console` on a SQLite file: nothing about it reaches a
shared channel, everyone involved hears about each step in private, and HR can export the queue."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from tests.e2e.test_console import run_cercle

WHY = "Bob ran the Kafka migration in Nantes and mentors the whole team."
NOTE = "Strong profile, salary band C"

SCRIPT = f"""\
:as admin
role grant @hannah hr
:as carla
community create data "Data" --topics kafka
:in #data
community link data
:as hannah
:dm
position open "Data engineer" --site Lyon --team Platform --skills kafka,python
:as marc
:in #general
nominate P1 @bob "{WHY}"
:dm
nominate P1 @bob "{WHY}"
nomination list
:as bob
:dm
nomination consent N1 oui
:as hannah
nomination list
nomination move N1 under_review "{NOTE}"
nomination move N1 interview "Monday 10:00, room B" --share
nomination move N1 offered
nomination move N1 hired
nomination show N1
:as zoe
nomination show N1
"""


def test_a_whole_nomination_through_the_console(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cercle.db"
    result = run_cercle(["console", "--user", "admin"], SCRIPT, url, tmp_path, CERCLE_ADMINS="console:admin")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "Position P1 opened: Data engineer." in out and "Announced in 1 community channel." in out
    assert "[#data] New internal position P1: Data engineer at Lyon." in out
    assert "Thank you! Nomination N1: we have asked bob, in private" in out
    # Typed in #general, where everyone reads, the nomination was refused (issue 12) and told where to type it.
    assert out.count("this command is confidential: it was not run. Switch to your private conversation with "
                     "Cercle (:dm)") == 1
    assert out.count("Thank you! Nomination N1") == 1 and "N2" not in out
    assert "[dm @bob] marc nominated you for the internal position P1" in out
    assert "[dm @marc] Good news: bob agreed to be put forward" in out
    assert "[dm @hannah] bob consented to the nomination N1" in out
    assert "N1 — bob, nominated by marc — consented" in out
    assert "Monday 10:00, room B" in out
    for state in ("under review", "interview", "offered", "hired"):
        assert f"[dm @bob] The nomination N1 for P1 — Data engineer — Lyon / Platform is now: {state}." in out
        assert f"[dm @marc] The nomination N1 for P1 — Data engineer — Lyon / Platform is now: {state}." in out
    assert "N1 moved from offered to hired." in out
    assert "There is no nomination N1 that you can see." in out  # zoe
    # Nothing about the nomination in any shared channel; HR's private note never leaves HR.
    channel_lines = [line for line in out.splitlines() if re.match(r"^\[#", line)]
    assert channel_lines, out
    for line in channel_lines:
        assert "N1" not in line and "bob" not in line and "marc" not in line and WHY not in line
    for line in out.splitlines():
        if line.startswith(("[dm @bob]", "[dm @marc]")):
            assert NOTE not in line

    # HR's export: the whole queue as CSV.
    target = tmp_path / "nominations.csv"
    exported = run_cercle(["export", "nominations", "--csv", "--output", str(target)], "", url, tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [(r["nomination"], r["position"], r["state"], r["nominator"], r["nominee"]) for r in rows] == \
        [("N1", "P1", "hired", "marc", "bob")]
    assert rows[0]["argument"] == WHY and NOTE not in target.read_text(encoding="utf-8")

    # A person's own data: bob sees his nomination, not HR's private note.
    person = run_cercle(["export", "person", "console:bob", "--json"], "", url, tmp_path)
    assert person.returncode == 0, person.stderr
    data = json.loads(person.stdout)
    assert len(data["accounts"]) == 1 and data["accounts"][0].endswith(":bob")
    [received] = data["nominations_received"]
    assert received["code"] == "N1" and received["state"] == "hired" and received["nominator"] == "marc"
    assert NOTE not in person.stdout and "Monday 10:00, room B" in person.stdout
    assert data["nominations_made"] == []
    unknown = run_cercle(["export", "person", "console:nobody"], "", url, tmp_path)
    assert unknown.returncode == 1 and "no account console:nobody" in unknown.stderr
