"""JSON lines: one JSON object a line; a bad line is a DataError naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

from rnn_nlp.errors import DataError

Records = list[tuple[int, dict]]  # (line number, object)


def json_object(line: str, where: str) -> dict:
    """One JSON-lines record: the line parsed as a JSON object, else a DataError naming `where` (file and line)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise DataError(f"{where}: JSON nested too deeply to read") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    return obj


def jsonl_records(path: Path, text: str) -> tuple[list[str], Records]:
    """Records of a JSON-lines file's text (blank lines skipped); columns in order of first appearance."""
    records, columns = [], {}
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 is valid in JSON
        if not line.strip():
            continue
        obj = json_object(line, f"{path}:{number}")
        columns.update(dict.fromkeys(obj))
        records.append((number, obj))
    return list(columns), records
