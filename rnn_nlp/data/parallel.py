"""Parallel text (source -> target pairs) for conditional generation: translation, summarization.

Sources, each ending as splits `train`, `valid`, `test` of `{"source": [str], "target": [str]}`:

- a fetcher name (`bible-en-es`, `bbc-headlines`: `rnn-nlp data list`);
- a TSV file (`source<TAB>target` on each line, no header, no quoting) or a JSON-lines file
  (`{"source": ..., "target": ...}` a line; other keys are ignored), split 90/5/5 seeded;
- a folder holding `train`/`valid`/`test` files of those formats, or aligned pairs of plain
  text files `train.src` + `train.tgt` (one sentence a line, line i of one the translation of
  line i of the other; the two suffixes are configurable);
- a hub name for `datasets.load_dataset` with `source`/`target` columns.

Bad input: invalid UTF-8, a TSV line without exactly one tab, invalid JSON or a missing key are
`DataError`s naming the file and the 1-based line; two aligned files of different lengths are an
error naming both files and the first line where one of them runs out. Pairs whose source or
target is empty (after stripping) are skipped, and their number and first line numbers printed
as a warning: never silently.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from rnn_nlp.data.fetch import FETCHERS, fetch
from rnn_nlp.data.labeled import _decode, _jsonl_records
from rnn_nlp.data.readers import SPLIT_ALIASES, _split_of, load_hub
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

Pairs = tuple[list[str], list[str]]  # (sources, targets), aligned
Splits = dict[str, dict[str, list[str]]]
SHOWN = 5
PAIR_FORMATS = (".tsv", ".jsonl", ".json")


def _keep_pairs(where: str, rows: list[tuple[int, str, str]]) -> Pairs:
    """Drop (and report) rows whose source or target is empty; whitespace runs become one space."""
    sources, targets, empty = [], [], []
    for number, src, tgt in rows:
        src, tgt = " ".join(src.split()), " ".join(tgt.split())
        if src and tgt:
            sources.append(src)
            targets.append(tgt)
        else:
            empty.append(number)
    if empty:
        shown = ", ".join(str(n) for n in empty[:SHOWN]) + (", ..." if len(empty) > SHOWN else "")
        log.warning("%s: skipped %d pair(s) with an empty source or target (lines %s)", where, len(empty), shown)
    return sources, targets


def read_tsv_pairs(path: Path) -> Pairs:
    """`source<TAB>target` lines (no header); blank lines are ignored."""
    path = Path(path)
    rows = []
    for number, line in enumerate(_decode(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected source<TAB>target, found {len(parts) - 1} tab(s)")
        rows.append((number, parts[0], parts[1]))
    return _keep_pairs(str(path), rows)


def read_jsonl_pairs(path: Path, source_key: str = "source", target_key: str = "target") -> Pairs:
    """One JSON object a line with string values under `source_key` and `target_key`."""
    path = Path(path)
    _, records = _jsonl_records(path, _decode(path))
    rows = []
    for number, obj in records:
        values = []
        for key in (source_key, target_key):
            value = obj.get(key)
            if key not in obj:
                raise DataError(f"{path}:{number}: no '{key}' key; keys: {', '.join(map(str, obj))}")
            if value is not None and not isinstance(value, str):
                raise DataError(f"{path}:{number}: '{key}' is a {type(value).__name__}, expected a string")
            values.append(value or "")
        rows.append((number, values[0], values[1]))
    return _keep_pairs(str(path), rows)


def _lines(path: Path) -> list[str]:
    text = _decode(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline ending the last line
    return [line.rstrip("\r") for line in lines]


def read_aligned_files(source_path: Path, target_path: Path) -> Pairs:
    """Line i of `source_path` paired with line i of `target_path`; the files must have as many lines."""
    source_path, target_path = Path(source_path), Path(target_path)
    sources, targets = _lines(source_path), _lines(target_path)
    if len(sources) != len(targets):
        short, long_ = (source_path, target_path) if len(sources) < len(targets) else (target_path, source_path)
        n = min(len(sources), len(targets))
        raise DataError(
            f"{source_path} ({len(sources)} lines) and {target_path} ({len(targets)} lines) are not aligned: "
            f"{short} ends after line {n}, {long_}:{n + 1} has no partner"
        )
    rows = [(i, s, t) for i, (s, t) in enumerate(zip(sources, targets), start=1)]
    return _keep_pairs(f"{source_path} + {target_path}", rows)


def read_pair_file(path: Path) -> Pairs:
    """A TSV or JSON-lines file of pairs, by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".tsv":
        return read_tsv_pairs(path)
    if suffix in (".jsonl", ".json"):
        return read_jsonl_pairs(path)
    raise DataError(f"{path}: unsupported format '{suffix}' for parallel text; use .tsv or .jsonl, or two aligned files")


