"""Plain text, one item a line: read line by line, so a large file is never decoded whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rnn_nlp.errors import DataError


def split_line(text: str) -> list[str]:
    """One physical line (as read up to "\n") as text lines: old Mac files end lines with "\r" alone,
    Windows files with "\r\n"; a byte-order mark opening the file is no part of its first word."""
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text
    return [part.lstrip("\ufeff").strip() for part in text.split("\r")]


def decoded_lines(path: Path) -> Iterator[str]:
    """The physical lines of a UTF-8 file (up to and with their "\n"), decoded one at a time, so memory
    holds one line: bad UTF-8 is a DataError naming the file and line (from 1), an unreadable file one
    naming the file. The one decoder of line files: `read_lines` and the streaming reader's check."""
    try:
        with open(path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataError(f"{path}:{number}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
                yield text
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_lines(path: Path, keep_empty: bool = False) -> list[str]:
    """Non-empty lines of a UTF-8 file (`keep_empty`: every line, so outputs stay aligned with it),
    stripped; "\n", "\r\n" and "\r" all end a line; a decoding error names the file and line."""
    return [line for text in decoded_lines(path) for line in split_line(text) if line or keep_empty]
