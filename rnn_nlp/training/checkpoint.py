"""Checkpoints: a folder of config.yaml, vocab.json, model.safetensors (+ trainer_state.pt to resume).

Folders are written under a temporary name, then swapped in by rename (`save_checkpoint`, the one
writer), so a crash never leaves half a checkpoint. A run folder holds two: `checkpoint-last/` to
resume and `best/`, the best model so far; `resolve` finds the one to read. meta.json records the
format version and each file's SHA-256; loading checks both and never unpickles code
(safetensors, torch.load(weights_only=True)).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rnn_nlp.version import __version__
from rnn_nlp.config import RunConfig, load_yaml, to_dict
from rnn_nlp.data.vocab import json_text
from rnn_nlp.errors import CheckpointError, SaveError

FORMAT_VERSION = 1
CONFIG = "config.yaml"
VOCAB = "vocab.json"
WEIGHTS = "model.safetensors"
TRAINER_STATE = "trainer_state.pt"
META = "meta.json"
REQUIRED = (CONFIG, VOCAB, WEIGHTS, META)
LAST = "checkpoint-last"  # in a run folder: the resume checkpoint
BEST = "best"  # in a run folder: the best model so far (no trainer state)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _weights_for_saving(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses shared storage (tied weights): keep the first name of each tensor."""
    out, seen = {}, {}
    for name, tensor in state_dict.items():
        key = (tensor.data_ptr(), tensor.shape, tensor.dtype) if tensor.numel() else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen[key] = name
        out[name] = tensor.detach().cpu().contiguous()
    return out


def _fsync_dir(path: Path) -> None:
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


