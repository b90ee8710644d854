"""Tagged sentences (tokens and one tag per token) from CoNLL column files, CoNLL-U, `word/tag` lines,
a fetcher name or a `datasets` hub name.

Every source ends as splits `train`, `valid`, `test`, each `{"tokens": [[str]], "tags": [[str]]}`.
Malformed input is a `DataError` naming the file and 1-based line: invalid UTF-8, a line with a
different number of columns than the file's first, a missing column, an empty token, a `word/tag`
item without its separator.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from rnn_nlp.data.fetch import FETCHERS, fetch
from rnn_nlp.data.readers import split_sizes
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

Sentences = dict[str, list[list[str]]]  # {"tokens": [...], "tags": [...], maybe more columns}
FORMATS = ("auto", "conll", "conllu", "word_tag")
SPLIT_NAMES = {"train": "train", "training": "train", "valid": "valid", "validation": "valid", "dev": "valid", "testa": "valid", "test": "test", "testb": "test"}
DOCSTART = "-DOCSTART-"


def decode(raw: bytes, where: str) -> str:
    """UTF-8 text of a file's bytes; invalid bytes name the line. A BOM is dropped."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{where}:{line}: not valid UTF-8 ({exc.reason})") from None


def _fields(line: str) -> list[str]:
    """Tab-separated when the line has tabs (so an empty field shows), else whitespace-separated."""
    return line.rstrip("\r\n").split("\t") if "\t" in line else line.split()


def parse_conll(text: str, where: str, token_column: int = 0, tag_column: int = -1, extra: Optional[dict[str, int]] = None) -> Sentences:
    """CoNLL column text -> sentences. Blank lines end sentences; `-DOCSTART-` lines start a document.

    `extra` names more columns to keep ({"pos": 1}). A `document` column numbers the documents.
    """
    wanted = {"tokens": token_column, "tags": tag_column, **(extra or {})}
    out: dict[str, list] = {k: [] for k in wanted}
    out["document"] = []
    current: dict[str, list[str]] = {k: [] for k in wanted}
    width: Optional[int] = None
    document = 0

    def close() -> None:
        if current["tokens"]:
            for k in wanted:
                out[k].append(current[k])
                current[k] = []
            out["document"].append(document)

    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            close()
            continue
        fields = _fields(line)
        if fields[0] == DOCSTART:
            close()
            document += 1 if out["document"] else 0
            continue
        if width is None:
            width = len(fields)
            for name, col in wanted.items():
                if not -width <= col < width:
                    raise DataError(f"{where}:{number}: no column {col} for {name}; the line has {width} columns")
        elif len(fields) != width:
            raise DataError(f"{where}:{number}: {len(fields)} columns, but the file's first line has {width}")
        for name, col in wanted.items():
            value = fields[col].strip()
            if not value:
                raise DataError(f"{where}:{number}: empty {'token' if name == 'tokens' else name} in column {col}")
            current[name].append(value)
    close()
    return out


def parse_conllu(text: str, where: str, tag: str = "upos") -> Sentences:
    """CoNLL-U -> sentences of word forms and UPOS (or XPOS) tags; multiword and empty nodes skipped."""
    column = {"upos": 3, "xpos": 4}[tag]
    out: dict[str, list] = {"tokens": [], "tags": []}
    tokens: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            if tokens:
                out["tokens"].append(tokens)
                out["tags"].append(tags)
                tokens, tags = [], []
            continue
        if line.startswith("#"):
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) != 10:
            raise DataError(f"{where}:{number}: {len(fields)} tab-separated columns; CoNLL-U has 10")
        if "-" in fields[0] or "." in fields[0]:  # multiword token range, empty node
            continue
        if not fields[1].strip():
            raise DataError(f"{where}:{number}: empty token")
        if fields[column] in ("", "_"):
            raise DataError(f"{where}:{number}: no {tag.upper()} tag")
        tokens.append(fields[1])
        tags.append(fields[column])
    if tokens:
        out["tokens"].append(tokens)
        out["tags"].append(tags)
    return out


def parse_word_tag(text: str, where: str, separator: str = "/") -> Sentences:
    """One sentence a line, items `word/tag` split at the last separator (so "1/2/cd" is "1/2", "cd")."""
    out: dict[str, list] = {"tokens": [], "tags": []}
    for number, line in enumerate(text.split("\n"), start=1):
        items = line.split()
        if not items:
            continue
        tokens, tags = [], []
        for item in items:
            word, sep, tag = item.rpartition(separator)
            if not sep:
                raise DataError(f"{where}:{number}: '{item}' has no '{separator}' between word and tag")
            if not word:
                raise DataError(f"{where}:{number}: empty token in '{item}'")
            if not tag:
                raise DataError(f"{where}:{number}: empty tag in '{item}'")
            tokens.append(word)
            tags.append(tag)
        out["tokens"].append(tokens)
        out["tags"].append(tags)
    return out


def guess_format(path: Path, text: str, separator: str = "/") -> str:
    """conllu by suffix or 10 tab-separated columns; word_tag when every item of the first lines has the separator."""
    if path.suffix.lower() == ".conllu":
        return "conllu"
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.startswith(("#", DOCSTART))][:5]
    if not lines:
        raise DataError(f"{path}: the file holds no sentences")
    if all(len(ln.split("\t")) == 10 and ln.split("\t")[0].replace("-", "").replace(".", "").isdigit() for ln in lines):
        return "conllu"
    if all(separator in item for ln in lines for item in ln.split()) and any(len(ln.split()) > 2 for ln in lines):
        return "word_tag"
    return "conll"


