"""The run folder's layout: every name in it, the swap that replaces a checkpoint folder, and which
folder a reader takes (docs/run-folders.md draws it).

    RUN/                        a run folder (`--out`)
      run-config.yaml           the config as given
      checkpoint-last/          the resume checkpoint (a checkpoint folder with trainer_state.pt)
      best/                     the best model so far (a checkpoint folder): what loading RUN reads
      .NAME.tmp/                a checkpoint folder being built (NAME: checkpoint-last or best)
      .NAME.old/                its previous version, between the swap's renames and its removal
      lm-pretrained/ ...        a stage's own run folder; lm-pretrain-text/ ... its text
    .RUN.lock                   the lock of the run's one writer (beside RUN)
    .RUN.replaced/              the run `--overwrite` set aside, until the new run has a best model

Everything that builds these paths asks here; `rnn_nlp.training.checkpoint` reads and writes one
checkpoint folder, and `rnn_nlp.runs.folders` decides what `--overwrite` and the lock do with them.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from rnn_nlp.errors import SaveError
from rnn_nlp.files import fsync_dir, remove_stale_temporaries

log = logging.getLogger(__name__)

# a checkpoint folder's files
CONFIG = "config.yaml"
VOCAB = "vocab.json"
WEIGHTS = "model.safetensors"
TRAINER_STATE = "trainer_state.pt"
META = "meta.json"
CARD = "README.md"  # the model card (a run's, or a saved model's): Markdown with YAML front matter, never hashed nor loaded

# a run folder's own
RUN_CONFIG = "run-config.yaml"
LAST = "checkpoint-last"  # the resume checkpoint
BEST = "best"  # the best model so far (no trainer state)
STAGE_FOLDERS = {"lm_pretrain": "lm-pretrained", "lm_finetune": "lm-finetuned"}  # a stage's run, by stage kind
STAGE_TEXT_FOLDERS = {"lm_pretrain": "lm-pretrain-text", "lm_finetune": "lm-finetune-text"}  # the text it trains on
FINISHED = "FINISHED"  # in a stage's run: it completed, so it is reused, not trained again
REPLACED_MARKER = ".replaced-by"  # inside `.RUN.replaced`: marks it as ours (a user's folder of that name is never touched)


def building(path: Path) -> Path:
    """`.NAME.tmp`: where the next version of checkpoint folder `path` is built before its swap."""
    return path.parent / f".{path.name}.tmp"


def old(path: Path) -> Path:
    """`.NAME.old`: the previous version of checkpoint folder `path`, between its swap's renames and its removal."""
    return path.parent / f".{path.name}.old"


def replaced(run: Path) -> Path:
    """`.RUN.replaced`: where `--overwrite` keeps the run at `run` it replaces, until the new run has a best model."""
    return run.parent / f".{run.name}.replaced"


def lock_file(run: Path) -> Path:
    """`.RUN.lock`, beside the run folder: the file its one writer holds locked."""
    return run.parent / f".{run.name}.lock"


# what only a run of ours holds (common names such as metrics.csv or model.safetensors are not enough)
RUN_FILES = (RUN_CONFIG, LAST, old(Path(LAST)).name, BEST, old(Path(BEST)).name, *STAGE_FOLDERS.values(), *STAGE_TEXT_FOLDERS.values())


def is_set_aside(folder: Path) -> bool:
    """Whether `folder` is a run that `--overwrite` moved aside (it carries the marker)."""
    return (folder / REPLACED_MARKER).is_file()


def swap_in(tmp: Path, path: Path) -> None:
    """Replace checkpoint folder `path` by the complete folder `tmp` (its `building` name), by renames:
    the previous version goes to `.NAME.old`, `tmp` becomes `path`, then `.NAME.old` is removed.

    At every moment one complete version is readable through `resolve`. A `.NAME.old` left by an
    earlier kill with no `path` beside it is then the only good copy: it goes only once `tmp` is `path`.
    """
    aside = old(path)
    try:
        if path.exists():
            shutil.rmtree(aside, ignore_errors=True)
            os.rename(path, aside)
        os.rename(tmp, path)
    except OSError as exc:
        if aside.exists() and not path.exists():
            try:
                os.rename(aside, path)
            except OSError:
                pass  # `resolve` still finds it under the .old name
        shutil.rmtree(tmp, ignore_errors=True)
        raise SaveError(f"could not swap in checkpoint {path}: {exc}; the previous one is untouched") from None
    fsync_dir(path.parent)
    shutil.rmtree(aside, ignore_errors=True)


def current(path: Path) -> Path:
    """`path`, or its previous version when a kill hit between the two renames of `swap_in`."""
    aside = old(path)
    if not path.exists() and aside.exists():
        return aside
    return path


def recover(path: str | Path) -> None:
    """Put a checkpoint back under its own name when a kill mid-swap left only `.NAME.old`."""
    path = Path(path)
    try:
        if current(path) != path:
            os.rename(old(path), path)
    except OSError as exc:
        raise SaveError(f"could not restore {path} from {old(path)}: {exc}") from None


def resolve(path: str | Path) -> Path:
    """The checkpoint folder to read for `path` (a run folder or a checkpoint folder), first found of:

    1. `best/` (or `.best.old`, a kill between its swap's renames): a run's best model;
    2. `path` itself (or `.NAME.old`) when it holds a model: a checkpoint folder, or a run folder
       written before `best/` existed (its best model's files at its top level);
    3. `.NAME.replaced`, resolved the same way, when `--overwrite` set the old run aside and the
       new run has no model yet: readers get the old model until the new one has a best;
    4. `path` itself (or `.NAME.old`), which then holds no model: the reader's error names it.
    """
    path = Path(path)
    best = current(path / BEST)
    if best.exists():
        return best
    own = current(path)
    aside = replaced(path)
    if not (own / WEIGHTS).exists() and is_set_aside(aside):
        return resolve(aside)
    return own


def read_only_folder(run: Path) -> Path | None:
    """A folder of the run in `run` whose entries this process may not remove, if there is one."""
    for folder, _, _ in os.walk(run):
        if not os.access(folder, os.W_OK | os.X_OK):
            return Path(folder)
    return None


def tidy(run: Path) -> None:
    """Remove what killed writes left in run folder `run`: a checkpoint folder half built
    (`.NAME.tmp`), a previous version left after its swap completed (`.NAME.old` beside `NAME`),
    temporary files of processes no longer running. Called holding the run's lock. A folder this
    process may not change is left whole: the command is refused at its first write, and a refused
    command changes nothing."""
    if read_only_folder(run) is not None:
        return
    left = remove_stale_temporaries(run)
    for name in (LAST, BEST):
        path = run / name
        for stale in (building(path), old(path) if path.exists() else None):
            if stale is not None and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
                left.append(stale.name)
    if left:
        log.info("%s: removed what interrupted writes left: %s", run, ", ".join(sorted(left)))