def _write_folder(folder: Path, cfg: RunConfig, vocab: dict, model: torch.nn.Module, trainer_state: Optional[dict]) -> None:
    """Fill an empty folder with the checkpoint's files and meta.json (their hashes), all fsynced."""
    (folder / CONFIG).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
    (folder / VOCAB).write_text(json_text(vocab), encoding="utf-8")
    save_file(_weights_for_saving(model.state_dict()), str(folder / WEIGHTS), metadata={"format_version": str(FORMAT_VERSION)})
    if trainer_state is not None:
        torch.save(trainer_state, folder / TRAINER_STATE)
    files = sorted(p.name for p in folder.iterdir())
    meta = {
        "format_version": FORMAT_VERSION,
        "rnn_nlp_version": __version__,
        "torch_version": torch.__version__,
        "files": {name: _sha256(folder / name) for name in files},
    }
    (folder / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    for name in files + [META]:
        with open(folder / name, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(folder)


def _swap_in(tmp: Path, path: Path) -> None:
    """Replace folder `path` by the complete folder `tmp`, by renames only.

    At every moment one complete version is readable through `resolve`: `path` itself, or
    (between the two renames) the previous version under `.NAME.old`. A `.old` left by an
    earlier crash, with no `path` beside it, is then the only good copy: it is removed only
    once `tmp` has become `path`.
    """
    old = _old(path)
    try:
        if path.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.rename(path, old)
        os.rename(tmp, path)
    except OSError as exc:
        if old.exists() and not path.exists():
            try:
                os.rename(old, path)
            except OSError:
                pass  # `resolve` still finds it under the .old name
        shutil.rmtree(tmp, ignore_errors=True)
        raise SaveError(f"could not swap in checkpoint {path}: {exc}; the previous one is untouched") from None
    _fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(
    path: str | Path,
    cfg: RunConfig,
    vocab: dict,
    model: torch.nn.Module,
    trainer_state: Optional[dict] = None,
) -> Path:
    """Write a checkpoint folder atomically: build it beside `path` (`.NAME.tmp`), then swap it in.

    The one way a checkpoint is written: a run's `checkpoint-last/` (with `trainer_state`) and
    its best model `best/` (without) alike. Any OSError (disk full, read-only or missing folder)
    raises SaveError naming the path; the previous checkpoint at `path` is then still there, complete.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_folder(tmp, cfg, vocab, model, trainer_state)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SaveError(f"could not write checkpoint {path}: {exc}; the previous one is untouched") from None
    _swap_in(tmp, path)
    return path


def _old(path: Path) -> Path:
    return path.parent / f".{path.name}.old"


def _current(path: Path) -> Path:
    """`path`, or its previous version when a crash hit between the two renames of `_swap_in`."""
    old = _old(path)
    if not path.exists() and old.exists():
        return old
    return path


def recover(path: str | Path) -> None:
    """Put a checkpoint back under its own name when a crash mid-swap left only `.NAME.old`."""
    path = Path(path)
    try:
        if _current(path) != path:
            os.rename(_old(path), path)
    except OSError as exc:
        raise SaveError(f"could not restore {path} from {_old(path)}: {exc}") from None


def resolve(path: str | Path) -> Path:
    """The checkpoint folder to read for `path` (a run folder or a checkpoint folder).

    A run folder keeps its best model in `best/`. Run folders written before `best/` existed
    (rnn_nlp 0.2) hold it at their top level (config.yaml, vocab.json, model.safetensors,
    meta.json); those are read when there is no `best/`. A checkpoint folder (`checkpoint-last/`,
    `best/`) is read as itself. Either way a crash mid-swap is covered: the previous version is
    then read from `.NAME.old`.
    """
    path = Path(path)
    best = _current(path / BEST)
    if best.exists():
        return best
    return _current(path)


def verify(path: str | Path) -> dict:
    """Check a checkpoint folder is complete, untampered and of a known format; return meta.json."""
    path = resolve(path)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint folder")
    missing = [name for name in REQUIRED if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"{path}: incomplete checkpoint, missing {', '.join(missing)}")
    try:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        version = int(meta["format_version"])
        files = dict(meta["files"])
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise CheckpointError(f"{path / META}: unreadable ({exc})") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format {version} is newer than this rnn_nlp supports ({FORMAT_VERSION}); upgrade rnn_nlp"
        )
    if version < 1:
        raise CheckpointError(f"{path}: unknown checkpoint format {version}; this rnn_nlp reads format {FORMAT_VERSION}")
    # every file that loading reads must be covered by a hash, or it could be swapped unnoticed
    guarded = [n for n in REQUIRED if n != META] + ([TRAINER_STATE] if (path / TRAINER_STATE).exists() else [])
    unlisted = [n for n in guarded if n not in files]
    if unlisted:
        raise CheckpointError(f"{path / META}: lists no hash for {', '.join(unlisted)}; refusing an unverifiable checkpoint")
    for name, digest in files.items():
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise CheckpointError(f"{path / META}: bad file name {name!r}")
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"{path}: incomplete checkpoint, missing {name}")
        if _sha256(file) != digest:
            raise CheckpointError(f"{file}: corrupted (SHA-256 differs from meta.json)")
    return meta


def load_raw_config(path: str | Path) -> dict:
    path = resolve(path)
    try:
        raw = load_yaml((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path / CONFIG}: unreadable ({exc})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path / CONFIG}: not a config mapping")
    return raw


def load_vocab_json(path: str | Path) -> dict:
    path = resolve(path)
    try:
        return json.loads((path / VOCAB).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path / VOCAB}: unreadable ({exc})") from None


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    path = resolve(path)
    try:
        return load_file(str(path / WEIGHTS))
    except (OSError, SafetensorError, ValueError) as exc:
        raise CheckpointError(f"{path / WEIGHTS}: unreadable weights ({exc})") from None


def load_trainer_state(path: str | Path) -> dict[str, Any]:
    path = resolve(path)
    file = path / TRAINER_STATE
    if not file.is_file():
        raise CheckpointError(f"{path}: no {TRAINER_STATE}, so this checkpoint cannot be resumed")
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors come in many types; none may execute code here
        raise CheckpointError(f"{file}: unreadable trainer state ({type(exc).__name__}: {exc})") from None


def load_model_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str | Path) -> None:
    """Load weights, tolerating the names dropped for tied (shared) tensors, refusing any other mismatch."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in weights]
    tied = {k for k in missing if any(expected[k].data_ptr() == expected[o].data_ptr() for o in weights if o in expected)}
    missing = [k for k in missing if k not in tied]
    unexpected = [k for k in weights if k not in expected]
    if missing or unexpected:
        raise CheckpointError(
            f"{source}: weights do not fit this model (missing {missing[:5]}, unexpected {unexpected[:5]}); "
            "was it saved with a different config?"
        )
    for k, t in weights.items():
        if expected[k].shape != t.shape:
            raise CheckpointError(f"{source}: weight {k} has shape {tuple(t.shape)}, the model wants {tuple(expected[k].shape)}")
    model.load_state_dict(weights, strict=False)
