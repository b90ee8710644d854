"""Checkpoints: a folder of config.yaml, vocab.json, model.safetensors (+ trainer_state.pt to resume).

One checkpoint folder is written whole (`save_checkpoint`, the one writer: built under a temporary
name, then swapped in by `run_folder.swap_in`), read whole (`read_checkpoint`) and checked.
meta.json records the format version and each file's SHA-256; loading checks both and never
unpickles code (safetensors, torch.load(weights_only=True)). A path may name a run folder: which
checkpoint folder is then read is `run_folder.resolve`'s to say. A reader that races a writer's swap
gets the old checkpoint or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import load_file, save_file

from rnn_nlp.config import RunConfig, load_yaml, to_dict
from rnn_nlp.errors import CheckpointError, SaveError, os_reason, shown_path
from rnn_nlp.files import fsync_dir, json_text
from rnn_nlp.training.run_folder import (
    BEST,
    CARD,
    CONFIG,
    LAST,
    META,
    RUN_CONFIG,
    TRAINER_STATE,
    VOCAB,
    WEIGHTS,
    building,
    resolve,
    swap_in,
)
from rnn_nlp.version import __version__

FORMAT_VERSION = 1
REQUIRED = (CONFIG, VOCAB, WEIGHTS, META)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}  # a saved model's weights (`dtype`)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _weights_for_saving(state_dict: dict[str, torch.Tensor], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """safetensors refuses shared storage (tied weights): keep the first name of each tensor. With `dtype`,
    floating-point tensors are stored in it (bool and integer buffers as they are)."""
    out, seen = {}, {}
    for name, tensor in state_dict.items():
        key = (tensor.data_ptr(), tensor.shape, tensor.dtype) if tensor.numel() else None
        if key is not None and key in seen:
            continue
        if key is not None:
            seen[key] = name
        out[name] = tensor.detach().cpu().contiguous()
        if dtype is not None and out[name].is_floating_point():
            out[name] = out[name].to(dtype)
    return out


def _write_folder(
    folder: Path,
    cfg: RunConfig,
    vocab: dict,
    model: torch.nn.Module,
    trainer_state: dict | None,
    dtype: str | None = None,
    card: str | None = None,
    extras: Callable[[Path], None] | None = None,
) -> None:
    """Fill an empty folder with the checkpoint's files and meta.json (their hashes), all fsynced.

    `extras(folder)` writes further files (an ONNX export) before the hashes are taken, so meta.json covers
    them too; the card (README.md) is written last and left out of the hashes: it is documentation that
    a user may edit, and loading never reads it.
    """
    (folder / CONFIG).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
    (folder / VOCAB).write_text(json_text(vocab), encoding="utf-8")
    weights = _weights_for_saving(model.state_dict(), DTYPES[dtype] if dtype else None)
    save_file(weights, str(folder / WEIGHTS), metadata={"format_version": str(FORMAT_VERSION), "dtype": dtype or "float32"})
    if trainer_state is not None:
        torch.save(trainer_state, folder / TRAINER_STATE)
    if extras is not None:
        extras(folder)
    files = sorted(p.name for p in folder.iterdir())
    meta = {
        "format_version": FORMAT_VERSION,
        "rnn_nlp_version": __version__,
        "torch_version": torch.__version__,
        "dtype": dtype or "float32",
        "files": {name: _sha256(folder / name) for name in files},
    }
    (folder / META).write_text(json_text(meta, indent=1), encoding="utf-8")
    if card is not None:
        (folder / CARD).write_text(card, encoding="utf-8")
        files.append(CARD)
    for name in files + [META]:
        with open(folder / name, "rb") as fh:
            os.fsync(fh.fileno())
    fsync_dir(folder)


def save_checkpoint(
    path: str | Path,
    cfg: RunConfig,
    vocab: dict,
    model: torch.nn.Module,
    trainer_state: dict | None = None,
    dtype: str | None = None,
    card: str | None = None,
    extras: Callable[[Path], None] | None = None,
) -> Path:
    """Write a checkpoint folder atomically: build it beside `path` (`.NAME.tmp`), then swap it in.

    The one way a checkpoint is written: a run's `checkpoint-last/` (with `trainer_state`), its best
    model `best/` (without) and a saved or exported model (`Model.save`: `dtype` for its floating-point
    weights, its model `card`, and `extras` writing more files, as an ONNX export, into the folder) alike.
    Any OSError (disk full, read-only or missing folder) raises SaveError naming the path; the previous
    checkpoint at `path` is then still there, complete. Whatever the failure (an OSError, an `extras` that
    raises, an interrupt), the temporary folder is removed: no hidden copy of the weights is left beside `path`.
    """
    path = Path(path)
    tmp = building(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_folder(tmp, cfg, vocab, model, trainer_state, dtype, card, extras)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SaveError(f"could not write checkpoint {path}: {exc}; the previous one is untouched") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, path)
    return path


class _Moved(Exception):
    """A file went missing while reading: the folder was swapped out (a writer's checkpoint) or removed.
    Its message is the error to give when it happens again on the folder now in place."""


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint folder read whole and checked: its files' bytes, all of one version.

    `read_checkpoint` makes it; the parsing methods below never touch the disk again, so a
    writer swapping in the next checkpoint meanwhile cannot mix two versions.
    """

    folder: Path
    meta: dict
    data: dict = field(repr=False)

    def raw_config(self) -> dict:
        return _parse_config(self.data[CONFIG], self.folder / CONFIG)

    def vocab_json(self) -> dict:
        return _parse_vocab(self.data[VOCAB], self.folder / VOCAB)

    def weights(self) -> dict[str, torch.Tensor]:
        """The tensors; parsed once: the file's bytes are let go (a model's weights are not held twice)."""
        if WEIGHTS not in self.data:
            raise CheckpointError(f"{self.folder / WEIGHTS}: already taken from this Checkpoint")
        try:
            return load_bytes(self.data.pop(WEIGHTS))
        except (SafetensorError, ValueError) as exc:
            raise CheckpointError(f"{self.folder / WEIGHTS}: unreadable weights ({exc})") from None

    def trainer_state(self) -> dict[str, Any]:
        if TRAINER_STATE not in self.data:
            raise CheckpointError(f"{self.folder}: no {TRAINER_STATE}, so this checkpoint cannot be resumed")
        return _torch_load(io.BytesIO(self.data[TRAINER_STATE]), self.folder / TRAINER_STATE)


def _parse_config(data: bytes, file: Path) -> dict:
    """A checkpoint's config.yaml as a mapping (duplicate keys refused, as in every config we read)."""
    try:
        raw = load_yaml(data.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{file}: unreadable ({exc})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{file}: not a config mapping")
    return raw


def _parse_vocab(data: bytes, file: Path) -> dict:
    """A checkpoint's vocab.json as a mapping of vocabularies (their shapes are the task's to check)."""
    try:
        vocab = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise CheckpointError(f"{file}: unreadable ({exc})") from None
    if not isinstance(vocab, dict):
        raise CheckpointError(f"{file}: not a JSON object of vocabularies")
    return vocab


def _torch_load(source: Any, file: Path) -> dict[str, Any]:
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors come in many types; none may execute code here
        raise CheckpointError(f"{file}: unreadable trainer state ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{file}: not a trainer state (a {type(state).__name__}, not a mapping)")
    return state


def _read_file(name: str, dir_fd: int | None, folder: Path) -> bytes:
    """A file of the folder opened through its directory handle: a rename of the folder cannot switch versions."""
    try:
        if dir_fd is None:
            fd = os.open(folder / name, os.O_RDONLY)
        else:
            fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    except FileNotFoundError:
        raise _Moved(f"{folder}: incomplete checkpoint, missing {name}") from None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def _read_once(path: Path) -> Checkpoint:
    folder = resolve(path)
    if not folder.is_dir():
        raise _Moved(f"{folder}: no such checkpoint folder")
    _best_gone(path, folder)
    dir_fd = None
    if os.open in os.supports_dir_fd:
        try:
            dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:
            raise _Moved(f"{folder}: no such checkpoint folder") from None
        except OSError as exc:
            raise CheckpointError(f"{folder}: cannot read the checkpoint: {os_reason(exc)}") from None
    try:
        names = set(os.listdir(dir_fd if dir_fd is not None and os.listdir in os.supports_fd else folder))
        missing = [name for name in REQUIRED if name not in names]
        if missing:  # a writer may be removing this (old) version under us: look again once
            raise _Moved(f"{folder}: incomplete checkpoint, missing {', '.join(missing)}")
        meta_bytes = _read_file(META, dir_fd, folder)
        try:
            meta = json.loads(meta_bytes.decode("utf-8"))
            version = int(meta["format_version"])
            files = dict(meta["files"])
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise CheckpointError(f"{folder / META}: unreadable ({exc})") from None
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{folder}: checkpoint format {version} is newer than this rnn_nlp supports ({FORMAT_VERSION}); upgrade rnn_nlp"
            )
        if version < 1:
            raise CheckpointError(f"{folder}: unknown checkpoint format {version}; this rnn_nlp reads format {FORMAT_VERSION}")
        # every file that loading reads must be covered by a hash, or it could be swapped unnoticed
        guarded = [n for n in REQUIRED if n != META] + ([TRAINER_STATE] if TRAINER_STATE in names else [])
        unlisted = [n for n in guarded if n not in files]
        if unlisted:
            raise CheckpointError(f"{folder / META}: lists no hash for {', '.join(unlisted)}; refusing an unverifiable checkpoint")
        data = {META: meta_bytes}
        for name, digest in files.items():
            if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
                raise CheckpointError(f"{folder / META}: bad file name {name!r}")
            if name not in names:
                raise _Moved(f"{folder}: incomplete checkpoint, missing {name}")
            data[name] = _read_file(name, dir_fd, folder)
            if hashlib.sha256(data[name]).hexdigest() != digest:
                raise CheckpointError(f"{folder / name}: corrupted (SHA-256 differs from meta.json)")
        return Checkpoint(folder, meta, data)
    except OSError as exc:
        raise CheckpointError(f"{folder}: unreadable ({exc})") from None
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint folder (or a run folder's best model) whole, checked as `verify` does.

    A reader racing a writer gets the old checkpoint or the new one, never a mix or a false alarm:
    files are read through one directory handle, and when the writer removed the old folder
    mid-read (a file gone), the read starts over once on the folder now in place.
    """
    path = Path(path)
    try:
        try:
            return _read_once(path)
        except _Moved:
            pass
        try:
            return _read_once(path)
        except _Moved as gone:
            raise CheckpointError(str(gone)) from None
    except OSError as exc:  # a name the system refuses, a symlink loop, a folder this user may not enter
        raise CheckpointError(f"{shown_path(exc.filename or path)}: cannot read the checkpoint: {os_reason(exc)}") from None


def _best_gone(path: Path, folder: Path) -> None:
    """A CheckpointError when `path` is a run folder without its best model (best/ deleted, or no
    evaluation finished yet), saying so and what is left, instead of listing files a run never holds at its top."""
    if folder != path or (folder / WEIGHTS).exists() or not ((path / LAST).exists() or (path / RUN_CONFIG).exists()):
        return
    left = (
        f"{LAST}/ remains: continue training with `rnn-nlp train CONFIG --out {path} --resume`, or load {path / LAST} (the latest state)"
        if (path / LAST).exists()
        else f"no {LAST}/ either: train the run again"
    )
    raise CheckpointError(f"{path}: the run has no {BEST}/ (its best model): deleted, or no evaluation has finished yet; {left}")


def verify(path: str | Path) -> dict:
    """Check a checkpoint folder is complete, untampered and of a known format; return meta.json."""
    return read_checkpoint(path).meta


def _read_one(path: str | Path, name: str) -> tuple[bytes, Path]:
    """One file of a checkpoint folder, unverified (a single file is one version by itself)."""
    file = resolve(path) / name
    try:
        return file.read_bytes(), file
    except OSError as exc:
        raise CheckpointError(f"{file}: unreadable ({exc})") from None


def load_raw_config(path: str | Path) -> dict:
    """config.yaml alone, for what needs no more than the config (a resume's overrides, a stage's source)."""
    return _parse_config(*_read_one(path, CONFIG))


def load_vocab_json(path: str | Path) -> dict:
    """vocab.json alone."""
    return _parse_vocab(*_read_one(path, VOCAB))


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
    return _torch_load(file, file)


def check_finite_weights(weights: dict[str, torch.Tensor], source: str | Path) -> None:
    """Refuse weights holding NaN or infinity: such a model predicts confident nonsense."""
    bad = [k for k, t in weights.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise CheckpointError(
            f"{source}: weights {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''} are not finite (NaN or infinite): "
            "the run that saved them diverged; retrain it with a lower trainer.lr"
        )


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
