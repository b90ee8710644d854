"""Hand edits of a checkpoint folder that keep meta.json vouching for them ("rehashed" files), as a user
or an attacker who rewrites a file and its hash would leave it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from rnn_nlp.training import checkpoint as ckpt


def rehash(folder: Path, name: str) -> None:
    """Make meta.json vouch for `name` as it is now."""
    meta = json.loads((folder / ckpt.META).read_text(encoding="utf-8"))
    meta["files"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / ckpt.META).write_text(json.dumps(meta), encoding="utf-8")


def rewrite_state(folder: Path, change) -> None:
    """Apply `change` (a function of the state dict) to the folder's trainer_state.pt, and rehash it."""
    state = ckpt.load_trainer_state(folder)
    change(state)
    torch.save(state, folder / ckpt.TRAINER_STATE)
    rehash(folder, ckpt.TRAINER_STATE)


def snapshot(folder: Path) -> dict:
    """Every file under `folder` with its bytes: to show a refused command left the run as it was."""
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
