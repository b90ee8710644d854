"""Data-parallel throughput on CPU: the same LM recipe trained by 1 process and by 2 (torchrun, gloo).

Both runs use the same global batch (so they take the same optimisation steps), one torch
thread per process, and a slice of Penn Treebank. Training throughput is the library's own
`tokens_per_s` (training time only: evaluation and checkpoints excluded); the wall clock of
each command and the final validation perplexity are reported beside it.

    python benchmarks/distributed.py                 # about 3 minutes
    python benchmarks/distributed.py --steps 60      # quicker

Rows go to benchmarks/results/distributed.json and a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]


def recipe(steps: int, batch: int) -> dict:
    return {
        "task": "lm",
        "data": {"name": "ptb", "tokenizer": "whitespace", "max_train_tokens": 300_000, "max_eval_tokens": 30_000},
        "backbone": {"rnn": "lstm", "emb_size": 200, "hidden_size": 200, "layers": 2},
        "head": {"softmax": "full", "tie_weights": True},
        "trainer": {
            "epochs": 1,
            "max_steps": steps,
            "batch_size": batch,
            "eval_batch_size": 20,
            "bptt": 35,
            "optimizer": "sgd",
            "lr": 20.0,
            "schedule": "none",
            "clip_norm": 0.25,
            "threads": 1,
            "progress": False,
            "checkpoint_every": 100_000,
            "device": "cpu",
        },
    }


def run(processes: int, config: Path, out: Path) -> dict:
    train = ["-m", "rnn_nlp.cli", "train", str(config), "--out", str(out), "--overwrite"]
    if processes == 1:
        cmd = [sys.executable, *train]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *train]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    with open(out / "metrics.csv", newline="") as fh:
        last = list(csv.DictReader(fh))[-1]
    return {
        "processes": processes,
        "steps": int(last["step"]),
        "train_tokens_per_s": round(float(last["tokens_per_s"])),
        "train_s": round(float(last["elapsed_s"]), 1),
        "wall_s": round(wall, 1),
        "valid_ppl": round(float(last["valid_ppl"]), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch", type=int, default=32, help="global batch (rows of the BPTT streams)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "distributed.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "lm.yaml"
        config.write_text(yaml.safe_dump(recipe(args.steps, args.batch)), encoding="utf-8")
        for processes in (1, 2):
            rows.append(run(processes, config, Path(tmp) / f"run{processes}"))
            print(rows[-1], flush=True)
    speedup = rows[1]["train_tokens_per_s"] / rows[0]["train_tokens_per_s"]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}",
        "load_average_after": os.getloadavg(),
        "command": "python benchmarks/distributed.py " + " ".join(sys.argv[1:]),
        "recipe": recipe(args.steps, args.batch),
        "rows": rows,
        "speedup_2_vs_1": round(speedup, 2),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Data-parallel throughput on CPU (gloo, 1 torch thread per process)",
        "",
        f"{result['machine']}; load average after the runs {tuple(round(x, 2) for x in result['load_average_after'])}.",
        f"2-layer LSTM 200/200 LM on a 300k-token PTB slice, global batch {args.batch}, BPTT 35, {args.steps} steps.",
        "",
        "| processes | train tokens/s | train s | wall s (incl. start-up, eval) | valid ppl |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {r['processes']} | {r['train_tokens_per_s']:,} | {r['train_s']} | {r['wall_s']} | {r['valid_ppl']} |" for r in rows]
    lines += ["", f"2 processes vs 1: x{result['speedup_2_vs_1']} training throughput.", "", f"Command: `{result['command']}`"]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
