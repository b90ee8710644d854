"""Writing a file whole or not at all: the one way rnn_nlp replaces a file (tables, plots, reports).

The content is written beside the file and renamed over it, so a reader never sees half a file,
and a failed write (a full disk, a read-only folder, Ctrl-C) removes its temporary file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

_TEMPORARY = re.compile(r"\.(\d+)\.tmp$")


def temporary_name(path: Path) -> Path:
    """`NAME.PID.tmp` beside `path`: no reader of a folder takes a .tmp file for data, two processes
    writing one file never share a temporary, and one left by a killed process is known as stale."""
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


def written_name(name: str) -> str:
    """The file a temporary name is for (`run-config.yaml.123.tmp` -> `run-config.yaml`); other names as they are."""
    match = _TEMPORARY.search(name)
    return name[: match.start()] if match else name


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Remove the temporary files in `folder` (not below it) left by processes no longer running
    (killed mid-write); return their names. Those of a running process (a concurrent writer) stay."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.search(entry.name)
        if match is None or not entry.is_file() or _alive(int(match.group(1))):
            continue
        try:
            entry.unlink()
            removed.append(entry.name)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes nothing while it tidies
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process: keep its file
    return True


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; where a folder cannot be opened or synced, nothing."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_file(path: str | Path, write: Callable[[Path], None]) -> Path:
    """`write(tmp)`, then `tmp` renamed over `path`. On any error the temporary file is removed and
    an OSError is raised again naming `path` (not the temporary name), with its errno and reason."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    return path


def replace_text(path: str | Path, text: str) -> Path:
    """`replace_file` for a UTF-8 text."""
    return replace_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def finite_or_null(obj: Any) -> Any:
    """`obj` with every NaN or infinite float (in dicts, lists and tuples) made None: JSON has no NaN,
    and null is what a reader of a metric that could not be computed (a loss over nothing) expects."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_null(v) for v in obj]
    return obj


def json_text(obj: Any, indent: int | None = None, sort_keys: bool = False) -> str:
    """Strict JSON of `obj`, the one way rnn_nlp writes JSON (files and output lines): never a bare
    NaN or Infinity (non-finite floats become null), readable non-ASCII, escaped only where a lone
    surrogate (from a Python string that never was valid text) would make it unwritable as UTF-8."""
    clean = finite_or_null(obj)
    text = json.dumps(clean, ensure_ascii=False, indent=indent, sort_keys=sort_keys, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(clean, indent=indent, sort_keys=sort_keys, allow_nan=False)
    return text


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """A matplotlib figure as a PNG at `path`, written whole or not at all; the figure is closed either way."""
    import matplotlib.pyplot as plt

    try:
        return replace_file(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
    finally:
        plt.close(fig)
