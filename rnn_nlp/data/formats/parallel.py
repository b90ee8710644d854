"""Parallel text: `source<TAB>target` lines, JSON lines with source and target keys, or two aligned files.

Invalid UTF-8, a TSV line without exactly one tab, invalid JSON or a missing key are DataErrors
naming the file and the 1-based line; two aligned files of different lengths are an error naming
both files and the first line where one of them runs out. Pairs whose source or target is empty
(after stripping) are skipped, and their number and first line numbers logged as a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rnn_nlp.data.formats.encoding import read_nonempty_text
from rnn_nlp.data.formats.jsonl import jsonl_records
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

Pairs = tuple[list[str], list[str]]  # (sources, targets), aligned
SHOWN = 5
PAIR_FORMATS = (".tsv", ".jsonl", ".json")


def keep_pairs(where: str, rows: list[tuple[int, str, str]]) -> Pairs:
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
    for number, line in enumerate(read_nonempty_text(path).split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{path}:{number}: expected source<TAB>target, found {len(parts) - 1} tab(s)")
        rows.append((number, parts[0], parts[1]))
    return keep_pairs(str(path), rows)


def read_jsonl_pairs(path: Path, source_key: str = "source", target_key: str = "target") -> Pairs:
    """One JSON object a line with string values under `source_key` and `target_key`."""
    path = Path(path)
    _, records = jsonl_records(path, read_nonempty_text(path))
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
    return keep_pairs(str(path), rows)


def _lines(path: Path) -> list[str]:
    """Every line of a file, blank ones included (line i pairs with line i of its partner)."""
    lines = read_nonempty_text(path).split("\n")
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
    return keep_pairs(f"{source_path} + {target_path}", rows)


def read_pair_file(path: Path) -> Pairs:
    """A TSV or JSON-lines file of pairs, by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".tsv":
        return read_tsv_pairs(path)
    if suffix in (".jsonl", ".json"):
        return read_jsonl_pairs(path)
    raise DataError(f"{path}: unsupported format '{suffix}' for parallel text; use .tsv or .jsonl, or two aligned files")
