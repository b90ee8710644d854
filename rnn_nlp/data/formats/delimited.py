"""CSV and TSV with a header row: records keyed by column, numbered by the line where each starts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rnn_nlp.errors import DataError

Records = list[tuple[int, dict]]  # (line where the record starts, {column: value})


def delimited_records(path: Path, text: str, delimiter: str) -> tuple[list[str], Records]:
    """Header and records of a CSV (quoted fields may span lines) or TSV (no quoting, as in GLUE)."""
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    header, records, end = None, [], 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:  # a blank line holds no record
                continue
            if header is None:
                header = [name.strip() for name in row]
            elif len(row) != len(header):
                raise DataError(f"{path}:{start}: {len(row)} fields, but the header has {len(header)}")
            else:
                records.append((start, dict(zip(header, row))))
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: {exc}") from None
    return header or [], records
