"""Run folders as places: what may be trained into, and one writer at a time.

A folder training writes into must be new, empty, or a run folder (it holds a run's own files):
a project folder, or `--out .`, is refused, so training never writes over a user's files. A run
folder is locked for the run's lifetime (an exclusive `flock` on `.RUN.lock` beside it, removed
at the end): a second `train` into it stops at once, naming the holder's pid.

`--overwrite` never deletes a run before its replacement has a model: the old run is set aside as
`.RUN.replaced` (marked so inside), still what loading RUN gives, and removed once the new run
has written its first best model. A new run that fails (or is killed) before writing anything to
resume gets the old run back, at once or on the next `train`. The names and the reading order are
`rnn_nlp.training.run_folder`'s (docs/run-folders.md).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from rnn_nlp.errors import NAME_MAX, ConfigError, SaveError, os_reason, shown_path
from rnn_nlp.files import written_name
from rnn_nlp.training import run_folder
from rnn_nlp.training.callbacks import Callback
from rnn_nlp.training.contract import TrainingState
from rnn_nlp.training.run_folder import BEST, LAST, is_set_aside, replaced

log = logging.getLogger(__name__)

try:  # POSIX; elsewhere the lock is skipped (documented in docs/reliability.md)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def check_out_path(out: Path) -> None:
    """Refuse, before anything is loaded, an `out` the system cannot make a folder of: a name over
    255 bytes, a symlink loop, a path under a regular file (`afile.txt/run`), no permission to look."""
    if any(len(os.fsencode(part)) > NAME_MAX for part in out.parts):  # said even where a missing folder above hides it from stat
        raise ConfigError(f"--out {shown_path(out)}: {os_reason(OSError(errno.ENAMETOOLONG, 'File name too long'))}")
    for place in (out, *out.parents):
        try:
            mode = os.stat(place).st_mode
        except FileNotFoundError:
            continue  # not made yet: its parent decides
        except NotADirectoryError:
            continue  # a file higher up: found when the walk reaches it
        except OSError as exc:
            raise ConfigError(f"--out {shown_path(out)}: {os_reason(exc)}") from None
        if not stat.S_ISDIR(mode):
            if place == out:
                raise ConfigError(f"--out {out}: a file, not a folder; choose a new or empty folder for the run")
            raise ConfigError(f"--out {out}: {place} is a file, not a folder, so no run folder can be made under it")
        return


def check_out_folder(out: Path) -> None:
    """Refuse an `out` that is a file, or a folder holding files but no run of ours."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"--out {out}: a file, not a folder; choose a new or empty folder for the run")
    names = sorted(p.name for p in out.iterdir())
    ours = {written_name(n) for n in names}  # a run killed while writing its first file left only its temporary
    if names and not any(n in ours for n in run_folder.RUN_FILES) and not _old_run(out):
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ConfigError(
            f"--out {out}: the folder holds files that are not a run ({shown}); training would write over "
            "them: choose a new or empty folder"
        )


