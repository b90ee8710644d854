"""benchmarks/gpu.py --smoke on the CPU: every step runs and its figures are marked smoke, a failing
step is recorded and named in the rerun command while the others stay, and a smoke run never
writes the GPU results (benchmarks/results/gpu.json)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu.py"
REAL = ROOT / "benchmarks" / "results" / "gpu.json"
STEPS = ["cuda_tests", "lm_speed", "throughput", "awd"]
SMALLEST = ["--speed-budget-s", "0.3", "--task-budget-s", "0.5", "--awd-budget-s", "0.5"]


def gpu_py(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("RNN_NLP_GPU_SH", None)
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    before = REAL.read_bytes() if REAL.exists() else None
    out = tmp_path_factory.mktemp("gpu") / "smoke.json"
    proc = gpu_py("--smoke", "--out", str(out), *SMALLEST)
    assert (REAL.read_bytes() if REAL.exists() else None) == before, "a smoke run touched benchmarks/results/gpu.json"
    return out, proc


@pytest.mark.slow
def test_every_step_runs_and_its_figures_are_marked_smoke(smoke):
    out, proc = smoke
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    record = json.loads(out.read_text())
    assert record["smoke"] is True and list(record["steps"]) == STEPS and record["failed"] == []
    for name, step in record["steps"].items():
        assert step["smoke"] is True and step["status"] == "ok", (name, step.get("error"))
        assert step["result"] and "error" not in step
    steps = {name: step["result"] for name, step in record["steps"].items()}
    assert steps["cuda_tests"]["passed"] > 0 and steps["cuda_tests"]["failed"] == 0
    speed = steps["lm_speed"]["rows"]
    assert {(r["size"], r["impl"]) for r in speed} == {(s, i) for s in ("2x256", "3x1150") for i in ("plain", "library")}
    assert all(r["tokens_per_s"] > 0 and r["x_plain"] > 0 for r in speed)
    assert any(r["recipe"] == "configs/lm-ptb-awd.yaml" for r in speed)
    rates = {(r["task"], r["batch"]): r for r in steps["throughput"]["rows"]}
    assert set(rates) == {(t, b) for t in ("ner", "classify") for b in (1, 256)}
    assert all(r["sentences_per_s"] > 0 and r["data"] == "smoke stand-in" for r in rates.values())
    assert math.isfinite(steps["awd"]["valid_ppl"]) and math.isfinite(steps["awd"]["test_ppl"])
    assert "57.3" in steps["awd"]["published"]
    markdown = out.with_suffix(".md").read_text()
    assert "SMOKE RUN" in markdown and markdown in proc.stdout


@pytest.mark.slow
def test_a_failing_step_is_recorded_the_others_kept_and_a_rerun_command_printed(smoke):
    out, _ = smoke
    proc = gpu_py("--smoke", "--out", str(out), "--only", "awd", "--awd-budget-s", "-1")
    assert proc.returncode == 1
    record = json.loads(out.read_text())
    awd = record["steps"]["awd"]
    assert awd["status"] == "failed" and awd["smoke"] is True and "time_budget_s" in awd["error"]
    assert all(record["steps"][name]["status"] == "ok" for name in STEPS[:3])  # kept from the first run
    assert record["failed"] == ["awd"]
    assert record["rerun"] == f"python benchmarks/gpu.py --smoke --out {out} --awd-budget-s -1 --only awd"
    assert f"rerun only those: {record['rerun']}" in proc.stdout
    assert "Rerun the failed steps only" in out.with_suffix(".md").read_text()


@pytest.mark.slow
def test_a_smoke_run_refuses_to_write_the_gpu_results():
    proc = gpu_py("--smoke", "--out", "benchmarks/results/gpu.json")
    assert proc.returncode == 2 and "never writes" in proc.stderr
