"""Kill -9 a training run at random moments, many times in a row, resuming after each kill.

A tiny LM (the test suite's patterned corpus) trains once without interruption, then again
while being SIGKILLed at random moments (uniform over a window after start-up, so kills land
in steps, evaluations and checkpoint writes alike) and resumed with `--resume` each time.
The final weights, best model and metrics.csv (timing columns aside) must equal the
uninterrupted run's.

    python benchmarks/kill_resume.py --kills 20

Writes benchmarks/results/kill_resume.json and .md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_nlp.training import checkpoint as ckpt  # noqa: E402
from rnn_nlp.training import run_folder  # noqa: E402
from rnn_nlp.training.run_folder import LAST  # noqa: E402
from tests.conftest import tiny_raw, write_corpus  # noqa: E402

TIMING = {"elapsed_s", "tokens_per_s"}


def metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as fh:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--window-s", type=float, default=2.5, help="kill uniformly within this many seconds of start-up")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "kill_resume.json"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = write_corpus(tmp / "corpus")
        config = tmp / "tiny.yaml"
        config.write_text(yaml.safe_dump(tiny_raw(corpus, trainer={"epochs": args.epochs, "checkpoint_every": 7, "threads": 1})))
        train = [sys.executable, "-m", "rnn_nlp.cli", "train", str(config), "--out"]
        started = time.perf_counter()
        subprocess.run([*train, str(tmp / "clean")], env=env, check=True, capture_output=True, cwd=ROOT)
        clean_s = time.perf_counter() - started
        killed, at_steps = tmp / "killed", []
        while len(at_steps) < args.kills:
            proc = subprocess.Popen(
                [*train, str(killed), "--resume"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            while not (killed / run_folder.RUN_CONFIG).exists() and proc.poll() is None:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, args.window_s))
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            (killed / run_folder.RUN_CONFIG).unlink(missing_ok=True)
            last = run_folder.resolve(killed / LAST)
            at_steps.append(ckpt.load_trainer_state(last)["global_step"] if last.exists() else 0)
        done = subprocess.run([*train, str(killed), "--resume"], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        equal_weights = all(
            torch.equal(a, b)
            for folder in (LAST, ".")
            for a, b in zip(ckpt.load_weights(tmp / "clean" / folder).values(), ckpt.load_weights(killed / folder).values())
        )
        equal_metrics = metrics(tmp / "clean") == metrics(killed)
        total_steps = ckpt.load_trainer_state(killed / LAST)["global_step"]
    result = {
        "command": "python benchmarks/kill_resume.py " + " ".join(sys.argv[1:]),
        "kills_survived": len(at_steps),
        "checkpoint_step_after_each_kill": at_steps,
        "total_steps": total_steps,
        "weights_bitwise_equal": equal_weights,
        "metrics_equal": equal_metrics,
        "clean_run_s": round(clean_s, 1),
    }
    out = Path(args.out)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = [
        "# SIGKILL at random moments, then --resume, repeated",
        "",
        f"{result['kills_survived']} kills survived over a {total_steps}-step run; the last checkpoint stood at steps "
        f"{at_steps} after the kills.",
        f"Final weights (checkpoint-last and best model) bitwise equal to the uninterrupted run: {equal_weights}; "
        f"metrics.csv equal (timing columns aside): {equal_metrics}.",
        "",
        f"Command: `{result['command']}`",
    ]
    out.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