def _old_run(out: Path) -> bool:
    """A run folder written before best/ existed: its own meta.json, with a checkpoint format version."""
    try:
        return "format_version" in json.loads((out / run_folder.META).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


@contextlib.contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold the exclusive lock of run folder `out` while the body runs; ConfigError at once if another process holds it."""
    if fcntl is None:
        yield
        return
    out = out.resolve()  # one lock for every path (a symlink, ..) that names the folder
    path = run_folder.lock_file(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = _locked(path, out)
    except OSError as exc:
        raise SaveError(f"cannot lock the run folder {out}: {path}: {exc.strerror or exc}") from None
    try:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only a second writer cannot be told our pid
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still held: a process that opened it meanwhile sees it gone and starts over
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _locked(path: Path, out: Path) -> int:
    """An open descriptor of lock file `path`, exclusively locked, and still the file at `path`."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            except OSError:
                holder = "unknown"
            finally:
                os.close(fd)
            raise ConfigError(
                f"{out} is being trained by another process (pid {holder}); wait for it to end, or train into another --out"
            ) from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed it as we opened it: lock the one now in place


def has_checkpoint(out: Path) -> bool:
    """Whether the run in `out` (or one of its stages) has written anything to resume or load: a
    checkpoint or a best model."""
    folders = (out, *(out / stage for stage in run_folder.STAGE_FOLDERS.values()))
    return any(run_folder.resolve(folder / name).exists() for folder in folders for name in (LAST, BEST))


def has_best(out: Path) -> bool:
    """Whether the run in `out` has its own best model, so loading it no longer needs the run it replaced."""
    return run_folder.resolve(out / BEST).exists()


def set_aside(out: Path) -> Path:
    """Move the run in `out` aside (one rename) for the run that replaces it; SaveError if it cannot move."""
    aside = replaced(out)
    locked = run_folder.read_only_folder(out)
    if locked is not None:
        raise SaveError(
            f"--overwrite: {locked} is read-only, so the old run in {out} could not be removed; make it "
            "writable or train into another --out; nothing was changed"
        )
    if aside.exists() and not is_set_aside(aside):
        raise SaveError(
            f"--overwrite: {aside} is in the way (a folder rnn_nlp did not set aside); move it, then overwrite again; nothing was changed"
        )
    if is_set_aside(aside) and not has_best(out):
        # an earlier --overwrite's run in `out` never got a model: it goes, the run set aside stays loadable
        try:
            _remove(out)
        except OSError as exc:
            raise SaveError(f"--overwrite: cannot remove the unfinished run in {out}: {exc}") from None
        return aside
    try:
        if is_set_aside(aside):  # an earlier replacement's, never removed (a warning said so)
            _remove(aside)
        os.rename(out, aside)
    except OSError as exc:
        raise SaveError(f"--overwrite: cannot move the old run {out} aside to {aside}: {exc}; nothing was removed") from None
    try:
        (aside / run_folder.REPLACED_MARKER).write_text(f"{out}\n", encoding="utf-8")
    except OSError as exc:
        os.rename(aside, out)
        raise SaveError(f"--overwrite: cannot mark the old run {out} as set aside: {exc}; nothing was removed") from None
    return aside


def settle_replaced(out: Path) -> None:
    """Finish an `--overwrite`: drop the old run once the new one has a best model, put it back when
    the new run has left nothing to resume or load, else keep it aside (and loadable) for now."""
    aside = replaced(out)
    if not is_set_aside(aside):  # none, or a folder of the user's that happens to have the name
        return
    if has_best(out):
        try:
            _remove(aside)
        except OSError as exc:
            log.warning("the run that %s replaced is still in %s (%s): remove it yourself", out, aside, exc)
        return
    if has_checkpoint(out):
        return  # the new run can be resumed: both stay, and loading `out` still gives the old model
    try:
        _remove(out)
        os.rename(aside, out)
    except OSError as exc:
        raise SaveError(
            f"{out}: the run replaced by --overwrite is in {aside}, and could not be put back ({exc}); move it back yourself"
        ) from None
    try:
        (out / run_folder.REPLACED_MARKER).unlink()
    except OSError:
        pass
    log.warning("%s: the new run ended before its first checkpoint; the run it was to replace is back", out)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class DropReplaced(Callback):
    """Removes the run an `--overwrite` set aside as soon as the new run has its first best model."""

    key = "drop_replaced"

    def __init__(self, out: Path):
        self.out = out
        self.done = False

    def on_evaluate(self, state: TrainingState, metrics: dict) -> None:
        # a best model is written only here, by BestModel, which comes before the caller's callbacks
        if not self.done and state.is_main and has_best(self.out):
            self.done = True  # once: an old run that cannot be removed is one warning, not one an evaluation
            settle_replaced(self.out)
