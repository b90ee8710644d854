"""benchmarks/chaos.py --quick: a few faults on tiny runs, every one accounted for in chaos.json and chaos.md."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "chaos.py"


@pytest.mark.slow
def test_a_quick_chaos_run_accounts_for_every_fault(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_chaos", SCRIPT)
    chaos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chaos)
    out = tmp_path / "chaos.json"
    result = chaos.main(
        ["--quick", "--attempts", "5", "--chain", "5", "--tasks", "lm", "--seed", "1", "--out", str(out), "--work", str(tmp_path / "work")]
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["attempts"] == 5
    assert result["faults_survived"] + result["crashed"] + result["lost"] + result["silent_wrong"] == 5
    rows = result["by_task_and_kind"]
    assert sum(r[v] for r in rows for v in chaos.VERDICTS) == 5 + result["not_reached"]
    assert {r["kind"] for r in rows} <= set(chaos.KINDS) and {r["task"] for r in rows} == {"lm"}
    assert result["runs"] >= 1 and result["runs_complete_and_equal"] + result["runs_lost"] + result["runs_silent_wrong"] == result["runs"]
    assert len(result["failures"]) == 5 - result["faults_survived"] + result["runs"] - result["runs_complete_and_equal"]
    md = out.with_suffix(".md").read_text()
    assert f"{result['attempts']} faults, {result['faults_survived']} survived" in md
    assert "Command: `python benchmarks/chaos.py --quick --attempts 5" in md and result["machine"]["cpus"] >= 1
