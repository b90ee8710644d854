"""The library on one GPU, in one run of about 8 minutes: CUDA tests, LM training speed against the
plain loop, tagging/classification throughput, and the AWD-LSTM recipe for a fixed budget.

Steps (each its own subprocess, with its own time limit: a step that fails or hangs records its
error and the next one runs):

- `cuda_tests`: `pytest -m cuda tests` (tests/cuda: every head forward and backward on the device,
  bf16 autocast, generation, resume across devices).
- `lm_speed`: training tokens/s of the library against benchmarks/lm_ptb.py's plain loop, for a
  2 x 256 LSTM and a 3 x 1150 AWD-style LSTM (benchmarks/gpu_lm.py), with peak GPU memory.
- `throughput`: test-split sentences/s at batch 1 and 256 of a briefly trained NER tagger and
  sentiment classifier (benchmarks/gpu_tasks.py).
- `awd`: configs/lm-ptb-awd.yaml trained for `--awd-budget-s` (240; cut when the run is late, so
  the whole check ends by `--deadline-s`), valid and test perplexity.

    bash benchmarks/gpu.sh                        # on a GPU machine: benchmarks/results/gpu.{json,md}
    bash benchmarks/gpu.sh --only lm_speed,awd    # rerun some steps, merged into gpu.json
    python benchmarks/gpu.py --smoke              # every step a few seconds on the CPU (gpu-smoke.json)
    python benchmarks/gpu.py --fetch-only         # fetch PTB, CoNLL-2003, Rotten Tomatoes into the cache

Nothing is installed; the data come from the corpus cache ($RNN_NLP_CACHE), fetched on demand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the gpu_* modules beside this file

import gpu_report  # noqa: E402
from gpu_common import ROOT, device_name, pick_device  # noqa: E402
from gpu_steps import STEPS, run_child, step_function  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
REAL_OUT, SMOKE_OUT = RESULTS / "gpu.json", RESULTS / "gpu-smoke.json"
CORPORA = ("ptb", "conll2003", "rotten-tomatoes")
AWD_RESERVE_S = 75  # what the awd step needs besides training: start, data, evaluations, checkpoints


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="every step on a few batches on the CPU, with tiny corpora")
    p.add_argument(
        "--out",
        type=Path,
        help=f"results JSON (default {REAL_OUT.relative_to(ROOT)}; smoke: {SMOKE_OUT.relative_to(ROOT)}); the .md beside it",
    )
    p.add_argument("--only", help=f"comma-separated steps from {', '.join(STEPS)} (merged into an existing --out)")
    p.add_argument("--speed-budget-s", type=float, help="training seconds of each lm_speed run (default 8; smoke 0.75)")
    p.add_argument("--task-budget-s", type=float, help="training seconds of each throughput model (default 15; smoke 1)")
    p.add_argument("--awd-budget-s", type=float, help="training seconds of the awd step (default 240; smoke 1.5)")
    p.add_argument("--deadline-s", type=float, help="the awd budget is cut so the run ends by then (default 480; smoke none)")
    p.add_argument("--work", type=Path, help="keep run folders here (default: a temporary folder, removed)")
    p.add_argument("--fetch-only", action="store_true", help=f"fetch {', '.join(CORPORA)} into the corpus cache and stop")
    p.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    p.add_argument("--step-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    defaults = (0.75, 1.0, 1.5, None) if args.smoke else (8.0, 15.0, 240.0, 480.0)
    for key, value in zip(("speed_budget_s", "task_budget_s", "awd_budget_s", "deadline_s"), defaults):
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.steps = [s.strip() for s in (args.only or ",".join(STEPS)).split(",") if s.strip()]
    unknown = [s for s in args.steps if s not in STEPS]
    if unknown:
        p.error(f"--only: unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    args.out = (args.out or (SMOKE_OUT if args.smoke else REAL_OUT)).resolve()
    if args.smoke and args.out == REAL_OUT.resolve():
        p.error(f"--smoke never writes {REAL_OUT.relative_to(ROOT)} (the GPU results); give another --out")
    return args


def child(args: argparse.Namespace) -> int:
    """Run one step in this process and write its result (or its error) as JSON to --step-out."""
    import logging

    import torch

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.smoke:
        torch.set_num_threads(1)
    payload: dict = {}
    rc = 0
    try:
        device = pick_device(args.smoke)
        payload["device"] = device_name(device)
        payload["result"] = step_function(args.step)(args, args.work, device)
    except BaseException as exc:  # noqa: BLE001 - any failure is this step's result
        traceback.print_exc()
        payload["error"] = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=-6))
        rc = 1
    args.step_out.write_text(json.dumps(payload, default=str))
    return rc


def meta(args: argparse.Namespace) -> dict:
    import torch

    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "command": rerun_command(args, None),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": None,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "commit": git_commit(),
    }


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def rerun_command(args: argparse.Namespace, only: list[str] | None) -> str:
    """This run's command; with `only`, its --only replaced by those steps."""
    base = ["bash", "benchmarks/gpu.sh"] if os.environ.get("RNN_NLP_GPU_SH") else ["python", "benchmarks/gpu.py"]
    words = list(args.argv)
    if only is not None:
        kept, i = [], 0
        while i < len(words):
            if words[i] == "--only":
                i += 2
                continue
            if not words[i].startswith("--only="):
                kept.append(words[i])
            i += 1
        words = kept + ["--only", ",".join(only)]
    return shlex.join(base + words)


