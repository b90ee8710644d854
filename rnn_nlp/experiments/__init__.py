"""The lecture's claims, one module each: `rnn-nlp experiment NAME` re-runs one and writes JSON + PNG.

An experiment module defines `NAME`, `DESCRIPTION`, a `Params` dataclass whose defaults are the
small run (minutes on 2 CPU cores), and `run(params, out_dir) -> dict`, which writes its figure
(`<out_dir>/<NAME>.png`, see `common.save_figure`) and returns its JSON-ready result.
`configs/experiments/<NAME>-long.yaml` holds the longer run's parameters.
"""

from __future__ import annotations

import importlib
import platform
import time
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import torch

from rnn_nlp.config import apply_overrides, from_dict, read_yaml_mapping
from rnn_nlp.errors import ConfigError
from rnn_nlp.files import json_text, replace_text

EXPERIMENTS = {
    "perplexity": "rnn_nlp.experiments.perplexity",
    "vanishing-gradient": "rnn_nlp.experiments.vanishing_gradient",
    "clipping": "rnn_nlp.experiments.clipping",
    "dropout": "rnn_nlp.experiments.dropout",
    "optimizers": "rnn_nlp.experiments.optimizers",
    "vectorization": "rnn_nlp.experiments.vectorization",
    "generation": "rnn_nlp.experiments.generation",
}


def get_experiment(name: str) -> ModuleType:
    """The module of experiment `name`; a clear error for an unknown name."""
    if name not in EXPERIMENTS:
        raise ConfigError(f"unknown experiment '{name}'; known: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])


def resolve_params(module: ModuleType, config: str | Path | None = None, overrides: list[str] = ()):
    """The experiment's Params: defaults, then a YAML file's keys, then `key=value` overrides."""
    raw: dict = {}
    source = f"experiment {module.NAME}"
    if config is not None:
        raw = read_yaml_mapping(config)
        source = str(config)
    raw = apply_overrides(dict(raw), list(overrides))
    try:
        return from_dict(module.Params, raw)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def run_experiment(name: str, out_dir: str | Path, config=None, overrides: list[str] = ()) -> dict:
    """Run one experiment; write `<out_dir>/<name>.json` (params, result, timing, machine)."""
    module = get_experiment(name)
    params = resolve_params(module, config, overrides)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = module.run(params, out)
    record = {
        "experiment": name,
        "description": module.DESCRIPTION,
        "params": asdict(params),
        "result": result,
        "elapsed_s": round(time.perf_counter() - start, 2),
        "machine": machine_info(),
    }
    replace_text(out / f"{name}.json", json_text(record, indent=2) + "\n")
    return record


def machine_info() -> dict:
    """Where a figure was measured: CPU, threads, torch version."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
