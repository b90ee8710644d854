"""Readers that turn a corpus name, file, folder or hub name into splits of text lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rnn_nlp.data.fetch import FETCHERS, fetch
from rnn_nlp.errors import DataError

SPLIT_ALIASES = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid", "test": "test"}
TEXT_SUFFIXES = {".txt", ".text", ".raw", ".tokens", ""}


def json_object(line: str, where: str) -> dict:
    """One JSON-lines record: the line parsed as a JSON object, else a DataError naming `where` (file and line)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    return obj


def read_lines(path: Path, keep_empty: bool = False) -> list[str]:
    """Non-empty lines of a UTF-8 file (`keep_empty`: every line, so outputs stay aligned with it),
    stripped; a decoding error names the file and line."""
    lines = []
    try:
        with open(path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
                line = line.strip()
                if line or keep_empty:
                    lines.append(line)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return lines


def split_sizes(n: int, valid_frac: float, test_frac: float) -> tuple[int, int, int]:
    """(train, valid, test) sizes of a contiguous split of n items: each asked-for held-out part gets
    at least one item once there are three, the rest is train. Every contiguous split uses this."""
    n_test = max(1, int(n * test_frac)) if n >= 3 and test_frac > 0 else 0
    n_valid = max(1, int(n * valid_frac)) if n >= 3 and valid_frac > 0 else 0
    return n - n_valid - n_test, n_valid, n_test


def split_lines(lines: list[str], valid_frac: float = 0.05, test_frac: float = 0.05) -> dict[str, list[str]]:
    """Contiguous split (keeps documents whole for LMs): first 90% train, then valid, then test."""
    n_train, n_valid, _ = split_sizes(len(lines), valid_frac, test_frac)
    return {
        "train": lines[:n_train],
        "valid": lines[n_train : n_train + n_valid],
        "test": lines[n_train + n_valid :],
    }


def write_split_files(folder: Path, splits: dict[str, list[str]]) -> Path:
    """`<split>.txt` in `folder`, one line each: a local corpus `load_text_corpus(folder)` reads back."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, lines in splits.items():
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def fill_missing_splits(splits: dict[str, list[str]]) -> dict[str, list[str]]:
    """Carve a missing valid and/or test split (5% each) off the end of train."""
    missing = [s for s in ("valid", "test") if s not in splits]
    if missing:
        fracs = {f"{s}_frac": (0.05 if s in missing else 0.0) for s in ("valid", "test")}
        parts = split_lines(splits["train"], **fracs)
        splits = {**splits, "train": parts["train"], **{s: parts[s] for s in missing}}
    return splits


def _split_of(path: Path) -> str | None:
    """The split a file's name says: its first word (train.txt, train_x.csv, train-v1.1.json) or its last
    dotted part (wiki.train.tokens); None when it names none (devices.json is no dev file)."""
    stem = path.stem.lower()
    first = re.split(r"[-_.]", stem)[0]
    for alias, split in SPLIT_ALIASES.items():
        if first == alias or stem.endswith("." + alias):
            return split
    return None


def read_local_corpus(path: Path) -> dict[str, list[str]]:
    """A file (split 90/5/5), or a folder with train/valid/test files, or a folder of text files."""
    if path.is_file():
        return split_lines(read_lines(path))
    files = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in TEXT_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not files:
        raise DataError(f"{path}: no text files (.txt, .tokens, .raw) in this folder")
    by_split: dict[str, list[str]] = {}
    for f in files:
        split = _split_of(f)
        if split:
            by_split.setdefault(split, []).extend(read_lines(f))
    if "train" in by_split:
        return fill_missing_splits(by_split)
    lines = []
    for f in files:
        lines.extend(read_lines(f))
    return split_lines(lines)


def load_hub(name: str, hub_config: str | None):
    """`datasets.load_dataset(name, hub_config)`, any failure (offline, unknown name) as one DataError."""
    import datasets

    try:
        return datasets.load_dataset(name, hub_config)
    except Exception as exc:
        raise DataError(
            f"'{name}' is neither a known corpus ({', '.join(sorted(FETCHERS))}), nor a local file or folder, "
            f"nor a data set datasets.load_dataset could load: {type(exc).__name__}: {exc}"
        ) from None


def _from_hub(name: str, hub_config: str | None, text_column: str) -> dict[str, list[str]]:
    table = load_hub(name, hub_config)
    out = {}
    for split, ds in table.items():
        if split not in SPLIT_ALIASES:
            continue
        if text_column not in ds.column_names:
            raise DataError(f"{name} [{split}]: no column '{text_column}'; columns: {', '.join(ds.column_names)}")
        out[SPLIT_ALIASES[split]] = [str(t).strip() for t in ds[text_column] if t and str(t).strip()]
    if "train" not in out:
        raise DataError(f"{name}: the hub data set has no train split")
    return fill_missing_splits(out)


def load_text_corpus(name: str, hub_config: str | None = None, text_column: str = "text") -> dict[str, list[str]]:
    """Splits `train`, `valid`, `test` of text lines from a fetcher name, a local path or a hub name."""
    if name in FETCHERS:
        table = fetch(name)
        splits = {split: list(table[split]["text"]) for split in table}
    elif Path(name).expanduser().exists():
        splits = read_local_corpus(Path(name).expanduser())
    elif name.startswith((".", "/", "~", "\\")) or Path(name).suffix:
        raise DataError(f"corpus not found: {name} (no such file or folder)")
    else:
        splits = _from_hub(name, hub_config, text_column)
    if not splits.get("train"):
        raise DataError(f"corpus '{name}' has an empty train split: no text to learn from")
    return splits
