"""Question-answering records from SQuAD-format JSON (v1.1, v2.0), a fetcher (`conll2003-cloze`) or a hub name.

Every source ends as splits `train`, `valid`, `test` of SQuAD's flat columns: id, question, context,
answers {text: [...], answer_start: [...]} (character offsets into context; empty lists for a v2.0
unanswerable question) and candidates (the entities to choose from for cloze sets; empty otherwise).
A bad record (missing field, empty question or passage, an answer offset outside its passage or not
matching the passage's text) is a DataError naming the file and the record's id; with `skip_bad`
such records are left out instead and their number is logged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

from rnn_nlp.data.fetch import FETCHERS, fetch
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

Records = dict[str, list]  # column -> values
SPLITS = ("train", "valid", "test")
SPLIT_WORDS = {"train": "train", "training": "train", "dev": "valid", "valid": "valid", "validation": "valid", "test": "test"}


def empty_records() -> Records:
    return {"id": [], "question": [], "context": [], "answers": [], "candidates": []}


def check_record(row: dict, where: str) -> Optional[str]:
    """What is wrong with one flat record, or None. `where` names the file (and split)."""
    rid = row.get("id")
    name = f"{where}: record {rid!r}" if rid is not None else f"{where}: a record without an id"
    for key in ("id", "question", "context", "answers"):
        if row.get(key) is None:
            return f"{name}: missing field '{key}'"
    for key in ("question", "context"):
        if not isinstance(row[key], str):
            return f"{name}: '{key}' must be a string, got {type(row[key]).__name__}"
        if not row[key].strip():
            return f"{name}: empty {key}"
    answers = row["answers"]
    if not isinstance(answers, dict) or not isinstance(answers.get("text"), list) or not isinstance(answers.get("answer_start"), list):
        return f"{name}: 'answers' must hold lists 'text' and 'answer_start'"
    if len(answers["text"]) != len(answers["answer_start"]):
        return f"{name}: {len(answers['text'])} answer texts but {len(answers['answer_start'])} offsets"
    context = row["context"]
    for text, start in zip(answers["text"], answers["answer_start"]):
        if not isinstance(text, str) or not text.strip():
            return f"{name}: an empty answer text"
        if isinstance(start, bool) or not isinstance(start, int):
            return f"{name}: answer_start must be an integer, got {start!r}"
        if start < 0 or start + len(text) > len(context):
            return f"{name}: answer offset {start} (+{len(text)} characters) is outside its passage of {len(context)} characters"
        if context[start : start + len(text)] != text:
            return f"{name}: answer {text!r} does not match the passage at offset {start} ({context[start:start + len(text)]!r})"
    candidates = row.get("candidates") or []
    if not isinstance(candidates, list) or not all(isinstance(c, str) for c in candidates):
        return f"{name}: 'candidates' must be a list of strings"
    return None


def clean_records(records: Records, where: str, skip_bad: bool = False) -> Records:
    """Check every record: the first bad one raises DataError, or with `skip_bad` bad ones are dropped and counted."""
    out = empty_records()
    bad: list[str] = []
    n = len(records["id"])
    for i in range(n):
        row = {k: records[k][i] for k in out if k in records}
        row.setdefault("candidates", [])
        problem = check_record(row, where)
        if problem:
            if not skip_bad:
                raise DataError(problem + " (data.skip_bad: true leaves such records out)")
            bad.append(problem)
            continue
        for k in out:
            out[k].append(row[k] or [] if k == "candidates" else row[k])
    if bad:
        log.warning("%s: skipped %d of %d records (data.skip_bad); first: %s", where, len(bad), n, bad[0])
    return out


def _field(obj: dict, key: str, where: str, kind: type = str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"{where}: missing field '{key}'")
    value = obj[key]
    if not isinstance(value, kind):
        raise DataError(f"{where}: '{key}' must be {kind.__name__}, got {type(value).__name__}")
    return value


def parse_squad(doc: Any, where: str, skip_bad: bool = False) -> tuple[Records, list[str]]:
    """A parsed SQuAD JSON document -> flat records (checked) and each record's article title.

    v2.0's `is_impossible: true` questions get empty answer lists (their `plausible_answers` are not answers).
    """
    out = empty_records()
    titles: list[str] = []
    broken = 0
    for a, article in enumerate(_field(doc, "data", where, list)):
        title = article.get("title", f"article {a + 1}") if isinstance(article, dict) else f"article {a + 1}"
        for p, paragraph in enumerate(_field(article, "paragraphs", f"{where}: article {a + 1}", list)):
            pwhere = f"{where}: article {a + 1}, paragraph {p + 1}"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            for q, qa in enumerate(_field(paragraph, "qas", pwhere, list)):
                if not isinstance(qa, dict):
                    raise DataError(f"{pwhere}, question {q + 1}: expected an object")
                rid = qa.get("id", f"article {a + 1}, paragraph {p + 1}, question {q + 1}")
                impossible = bool(qa.get("is_impossible", False))
                answers = [] if impossible else qa.get("answers")
                if not impossible and not answers:
                    problem = f"{where}: record {rid!r}: no answers (and not is_impossible)"
                    if not skip_bad:
                        raise DataError(problem + " (data.skip_bad: true leaves such records out)")
                    broken += 1
                    continue
                texts, starts = [], []
                for ans in answers or []:
                    texts.append(ans.get("text") if isinstance(ans, dict) else None)
                    starts.append(ans.get("answer_start") if isinstance(ans, dict) else None)
                out["id"].append(str(rid))
                out["question"].append(qa.get("question"))
                out["context"].append(context)
                out["answers"].append({"text": texts, "answer_start": starts})
                out["candidates"].append(qa.get("candidates") or [])
                titles.append(str(title))
    if broken:
        log.warning("%s: skipped %d questions without answers (data.skip_bad)", where, broken)
    keep = _checked_indices(out, where, skip_bad)
    return {k: [v[i] for i in keep] for k, v in out.items()}, [titles[i] for i in keep]


def _checked_indices(records: Records, where: str, skip_bad: bool) -> list[int]:
    keep, bad = [], []
    for i in range(len(records["id"])):
        problem = check_record({k: records[k][i] for k in records}, where)
        if problem is None:
            keep.append(i)
        elif skip_bad:
            bad.append(problem)
        else:
            raise DataError(problem + " (data.skip_bad: true leaves such records out)")
    if bad:
        log.warning("%s: skipped %d of %d records (data.skip_bad); first: %s", where, len(bad), len(records["id"]), bad[0])
    return keep


def read_squad_file(path: Path, skip_bad: bool = False) -> tuple[Records, list[str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    return parse_squad(doc, str(path), skip_bad)


def split_by_article(records: Records, titles: list[str], seed: int = 0) -> dict[str, Records]:
    """One file of several articles -> train/valid/test 80/10/10 by article (seeded): no article in two splits."""
    from rnn_nlp.data.fetch_tagging import split_documents

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


def _split_of(path: Path) -> Optional[str]:
    stem = path.name.lower()
    for word, split in SPLIT_WORDS.items():
        if stem.startswith(word) or f"-{word}" in stem or f"_{word}" in stem or f".{word}" in stem:
            return split
    return None


def read_local(path: Path, skip_bad: bool = False, whole: bool = False) -> dict[str, Records]:
    """A SQuAD JSON file (split by article; with `whole`, every split is the whole file) or a folder of
    train/dev(/test) files such as train-v1.1.json and dev-v1.1.json (no test file: test is dev)."""
    if path.is_file():
        records, titles = read_squad_file(path, skip_bad)
        if whole:
            return {s: records for s in SPLITS}
        return split_by_article(records, titles)
    found: dict[str, Records] = {}
    for f in sorted(path.glob("*.json")):
        split = _split_of(f)
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
    """Hub tables store answers as {text: [...], answer_start: [...]}, some as a list of {text, answer_start}."""
    if isinstance(value, list):
        return {"text": [a.get("text") for a in value], "answer_start": [a.get("answer_start") for a in value]}
    return {"text": list(value.get("text", [])), "answer_start": [int(s) for s in value.get("answer_start", [])]}


def read_hub(name: str, hub_config: Optional[str], skip_bad: bool = False) -> dict[str, Records]:
    """`datasets.load_dataset(name)` with SQuAD's columns (squad, squad_v2, ...); no test split: test is validation."""
    from rnn_nlp.data.readers import load_hub

    table = load_hub(name, hub_config)
    out: dict[str, Records] = {}
    for split, ds in table.items():
        ours = SPLIT_WORDS.get(split)
        if ours is None:
            continue
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


def load_qa_corpus(name: str, hub_config: Optional[str] = None, skip_bad: bool = False, whole: bool = False) -> dict[str, Records]:
    """Splits train/valid/test of QA records from a fetcher name, a SQuAD file or folder, or a hub name."""
    if name in FETCHERS:
        table = fetch(name)
        missing = [c for c in ("question", "context", "answers") if c not in table["train"].column_names]
        if missing:
            raise DataError(f"corpus '{name}' is not a QA set (no column {', '.join(missing)}); try conll2003-cloze")
        return {s: clean_records(table[s].to_dict(), f"{name} [{s}]", skip_bad) for s in SPLITS if s in table}
    path = Path(name).expanduser()
    if path.exists():
        return read_local(path, skip_bad, whole)
    if name.startswith((".", "/", "~", "\\")) or path.suffix:
        raise DataError(f"QA data not found: {name} (no such file or folder)")
    return read_hub(name, hub_config, skip_bad)
