"""benchmarks/gpu.py's steps: which function runs each, the `cuda_tests` step itself, and how the
parent runs a step in its own subprocess with a time limit (so a crash, a CUDA error that poisons
the process, or a hang costs that step only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from gpu_common import ROOT

STEPS = ("cuda_tests", "lm_speed", "throughput", "awd")
SMOKE_TESTS = "lstm-forward or lm-full"  # a few of tests/cuda, run on the CPU
TIMEOUTS = {"cuda_tests": 240, "lm_speed": 300, "throughput": 300, "awd": 240}  # seconds, beyond awd's budget
SMOKE_TIMEOUT = 150


def step_function(name: str) -> Callable[[Any, Path, torch.device], dict]:
    """The function running step `name` (imported only in that step's own process)."""
    if name == "cuda_tests":
        return cuda_tests
    if name == "throughput":
        from gpu_tasks import throughput

        return throughput
    import gpu_lm

    return {"lm_speed": gpu_lm.lm_speed, "awd": gpu_lm.awd}[name]


def junit_counts(path: Path) -> dict:
    """Totals and the failing tests' names from pytest's JUnit XML."""
    counts = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "failures": []}
    for case in ET.parse(path).getroot().iter("testcase"):
        counts["tests"] += 1
        outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        key = {"failure": "failed", "error": "errors"}.get(outcome, outcome)
        counts[key] += 1
        if key in ("failed", "errors"):
            counts["failures"].append(f"{case.get('classname')}::{case.get('name')}")
    return counts


def cuda_tests(args: Any, work: Path, device: torch.device) -> dict:
    """`pytest -m cuda` on the device; smoke: a few of those tests on the CPU (RNN_NLP_TEST_DEVICE=cpu)."""
    work.mkdir(parents=True, exist_ok=True)
    report = work / "cuda-tests.xml"
    # the whole suite is collected (other folders may hold cuda tests); a module that fails to import
    # is reported as an error, and the cuda tests still run
    where = ["tests/cuda", "-k", SMOKE_TESTS] if args.smoke else ["tests", "--continue-on-collection-errors"]
    cmd = [sys.executable, "-m", "pytest", "-m", "cuda", *where, "-q", "-p", "no:cacheprovider", f"--junitxml={report}"]
    env = {**os.environ, **({"RNN_NLP_TEST_DEVICE": "cpu", "OMP_NUM_THREADS": "1"} if args.smoke else {})}
    started = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    shown = "pytest " + " ".join(cmd[3:-1])
    if not report.exists():
        return {"command": shown, "rc": rc, "error": f"pytest exited with {rc} and wrote no report"}
    result = {"command": shown, "rc": rc, "seconds": time.perf_counter() - started, **junit_counts(report)}
    if result["failed"] or result["errors"]:
        result["error"] = f"{result['failed']} failed and {result['errors']} errors of {result['tests']} tests: " + ", ".join(
            result["failures"][:10]
        )
    elif result["tests"] == 0 or result["skipped"] == result["tests"]:
        result["error"] = f"no test ran ({result['tests']} collected, all skipped): does pytest see the CUDA device?"
    elif rc != 0:
        result["error"] = f"pytest exited with {rc}"
    return result


def child_command(name: str, args: Any, work: Path, out: Path, awd_budget: float | None) -> list[str]:
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "gpu.py"),
        "--step",
        name,
        "--step-out",
        str(out),
        "--work",
        str(work),
        "--speed-budget-s",
        str(args.speed_budget_s),
        "--task-budget-s",
        str(args.task_budget_s),
        "--awd-budget-s",
        str(awd_budget or args.awd_budget_s),
    ]
    return cmd + (["--smoke"] if args.smoke else [])


def stream(proc: subprocess.Popen, name: str, tail: deque) -> None:
    """Echo a step's output, prefixed with its name, keeping its last lines."""
    for line in proc.stdout:
        sys.stdout.write(f"[{name}] {line}")
        sys.stdout.flush()
        tail.append(line)


def run_child(name: str, args: Any, work: Path, out: Path, awd_budget: float | None = None) -> dict:
    """Run step `name` in a subprocess (its own process group) within its time limit; its record."""
    limit = SMOKE_TIMEOUT if args.smoke else TIMEOUTS[name] + (awd_budget or 0)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    print(f"== {name} (at most {limit:.0f} s)", flush=True)
    out.unlink(missing_ok=True)
    tail: deque = deque(maxlen=30)
    killed = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(
        child_command(name, args, work, out, awd_budget),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )

    def kill() -> None:
        killed.set()
        os.killpg(proc.pid, signal.SIGKILL)  # the step and anything it started (pytest)

    timer = threading.Timer(limit, kill)
    timer.start()
    interrupted = False
    try:
        stream(proc, name, tail)
        proc.wait()
    except KeyboardInterrupt:
        interrupted = True
        kill()
        proc.wait()
    finally:
        timer.cancel()
    record = {"status": "ok", "smoke": args.smoke, "wall_s": time.perf_counter() - started}
    payload = json.loads(out.read_text()) if out.exists() else {}
    if payload.get("device"):
        record["device"] = payload["device"]
    if payload.get("result") is not None:
        record["result"] = payload["result"]
    if name == "awd" and record.get("result"):
        record["result"]["requested_budget_s"] = args.awd_budget_s
    error = payload.get("error") or (record.get("result") or {}).get("error")
    if interrupted:
        error, record["interrupted"] = f"interrupted after {record['wall_s']:.0f} s (gpu.sh's time limit, or Ctrl-C)", True
    elif killed.is_set():
        error = f"timed out: killed after {limit:.0f} s"
    elif error is None and (proc.returncode != 0 or "result" not in record):
        error = f"the step's process exited with {proc.returncode} and no result"
    if error:
        record.update(status="failed", error=error, log_tail="".join(tail))
    return record
