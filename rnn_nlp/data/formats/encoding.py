"""UTF-8 text of a data file: a bad byte is a DataError naming the file and line, a BOM is dropped."""

from __future__ import annotations

import re
from pathlib import Path

from rnn_nlp.errors import DataError

LINE_END = re.compile(r"\r\n|\r|\n")  # Unix, Windows and old Mac files alike
_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of a text split at LF, CRLF or a lone CR (never at U+2028 or form feeds, unlike
    `str.splitlines`); line i of the list is line i + 1 of the file, as errors number them."""
    return LINE_END.split(text)


def decode(raw: bytes, where: str) -> str:
    """The bytes as UTF-8 text (a leading BOM dropped); invalid bytes name `where`, the line and the byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        ends = list(_LINE_END_BYTES.finditer(raw, 0, exc.start))
        line = len(ends) + 1
        column = exc.start - (ends[-1].end() if ends else 0)
        raise DataError(f"{where}:{line}: not valid UTF-8 ({exc.reason} at byte {column} of the line)") from None


def read_text(path: Path) -> str:
    """A whole file as text; unreadable or invalid UTF-8 is a DataError naming the file."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode(raw, str(path))


def read_nonempty_text(path: Path) -> str:
    """`read_text`, where a file holding only whitespace is an error too."""
    text = read_text(path)
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    return text
