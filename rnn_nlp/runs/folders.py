"""Run folders as places: what may be trained into, and one writer at a time.

A folder training writes into must be new, empty, or a run folder (it holds a run's own files):
a project folder, or `--out .`, is refused, so training never writes over a user's files. A run
folder is locked for the run's lifetime (an exclusive `flock` on `.NAME.lock` beside it): a
second `train` into it stops at once, naming the holder's pid.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator

from rnn_nlp.errors import ConfigError
from rnn_nlp.runs.stages import FOLDERS, TEXT_FOLDERS
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.trainer import LAST

# what only a run of ours holds (common names such as metrics.csv or model.safetensors are not enough)
RUN_FILES = ("run-config.yaml", LAST, f".{LAST}.old", ckpt.BEST, f".{ckpt.BEST}.old", *FOLDERS.values(), *TEXT_FOLDERS.values())

try:  # POSIX; elsewhere the lock is skipped (documented in docs/reliability.md)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def check_out_folder(out: Path) -> None:
    """Refuse an `out` that is a file, or a folder holding files but no run of ours."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"--out {out}: a file, not a folder; choose a new or empty folder for the run")
    names = sorted(p.name for p in out.iterdir())
    if names and not any(n in names for n in RUN_FILES) and not _old_run(out):
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ConfigError(f"--out {out}: the folder holds files that are not a run ({shown}); training would write over "
                          "them: choose a new or empty folder")


def _old_run(out: Path) -> bool:
    """A run folder written before best/ existed: its own meta.json, with a checkpoint format version."""
    try:
        return "format_version" in json.loads((out / ckpt.META).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


@contextlib.contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold the exclusive lock of run folder `out` while the body runs; ConfigError at once if another process holds it."""
    if fcntl is None:
        yield
        return
    out = out.resolve()  # one lock for every path (a symlink, ..) that names the folder
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.parent / f".{out.name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise ConfigError(f"{out} is being trained by another process (pid {holder}); wait for it to end, "
                              "or train into another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
