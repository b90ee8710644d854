"""`spacy train` for a wall-clock budget: the one way the benchmarks train a spaCy pipeline beside ours.

`train_budgeted` writes spaCy's own default config for one component (`spacy init config --optimize
efficiency`, or `accuracy` with its static vectors switched off: no pretrained vectors either way), stops
training once `budget` seconds are spent (the callback in benchmarks/spacy_budget.py) and returns the best
pipeline evaluated on the dev set. Used by benchmarks/tagging.py (ner, tagger) and benchmarks/classify.py
(textcat).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train_budgeted(work: Path, pipeline: str, budget: float, eval_frequency: int = 200, optimize: str = "efficiency") -> dict:
    """Train `pipeline` on work/train.spacy (dev: work/dev.spacy) for `budget` seconds.

    Returns {"best": model-best folder, "wall_s", "steps" (the last step logged, or None)}; the
    training log is kept in work/train.log."""
    from spacy.util import load_config

    cfg_path = work / "config.cfg"
    subprocess.run(
        [sys.executable, "-m", "spacy", "init", "config", str(cfg_path), "--lang", "en", "--pipeline", pipeline]
        + ["--optimize", optimize, "--force"],
        check=True,
        capture_output=True,
    )
    cfg = load_config(cfg_path)
    if optimize == "accuracy":  # its template reads en_core_web_lg's vectors, which these machines do not have
        cfg["paths"]["vectors"] = None
        cfg["initialize"]["vectors"] = None
        for component in cfg["components"].values():
            embed = component.get("model", {}).get("embed", {})
            if "include_static_vectors" in embed:
                embed["include_static_vectors"] = False
    cfg["training"]["before_update"] = {"@callbacks": "rnn_nlp_bench.time_budget.v1", "seconds": budget}
    cfg["training"]["max_epochs"] = 0
    cfg["training"]["max_steps"] = 0
    cfg["training"]["eval_frequency"] = eval_frequency
    cfg.to_disk(cfg_path)
    cmd = [sys.executable, "-m", "spacy", "train", str(cfg_path), "--output", str(work / "out")]
    cmd += ["--code", str(ROOT / "benchmarks" / "spacy_budget.py")]
    cmd += ["--paths.train", str(work / "train.spacy"), "--paths.dev", str(work / "dev.spacy")]
    started = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (work / "train.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    best = work / "out" / "model-best"
    if not best.exists():
        raise RuntimeError(f"spacy train left no model-best; see {work / 'train.log'}")
    steps = [line.split()[1] for line in result.stdout.splitlines() if line.strip()[:1].isdigit() and len(line.split()) > 2]
    return {"best": best, "wall_s": wall, "steps": int(steps[-1]) if steps else None}
