"""Shared pieces of benchmarks/gpu.py's steps: the device, clocks, peak GPU memory, library runs.

The library is driven only through its stable entry points: `rnn_nlp.cli.main` (as `rnn-nlp train`
would be, in this process so CUDA starts once per step) and `rnn_nlp.runs.load_run`; models and
metrics come back through the task a run folder rebuilds. Nothing here imports a task module.
"""

from __future__ import annotations

import csv
import gc
import io
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def pick_device(smoke: bool) -> torch.device:
    """The CPU for a smoke run; otherwise CUDA, which must be there."""
    if smoke:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"no CUDA device is visible to torch {torch.__version__}; run --smoke on a CPU")
    return torch.device("cuda")


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a clock read afterwards counts it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PeakMemory:
    """`with PeakMemory(device) as peak: ...` then `peak.mb`: the most GPU memory tensors held
    (torch.cuda.max_memory_allocated, MiB) inside the block; None on the CPU."""

    def __init__(self, device: torch.device):
        self.device = device
        self.mb: float | None = None

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.mb = torch.cuda.max_memory_allocated(self.device) / 2**20


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """(fn(), seconds), the device's queued work included."""
    sync(device)
    started = time.perf_counter()
    result = fn()
    sync(device)
    return result, time.perf_counter() - started


def warm_up(device: torch.device) -> None:
    """Start CUDA and cuDNN (context, handles, kernels loaded) outside every measured clock."""
    if device.type != "cuda":
        return
    rnn = torch.nn.LSTM(32, 32, batch_first=True).to(device)
    out, _ = rnn(torch.randn(4, 8, 32, device=device))
    out.sum().backward()
    torch.nn.functional.cross_entropy(
        torch.randn(8, 10, device=device, requires_grad=True), torch.zeros(8, dtype=torch.long, device=device)
    ).backward()
    sync(device)


def write_yaml(raw: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


class Tee(io.TextIOBase):
    """A text stream writing to `stream` and keeping a copy (the CLI's error line, for the results)."""

    def __init__(self, stream: Any):
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.stream.write(text)
        return self.copy.write(text)

    def flush(self) -> None:
        self.stream.flush()


def train(config: Path, out: Path, overrides: list[str]) -> list[dict]:
    """`rnn-nlp train CONFIG OVERRIDES --out OUT --overwrite` in this process; the run's metrics.csv rows."""
    from rnn_nlp.cli import main as cli

    tee = Tee(sys.stderr)
    with redirect_stderr(tee):
        rc = cli(["train", str(config), *overrides, "--out", str(out), "--overwrite"])
    if rc != 0:
        errors = [line for line in tee.copy.getvalue().splitlines() if line.startswith("error:")]
        raise RuntimeError(f"rnn-nlp train {config.name} exited with {rc}: {errors[-1] if errors else 'see the log'}")
    return read_metrics(out)


def read_metrics(run: Path) -> list[dict]:
    """metrics.csv as dicts of floats (one per evaluated epoch, or part of one)."""
    with open(run / "metrics.csv", encoding="utf-8") as fh:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]


def load(run: Path, device: torch.device) -> tuple[Any, Any, torch.nn.Module]:
    """(config, task, model in eval mode) of a run folder, on `device`."""
    from rnn_nlp.runs import load_run

    return load_run(run, device.type)


def n_params(model: torch.nn.Module) -> int:
    """Distinct parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


@contextmanager
def eval_batch_size(task: Any, size: int) -> Iterator[None]:
    """Run a task's split prediction at another batch size for a while."""
    old = task.cfg.trainer.eval_batch_size
    task.cfg.trainer.eval_batch_size = size
    try:
        yield
    finally:
        task.cfg.trainer.eval_batch_size = old


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "cpu"
