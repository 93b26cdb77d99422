"""The benchmark runner on a fake, tiny benchmark package: it runs each module, survives a broken one,
writes the report table and pastes it into the README between the markers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.bench import run_all

TINY = '''
from tests.bench.common import Figure, write_result

def main() -> None:
    write_result("tiny", [Figure("sum of 1000 ints (ms)", 0.5, 0.25, "ratio ≤ 3", True),
                          Figure("p95 (ms)", 9.0, 3.0, "ratio ≤ 2", False)])

if __name__ == "__main__":
    main()
'''
OTHER_NAME = '''
import json, os
from pathlib import Path

def main() -> None:
    figure = {"figure": "queue (ms)", "value": 2.0, "baseline": 1.0, "ratio": 2.0, "target": 3, "met": True}
    out = Path(os.environ["CERCLE_BENCH_RESULTS"]) / "latency.json"
    out.write_text(json.dumps({"name": "latency", "figures": [figure]}))

if __name__ == "__main__":
    main()
'''
BROKEN = '''
raise RuntimeError("the fake homeserver is down")
'''


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pkg = tmp_path / "src" / "fakebench"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "bench_tiny.py").write_text(TINY)
    (pkg / "bench_broken.py").write_text(BROKEN)
    (pkg / "helper.py").write_text("raise SystemExit('not a benchmark: must not run')\n")
    (pkg / "latency.py").write_text(OTHER_NAME)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    sys.modules.pop("fakebench", None)
    return "fakebench"


def test_runner_runs_reports_and_updates_the_readme(fake_package: str, tmp_path: Path) -> None:
    results, report, readme = tmp_path / "results", tmp_path / "REPORT.md", tmp_path / "README.md"
    readme.write_text("# X\n\n<!-- section:benchmarks -->\nold table\n<!-- /section:benchmarks -->\n\nafter\n")
    code = run_all.main(["--package", fake_package, "--results", str(results), "--report", str(report),
                         "--readme", str(readme), "--update-readme"])
    assert code == 1  # one benchmark failed, and the run says so

    data = json.loads((results / "tiny.json").read_text())
    assert data["name"] == "tiny"
    assert data["figures"][0] == {"figure": "sum of 1000 ints (ms)", "value": 0.5, "baseline": 0.25, "ratio": 2.0,
                                  "target": "ratio ≤ 3", "met": True}
    assert sorted(p.name for p in results.iterdir()) == ["latency.json", "tiny.json"]

    text = report.read_text()
    assert "| benchmark | figure | value | baseline | ratio | target | met |" in text
    assert "| tiny | sum of 1000 ints (ms) | 0.5 | 0.25 | 2 | ratio ≤ 3 | yes |" in text
    assert "| tiny | p95 (ms) | 9 | 3 | 3 | ratio ≤ 2 | **no** |" in text
    assert "fakebench.bench_broken" in text and "the fake homeserver is down" in text
    assert "| latency | queue (ms) | 2 | 1 | 2 | 3 | yes |" in text  # a module not named bench_*

    updated = readme.read_text()
    assert "old table" not in updated
    assert updated.startswith("# X\n\n<!-- section:benchmarks -->\n## Benchmarks")
    assert "| tiny | p95 (ms) | 9 | 3 | 3 | ratio ≤ 2 | **no** |" in updated
    assert updated.endswith("<!-- /section:benchmarks -->\n\nafter\n")


def test_only_selects_modules(fake_package: str, tmp_path: Path) -> None:
    code = run_all.main(["--package", fake_package, "--only", "tiny", "--results", str(tmp_path / "r"),
                         "--report", str(tmp_path / "R.md")])
    assert code == 0
    assert "broken" not in (tmp_path / "R.md").read_text()