def previous(args: argparse.Namespace) -> dict:
    """With --only, the steps of an earlier run of the same kind (smoke or not) in --out are kept."""
    if not args.only or not args.out.exists():
        return {}
    try:
        old = json.loads(args.out.read_text())
    except ValueError:
        return {}
    return old.get("steps", {}) if old.get("smoke") == args.smoke else {}


def write(record: dict, args: argparse.Namespace) -> str | None:
    """Write the JSON and the Markdown; return the command rerunning the failed steps (or None)."""
    failed = [name for name, step in record["steps"].items() if step["status"] != "ok"]
    rerun = rerun_command(args, failed) if failed else None
    record["failed"], record["rerun"] = failed, rerun
    seen = [step["device"] for step in record["steps"].values() if step.get("device")]
    record["meta"]["device"] = seen[0] if seen else record["meta"]["device"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    args.out.with_suffix(".md").write_text(gpu_report.render(record, rerun))
    return rerun


def awd_budget(args: argparse.Namespace, started: float) -> float:
    """The awd step's training seconds: as asked, or fewer when the earlier steps ran late."""
    if args.deadline_s is None:
        return args.awd_budget_s
    left = args.deadline_s - (time.perf_counter() - started) - AWD_RESERVE_S
    return max(60.0, min(args.awd_budget_s, left))


def orchestrate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    steps = {name: step for name, step in previous(args).items() if name in STEPS}
    record = {"smoke": args.smoke, "meta": meta(args), "steps": steps}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = (args.work or Path(tmp)).resolve()
        for name in args.steps:
            budget = awd_budget(args, started) if name == "awd" else None
            steps[name] = run_child(name, args, work, Path(tmp) / f"{name}.json", budget)
            record["wall_s"] = time.perf_counter() - started
            write(record, args)
            if steps[name].get("interrupted"):
                break
    for name in STEPS:  # keep the steps in their order; those never run say so
        steps[name] = steps.pop(name, None) or {"status": "not run", "smoke": args.smoke, "error": "not run in this invocation"}
    record["wall_s"] = time.perf_counter() - started
    rerun = write(record, args)
    print("\n" + args.out.with_suffix(".md").read_text())
    print(f"results: {args.out} and {args.out.with_suffix('.md')}")
    if rerun:
        print(f"failed (or not run): {', '.join(record['failed'])}\nrerun only those: {rerun}")
    return 1 if rerun else 0


def fetch_corpora() -> int:
    from rnn_nlp.cli import main as cli

    codes = [cli(["data", "fetch", name]) for name in CORPORA]
    return max(codes)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.step:
        return child(args)
    if args.fetch_only:
        return fetch_corpora()
    if not args.smoke:
        import torch

        if not torch.cuda.is_available():
            print(
                f"no CUDA device is visible to torch {torch.__version__} (a CPU build?): run this on a GPU machine "
                "with a CUDA build of torch, or use --smoke on a CPU",
                file=sys.stderr,
            )
            return 2
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