def _read_folder(path: Path, source_ext: str, target_ext: str) -> dict[str, Pairs]:
    found: dict[str, Pairs] = {}

    def add(split: str, pairs: Pairs) -> None:
        old = found.get(split, ([], []))
        found[split] = (old[0] + pairs[0], old[1] + pairs[1])

    for file in sorted(p for p in path.iterdir() if p.is_file()):
        split = _split_of(file)
        if not split:
            continue
        if file.suffix.lower() in PAIR_FORMATS:
            add(split, read_pair_file(file))
        elif file.suffix == f".{source_ext}":
            partner = file.with_suffix(f".{target_ext}")
            if not partner.is_file():
                raise DataError(f"{file}: no aligned target file {partner.name} beside it")
            add(split, read_aligned_files(file, partner))
    if "train" not in found:
        raise DataError(
            f"{path}: no training pairs: expected train.tsv, train.jsonl or train.{source_ext} + train.{target_ext}"
        )
    return found


def _from_table(name: str, table, source_column: str, target_column: str) -> dict[str, Pairs]:
    out = {}
    for split, ds in table.items():
        if split not in SPLIT_ALIASES:
            continue
        for column in (source_column, target_column):
            if column not in ds.column_names:
                raise DataError(f"{name} [{split}]: no column '{column}'; columns: {', '.join(ds.column_names)}")
        rows = [(i, str(s or ""), str(t or "")) for i, (s, t) in enumerate(zip(ds[source_column], ds[target_column]), 1)]
        out[SPLIT_ALIASES[split]] = _keep_pairs(f"{name} [{split}]", rows)
    return out


def split_pairs(pairs: Pairs, seed: int = 0, valid_frac: float = 0.05, test_frac: float = 0.05) -> dict[str, Pairs]:
    """A seeded shuffle of the pairs cut into train/valid/test (each held-out part non-empty from 3 pairs)."""
    n = len(pairs[0])
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_test = max(1, round(n * test_frac)) if n >= 3 and test_frac > 0 else 0
    n_valid = max(1, round(n * valid_frac)) if n >= 3 and valid_frac > 0 else 0
    parts = {"valid": order[:n_valid], "test": order[n_valid : n_valid + n_test], "train": order[n_valid + n_test :]}
    return {split: ([pairs[0][i] for i in sorted(idx)], [pairs[1][i] for i in sorted(idx)]) for split, idx in parts.items()}


def load_parallel_corpus(
    name: str,
    source_column: str = "source",
    target_column: str = "target",
    hub_config: str | None = None,
    source_ext: str = "src",
    target_ext: str = "tgt",
    seed: int = 0,
) -> Splits:
    """Splits train/valid/test of {"source": [...], "target": [...]} from any of the module's sources.

    A single file, or a folder or hub set without valid/test, gets them carved off train (seeded, 5% each).
    """
    path = Path(name).expanduser()
    if name in FETCHERS:
        found = _from_table(name, fetch(name), source_column, target_column)
    elif path.is_file():
        found = {"train": read_pair_file(path)}
    elif path.is_dir():
        found = _read_folder(path, source_ext, target_ext)
    elif name.startswith((".", "/", "~", "\\")) or path.suffix.lower() in PAIR_FORMATS:
        raise DataError(f"parallel corpus not found: {name} (no such file or folder)")
    else:
        found = _from_table(name, load_hub(name, hub_config), source_column, target_column)
    if not found.get("train", ([], []))[0]:
        raise DataError(f"{name}: no usable training pairs (every pair had an empty source or target)")
    missing = [s for s in ("valid", "test") if not found.get(s, ([], []))[0]]
    if missing:
        fracs = {f"{s}_frac": (0.05 if s in missing else 0.0) for s in ("valid", "test")}
        parts = split_pairs(found["train"], seed, **fracs)
        found["train"] = parts["train"]
        for split in missing:
            found[split] = parts[split]
    return {split: {"source": found[split][0], "target": found[split][1]} for split in ("train", "valid", "test")}
