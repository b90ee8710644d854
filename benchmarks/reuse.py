"""--reuse for the benchmarks that train runs: a folder already holding a finished run of the same config is
read back instead of trained again (runs trained in parallel, or by an earlier invocation, join one table)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rnn_nlp.runs import load_run_config
from rnn_nlp.training.transfer import ARCHITECTURE


def finished_same(out: Path, cfg) -> bool:
    """Whether `out` holds a finished run of exactly this config: a best model, metrics.csv and the model card
    (README.md), which a run writes only once its training has ended (a run killed part-way has none)."""
    missing = [name for name in ("best", "metrics.csv", "README.md") if not (out / name).exists()]
    if missing:
        if (out / "best").exists():
            print(f"--reuse: {out} is not a finished run (no {', '.join(missing)})", flush=True)
        return False
    try:
        saved, wanted = dataclasses.asdict(load_run_config(out)), dataclasses.asdict(cfg)
        if cfg.pretrained or cfg.stages:  # the run took its backbone's shape from the pretrained one (adopt_architecture)
            wanted["backbone"].update({k: saved["backbone"][k] for k in ARCHITECTURE})
        same = saved == wanted
    except Exception as exc:  # an unreadable or older config: not the same run
        print(f"--reuse: the config of {out} cannot be read ({exc})", flush=True)
        return False
    if not same:
        print(f"--reuse: {out} was trained with another config", flush=True)
    return same


def reuse_or_train(out: Path, cfg, reuse: bool, train) -> bool:
    """Train into `out` (`train()`), unless `reuse` and it holds a finished run of `cfg`; True when reused.
    A folder of another config (or a killed run) is never trained over when --reuse was asked for."""
    reused = reuse and finished_same(out, cfg)
    if reuse and not reused and (out / "best").exists():
        raise SystemExit(f"--reuse: {out} holds a run of another config (or an unfinished one); move it away or leave out --reuse")
    if not reused:
        train()
    return reused