def read_tagged_file(
    path: str | Path, format: str = "auto", token_column: int = 0, tag_column: int = -1, conllu_tag: str = "upos", separator: str = "/"
) -> Sentences:
    """Sentences of one file in any of the supported formats (format "auto" guesses it)."""
    path = Path(path)
    text = decode(path.read_bytes(), str(path))
    if format == "auto":
        format = guess_format(path, text, separator)
    if format == "conll":
        return parse_conll(text, str(path), token_column, tag_column)
    if format == "conllu":
        return parse_conllu(text, str(path), conllu_tag)
    if format == "word_tag":
        return parse_word_tag(text, str(path), separator)
    raise DataError(f"{path}: unknown tagged-data format {format!r}; use one of {', '.join(FORMATS)}")


def split_of(path: Path) -> Optional[str]:
    """train/valid/test from a file name such as train.txt, eng.testa, en_ewt-ud-dev.conllu."""
    parts = path.name.lower().replace("-", ".").replace("_", ".").split(".")
    found = [SPLIT_NAMES[p] for p in parts if p in SPLIT_NAMES]
    return found[-1] if found else None


def contiguous_split(sentences: Sentences, valid_frac: float = 0.1, test_frac: float = 0.1) -> dict[str, Sentences]:
    """The first 80% train, then valid, then test: neighbouring sentences (documents) stay together."""
    n = len(sentences["tokens"])
    n_train, n_valid, _ = split_sizes(n, valid_frac, test_frac)
    cuts = {"train": (0, n_train), "valid": (n_train, n_train + n_valid), "test": (n_train + n_valid, n)}
    return {s: {k: v[a:b] for k, v in sentences.items()} for s, (a, b) in cuts.items()}


def read_local(path: Path, **options) -> dict[str, Sentences]:
    """A file (split 80/10/10 in order) or a folder whose file names say train/valid/test."""
    if path.is_file():
        return contiguous_split(read_tagged_file(path, **options))
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and split_of(p))
    if not any(split_of(f) == "train" for f in files):
        raise DataError(f"{path}: no training file (a file named like train.txt, eng.train, *-train.conllu)")
    splits: dict[str, Sentences] = {}
    for f in files:
        part = read_tagged_file(f, **options)
        target = splits.setdefault(split_of(f), {"tokens": [], "tags": []})
        target["tokens"] += part["tokens"]
        target["tags"] += part["tags"]
    missing = [s for s in ("valid", "test") if s not in splits]
    if missing:
        carved = contiguous_split(splits["train"], *(0.1 if s in missing else 0.0 for s in ("valid", "test")))
        splits["train"] = carved["train"]
        splits.update({s: carved[s] for s in missing})
    return splits


def _table_columns(table, name: str, tokens_field: str, tags_field: str, fallbacks: tuple[str, ...] = ()) -> dict[str, Sentences]:
    """Token and tag columns of a DatasetDict; without `tags_field`, the first of `fallbacks` present."""
    out = {}
    for split, ds in table.items():
        target = SPLIT_NAMES.get(split)
        if target is None:
            continue
        if tags_field not in ds.column_names:
            tags_field = next((f for f in fallbacks if f in ds.column_names), tags_field)
        for col in (tokens_field, tags_field):
            if col not in ds.column_names:
                raise DataError(f"{name} [{split}]: no column '{col}'; columns: {', '.join(ds.column_names)}")
        tags = list(ds[tags_field])
        feature = getattr(ds.features[tags_field], "feature", None)
        names = getattr(feature, "names", None)
        if names:  # a hub ClassLabel sequence: ints -> tag names
            tags = [[names[t] for t in row] for row in tags]
        out[target] = {"tokens": [list(map(str, row)) for row in ds[tokens_field]], "tags": [list(map(str, row)) for row in tags]}
    return out


def load_tagged_corpus(
    name: str,
    format: str = "auto",
    tokens_field: str = "tokens",
    tags_field: str = "tags",
    hub_config: Optional[str] = None,
    fallbacks: tuple[str, ...] = (),
    **file_options,
) -> dict[str, Sentences]:
    """Splits train/valid/test of tagged sentences from a fetcher, a local file/folder or a hub name.

    `fallbacks`: tag columns to use when a table lacks `tags_field` (the hub's conll2003 has `ner_tags`).
    """
    from rnn_nlp.data.readers import load_hub

    if name in FETCHERS:
        splits = _table_columns(fetch(name), name, tokens_field, tags_field)
    elif Path(name).expanduser().exists():
        splits = read_local(Path(name).expanduser(), format=format, **file_options)
    elif name.startswith((".", "/", "~", "\\")) or Path(name).suffix:
        raise DataError(f"tagged corpus not found: {name} (no such file or folder)")
    else:
        splits = _table_columns(load_hub(name, hub_config), name, tokens_field, tags_field, fallbacks)
    if not splits.get("train") or not splits["train"]["tokens"]:
        raise DataError(f"tagged corpus '{name}' has no training sentences")
    for split in ("valid", "test"):
        splits.setdefault(split, {"tokens": [], "tags": []})
    return splits
