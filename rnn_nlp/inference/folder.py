"""Reading an ONNX export folder without torch: meta.json's hashes checked, config.yaml, vocab.json, onnx.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from rnn_nlp.errors import CheckpointError

META, CONFIG, VOCAB, MANIFEST = "meta.json", "config.yaml", "vocab.json", "onnx.json"


def read_export(folder: str | Path) -> tuple[Path, dict, dict, dict]:
    """(folder, config, vocabularies, ONNX manifest) of an export written with --onnx, every file checked against meta.json."""
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        hint = "; export it with `rnn-nlp export RUN OUT --onnx`" if (folder / META).is_file() or folder.is_dir() else ""
        raise CheckpointError(f"{folder}: no {MANIFEST}, so no ONNX export to predict with{hint}")
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        hashes = dict(meta["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{folder / META}: unreadable ({exc})") from None
    for name in (CONFIG, VOCAB, MANIFEST):
        check_file(folder, name, hashes)
    try:
        config = yaml.safe_load((folder / CONFIG).read_text(encoding="utf-8"))
        vocab = json.loads((folder / VOCAB).read_text(encoding="utf-8"))
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CheckpointError(f"{folder}: unreadable export ({exc})") from None
    if not all(isinstance(x, dict) for x in (config, vocab, manifest)):
        raise CheckpointError(f"{folder}: config.yaml, vocab.json and onnx.json must each hold a mapping")
    return folder, config, vocab, {**manifest, "_hashes": hashes}


def check_file(folder: Path, name: str, hashes: dict[str, Any]) -> bytes:
    """A file of the export, read whole, its SHA-256 as meta.json lists it (a CheckpointError otherwise)."""
    if name not in hashes:
        raise CheckpointError(f"{folder / META}: lists no hash for {name}; refusing an unverifiable export")
    try:
        data = (folder / name).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{folder / name}: cannot read it ({exc.strerror or exc})") from None
    if hashlib.sha256(data).hexdigest() != hashes[name]:
        raise CheckpointError(f"{folder / name}: corrupted (SHA-256 differs from meta.json)")
    return data
