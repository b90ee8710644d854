"""Plain text, one item a line: read line by line, so a large file is never decoded whole."""

from __future__ import annotations

from pathlib import Path

from rnn_nlp.errors import DataError


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
