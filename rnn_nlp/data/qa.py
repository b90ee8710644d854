"""Question-answering records from SQuAD-format JSON (v1.1, v2.0), a fetcher (`conll2003-cloze`) or a hub name.

Every source ends as splits `train`, `valid`, `test` of SQuAD's flat columns (rnn_nlp.data.formats.squad):
id, question, context, answers {text: [...], answer_start: [...]} and candidates. A bad record is a
DataError naming the file and the record's id; with `skip_bad` such records are left out instead
and their number is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rnn_nlp.data.formats.squad import Records, clean_records, read_squad_file
from rnn_nlp.data.sources import FETCHED, LOCAL, known_splits, resolve, split_named
from rnn_nlp.data.splits import split_documents
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


def split_by_article(records: Records, titles: list[str], seed: int = 0) -> dict[str, Records]:
    """One file of several articles -> train/valid/test 80/10/10 by article (seeded): no article in two splits."""
    names = list(dict.fromkeys(titles))
    if len(names) < 3:
        raise DataError(f"a single SQuAD file needs at least 3 articles to split into train/valid/test; it has {len(names)}")
    parts = split_documents(len(names), seed)
    out = {}
    for split, idx in parts.items():
        chosen = {names[i] for i in idx}
        rows = [i for i, t in enumerate(titles) if t in chosen]
        out[split] = {k: [v[i] for i in rows] for k, v in records.items()}
    return out


def read_local(path: Path, skip_bad: bool = False, whole: bool = False) -> dict[str, Records]:
    """A SQuAD JSON file (split by article; with `whole`, every split is the whole file) or a folder of
    train/dev(/test) files such as train-v1.1.json and dev-v1.1.json (no test file: test is dev)."""
    if path.is_file():
        records, titles = read_squad_file(path, skip_bad)
        if whole:
            return dict.fromkeys(SPLITS, records)
        return split_by_article(records, titles)
    found: dict[str, Records] = {}
    for f in sorted(path.glob("*.json")):
        split = split_named(f)
        if split and split not in found:
            found[split] = read_squad_file(f, skip_bad)[0]
    if "train" not in found:
        raise DataError(f"{path}: no SQuAD training file (train*.json) in this folder")
    if "valid" not in found:
        raise DataError(f"{path}: no SQuAD dev file (dev*.json or valid*.json) in this folder")
    if "test" not in found:
        log.warning("%s: no test file; the test split is the dev file", path)
        found["test"] = found["valid"]
    return found


def _hub_answers(value: Any) -> dict:
    """Hub tables store answers as {text: [...], answer_start: [...]}, some as a list of {text, answer_start};
    anything else is passed on as it is, for `check_record` to name (never a conversion error here)."""
    if isinstance(value, list):
        return {
            "text": [a.get("text") if isinstance(a, dict) else None for a in value],
            "answer_start": [a.get("answer_start") if isinstance(a, dict) else None for a in value],
        }
    if isinstance(value, dict) and isinstance(value.get("text"), list) and isinstance(value.get("answer_start"), list):
        starts = [int(a) if isinstance(a, str) and a.strip().isdigit() else a for a in value["answer_start"]]
        return {"text": list(value["text"]), "answer_start": starts}
    return value


def read_hub_table(name: str, table, skip_bad: bool = False) -> dict[str, Records]:
    """A hub DatasetDict with SQuAD's columns (squad, squad_v2, ...); no test split: test is validation."""
    out: dict[str, Records] = {}
    for split, ours, ds in known_splits(table):
        missing = [c for c in ("question", "context", "answers") if c not in ds.column_names]
        if missing:
            raise DataError(f"{name} [{split}]: no column {', '.join(missing)}; a QA table needs question, context, answers")
        ids = ds["id"] if "id" in ds.column_names else [str(i) for i in range(len(ds))]
        cols = {
            "id": [str(i) for i in ids],
            "question": list(ds["question"]),
            "context": list(ds["context"]),
            "answers": [_hub_answers(a) for a in ds["answers"]],
            "candidates": list(ds["candidates"]) if "candidates" in ds.column_names else [[] for _ in ids],
        }
        out[ours] = clean_records(cols, f"{name} [{split}]", skip_bad)
    if "train" not in out or "valid" not in out:
        raise DataError(f"{name}: the hub data set needs a train and a validation split; it has {', '.join(table)}")
    if "test" not in out:
        log.warning("%s: no test split; the test split is the validation split", name)
        out["test"] = out["valid"]
    return out


def _read_fetched(name: str, table, skip_bad: bool) -> dict[str, Records]:
    """A fetched QA set's splits, checked like any other source."""
    missing = [c for c in ("question", "context", "answers") if c not in table["train"].column_names]
    if missing:
        raise DataError(f"corpus '{name}' is not a QA set (no column {', '.join(missing)}); try conll2003-cloze")
    return {s: clean_records(table[s].to_dict(), f"{name} [{s}]", skip_bad) for s in SPLITS if s in table}


def load_qa_corpus(name: str, hub_config: str | None = None, skip_bad: bool = False, whole: bool = False) -> dict[str, Records]:
    """Splits train/valid/test of QA records from a fetcher name, a SQuAD file or folder, or a hub name."""
    source = resolve(name, hub_config, what="QA data")
    if source.kind == FETCHED:
        return _read_fetched(name, source.table(), skip_bad)
    if source.kind == LOCAL:
        return read_local(source.path, skip_bad, whole)
    return read_hub_table(name, source.table(), skip_bad)
