"""Text corpora for language models: a corpus name, file, folder or hub name as splits of text lines.

A local file is split 90/5/5 by line, in order; a folder gives its train/valid/test files (a missing
valid or test carved off the end of train), or, naming none, all its text files one after another.
A folder whose files name splits but no train split (only valid.txt and test.txt) is a DataError:
its held-out text is never taken for training text.
"""

from __future__ import annotations

from pathlib import Path

from rnn_nlp.data.formats.lines import read_lines
from rnn_nlp.data.sources import FETCHED, LOCAL, known_splits, require_column, resolve, split_named
from rnn_nlp.data.splits import fill_missing_splits
from rnn_nlp.errors import DataError, SaveError
from rnn_nlp.files import remove_stale_temporaries, replace_text

TEXT_SUFFIXES = {".txt", ".text", ".raw", ".tokens", ""}


def write_split_files(folder: Path, splits: dict[str, list[str]]) -> Path:
    """`<split>.txt` in `folder`, one line each: a local corpus `load_text_corpus(folder)` reads back.
    Each file is written whole or not at all; a failed write (a full disk) is a SaveError naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(folder)  # a write killed before
        for split, lines in splits.items():
            replace_text(folder / f"{split}.txt", "\n".join(lines) + "\n")
    except OSError as exc:
        raise SaveError(f"cannot write {exc.filename or folder}: {exc.strerror or exc}") from None
    return folder


def text_files(folder: Path) -> list[Path]:
    """The text files (.txt, .text, .raw, .tokens, none) below a folder, sorted, hidden ones left out."""
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise DataError(f"{folder}: no text files (.txt, .tokens, .raw) in this folder")
    return files


def _listed(folder: Path, files: list[Path], most: int = 10) -> str:
    names = [str(f.relative_to(folder)) for f in files]
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def text_layout(path: Path) -> dict[str, list[Path]]:
    """The files of each split of a local corpus: a file is train; a folder's files named by split; else
    (no file names a split) all of a folder's text files are train. Splits left out are carved off the
    end of train. Files naming splits without a train one are a DataError (the in-memory and the
    streaming readers both come here, so both refuse them alike)."""
    if path.is_file():
        return {"train": [path]}
    files = text_files(path)
    by_split: dict[str, list[Path]] = {}
    for f in files:
        split = split_named(f)
        if split:
            by_split.setdefault(split, []).append(f)
    if not by_split:
        return {"train": files}
    if "train" not in by_split:
        raise DataError(
            f"{path}: no train file: its files name the split(s) {', '.join(sorted(by_split))} but none names "
            f"train (found: {_listed(path, files)}); add a train file (train.txt), or name no split in any "
            "file name to read them all as training text"
        )
    return by_split


def read_local_corpus(path: Path) -> dict[str, list[str]]:
    """A file (split 90/5/5), or a folder with train/valid/test files, or a folder of text files."""
    layout = text_layout(path)
    return fill_missing_splits({split: [line for f in files for line in read_lines(f)] for split, files in layout.items()})


def _from_hub(name: str, table, text_column: str) -> dict[str, list[str]]:
    out = {}
    for split, ours, ds in known_splits(table):
        require_column(f"{name} [{split}]", ds, text_column)
        out[ours] = [str(t).strip() for t in ds[text_column] if t and str(t).strip()]
    if "train" not in out:
        raise DataError(f"{name}: the hub data set has no train split")
    return fill_missing_splits(out)


def load_text_corpus(name: str, hub_config: str | None = None, text_column: str = "text") -> dict[str, list[str]]:
    """Splits `train`, `valid`, `test` of text lines from a fetcher name, a local path or a hub name."""
    source = resolve(name, hub_config)
    if source.kind == FETCHED:
        table = source.table()
        splits = {split: list(table[split]["text"]) for split in table}
    elif source.kind == LOCAL:
        splits = read_local_corpus(source.path)
    else:
        splits = _from_hub(name, source.table(), text_column)
    if not splits.get("train"):
        raise DataError(f"corpus '{name}' has an empty train split: no text to learn from")
    return splits
