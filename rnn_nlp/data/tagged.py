"""Tagged sentences (tokens and one tag per token) from CoNLL column files, CoNLL-U, `word/tag` lines,
a fetcher name or a `datasets` hub name.

Every source ends as splits `train`, `valid`, `test`, each `{"tokens": [[str]], "tags": [[str]]}`, plus
`"document"` (each sentence's document id, sentences in document order) where the source has one: a fetched
or hub table's `document` column, a CoNLL file's `-DOCSTART-` lines (a file without them is one document).
Malformed input is a `DataError` naming the file and 1-based line: invalid UTF-8, a line with a
different number of columns than the file's first, a missing column, an empty token, a `word/tag`
item without its separator.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rnn_nlp.data.formats.conll import DOCSTART, Sentences, parse_conll
from rnn_nlp.data.formats.conllu import looks_like_conllu, parse_conllu
from rnn_nlp.data.formats.encoding import read_text, split_lines
from rnn_nlp.data.formats.word_tag import looks_like_word_tag, parse_word_tag
from rnn_nlp.data.sources import FETCHED, LOCAL, resolve
from rnn_nlp.data.splits import contiguous_split
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)
DOCUMENT = "document"  # the optional column of each sentence's document

FORMATS = ("auto", "conll", "conllu", "word_tag")
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "valid": "valid",
    "validation": "valid",
    "dev": "valid",
    "testa": "valid",
    "test": "test",
    "testb": "test",
}


def guess_format(path: Path, text: str, separator: str = "/") -> str:
    """conllu by suffix or 10 tab-separated columns; word_tag when every item of the first lines has the separator."""
    if path.suffix.lower() == ".conllu":
        return "conllu"
    lines = [ln for ln in split_lines(text) if ln.strip() and not ln.startswith(("#", DOCSTART))][:5]
    if not lines:
        raise DataError(f"{path}: the file holds no sentences")
    if looks_like_conllu(lines):
        return "conllu"
    if looks_like_word_tag(lines, separator):
        return "word_tag"
    return "conll"


def read_tagged_file(
    path: str | Path, format: str = "auto", token_column: int = 0, tag_column: int = -1, conllu_tag: str = "upos", separator: str = "/"
) -> Sentences:
    """Sentences of one file in any of the supported formats (format "auto" guesses it)."""
    path = Path(path)
    text = read_text(path)
    if format == "auto":
        format = guess_format(path, text, separator)
    if format == "conll":
        return parse_conll(text, str(path), token_column, tag_column)
    if format == "conllu":
        return parse_conllu(text, str(path), conllu_tag)
    if format == "word_tag":
        return parse_word_tag(text, str(path), separator)
    raise DataError(f"{path}: unknown tagged-data format {format!r}; use one of {', '.join(FORMATS)}")


def split_of(path: Path) -> str | None:
    """train/valid/test from a file name such as train.txt, eng.testa, en_ewt-ud-dev.conllu."""
    parts = path.name.lower().replace("-", ".").replace("_", ".").split(".")
    found = [SPLIT_NAMES[p] for p in parts if p in SPLIT_NAMES]
    return found[-1] if found else None


def read_local(path: Path, whole: bool = False, **options) -> dict[str, Sentences]:
    """A file (split 80/10/10 in order; with `whole`, every split is the whole file) or a folder whose
    file names say train/valid/test."""
    if path.is_file():
        sentences = read_tagged_file(path, **options)
        return dict.fromkeys(("train", "valid", "test"), sentences) if whole else contiguous_split(sentences)
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and split_of(p))
    if not any(split_of(f) == "train" for f in files):
        raise DataError(f"{path}: no training file (a file named like train.txt, eng.train, *-train.conllu)")
    splits: dict[str, Sentences] = {}
    for f in files:
        part = read_tagged_file(f, **options)
        target = splits.setdefault(split_of(f), {"tokens": [], "tags": []})
        # each sentence's document, numbered per file so that two files' documents never share an id;
        # a split has documents only if all its files have them
        if DOCUMENT in part and (DOCUMENT in target or not target["tokens"]):
            documents: list = [f"{f.name}#{d}" for d in part[DOCUMENT]]
            target[DOCUMENT] = target.get(DOCUMENT, []) + documents
        else:
            target.pop(DOCUMENT, None)
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
        if DOCUMENT in ds.column_names:  # each sentence's document (conll2003, brown): the taggers' data.context
            out[target][DOCUMENT] = list(ds[DOCUMENT])
    return out


def load_tagged_corpus(
    name: str,
    format: str = "auto",
    tokens_field: str = "tokens",
    tags_field: str = "tags",
    hub_config: str | None = None,
    fallbacks: tuple[str, ...] = (),
    whole: bool = False,
    **file_options,
) -> dict[str, Sentences]:
    """Splits train/valid/test of tagged sentences from a fetcher, a local file/folder or a hub name.

    `fallbacks`: tag columns to use when a table lacks `tags_field` (the hub's conll2003 has `ner_tags`);
    `whole`: a single local file is every split, whole.
    """
    source = resolve(name, hub_config, what="tagged corpus")
    if source.kind == FETCHED:
        splits = _table_columns(source.table(), name, tokens_field, tags_field)
    elif source.kind == LOCAL:
        splits = read_local(source.path, whole=whole, format=format, **file_options)
    else:
        splits = _table_columns(source.table(), name, tokens_field, tags_field, fallbacks)
    if not splits.get("train") or not splits["train"]["tokens"]:
        raise DataError(f"tagged corpus '{name}' has no training sentences")
    for split in ("valid", "test"):
        splits.setdefault(split, {"tokens": [], "tags": []})
    return splits
