"""SQuAD JSON (v1.1, v2.0) and the flat question-answering records every QA source ends as.

A flat record: id, question, context, answers {text: [...], answer_start: [...]} (character offsets
into context; empty lists for a v2.0 unanswerable question) and candidates (the entities to choose
from for cloze sets; empty otherwise). A bad record is a DataError naming the file and the record's
id; with `skip_bad` such records are left out instead and their number is logged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from rnn_nlp.data.formats.encoding import read_text
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

Records = dict[str, list]  # column -> values
FIELDS = ("id", "question", "context", "answers", "candidates")
SKIP_HINT = " (data.skip_bad: true leaves such records out)"


def empty_records() -> Records:
    """Empty columns of flat QA records."""
    return {k: [] for k in FIELDS}


def _answers_shape_problem(answers: Any, context: str) -> str | None:
    """What is wrong with a flat record's answers against its passage, or None."""
    if not isinstance(answers, dict) or not isinstance(answers.get("text"), list) or not isinstance(answers.get("answer_start"), list):
        return "'answers' must hold lists 'text' and 'answer_start'"
    if len(answers["text"]) != len(answers["answer_start"]):
        return f"{len(answers['text'])} answer texts but {len(answers['answer_start'])} offsets"
    for text, start in zip(answers["text"], answers["answer_start"]):
        if not isinstance(text, str) or not text.strip():
            return "an empty answer text"
        if isinstance(start, bool) or not isinstance(start, int):
            return f"answer_start must be an integer, got {start!r}"
        if start < 0 or start + len(text) > len(context):
            return f"answer offset {start} (+{len(text)} characters) is outside its passage of {len(context)} characters"
        if context[start : start + len(text)] != text:
            return f"answer {text!r} does not match the passage at offset {start} ({context[start : start + len(text)]!r})"
    return None


def check_record(row: dict, where: str) -> str | None:
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
    problem = _answers_shape_problem(row["answers"], row["context"])
    if problem:
        return f"{name}: {problem}"
    candidates = row.get("candidates") or []
    if not isinstance(candidates, list) or not all(isinstance(c, str) for c in candidates):
        return f"{name}: 'candidates' must be a list of strings"
    return None


def checked_indices(records: Records, where: str, skip_bad: bool) -> list[int]:
    """Indices of the good records: the first bad one raises DataError, or with `skip_bad` bad ones are counted."""
    keep, bad = [], []
    for i in range(len(records["id"])):
        problem = check_record({k: records[k][i] for k in records}, where)
        if problem is None:
            keep.append(i)
        elif skip_bad:
            bad.append(problem)
        else:
            raise DataError(problem + SKIP_HINT)
    if bad:
        log.warning("%s: skipped %d of %d records (data.skip_bad); first: %s", where, len(bad), len(records["id"]), bad[0])
    return keep


def clean_records(records: Records, where: str, skip_bad: bool = False) -> Records:
    """The flat records' columns (missing candidates made empty lists), bad records raising or dropped."""
    n = len(records["id"])
    columns = {k: list(records[k]) if k in records else [None] * n for k in FIELDS}
    columns["candidates"] = [c or [] for c in columns["candidates"]]
    keep = checked_indices(columns, where, skip_bad)
    return {k: [v[i] for i in keep] for k, v in columns.items()}


def _field(obj: dict, key: str, where: str, kind: type = str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"{where}: missing field '{key}'")
    value = obj[key]
    if not isinstance(value, kind):
        raise DataError(f"{where}: '{key}' must be {kind.__name__}, got {type(value).__name__}")
    return value


def _answers_problem(qa: dict) -> str | None:
    """What is wrong with a SQuAD question's `is_impossible` / `answers` fields, or None."""
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        return f"is_impossible must be true or false, got {impossible!r}"
    if impossible:
        return None
    answers = qa.get("answers")
    if not answers:
        return "no answers (and not is_impossible)"
    if not isinstance(answers, list) or not all(isinstance(a, dict) and "text" in a and "answer_start" in a for a in answers):
        return "'answers' must be a list of objects with 'text' and 'answer_start'"
    return None


def _add_question(out: Records, rid: Any, qa: dict, context: Any) -> None:
    """Append one SQuAD question as a flat record (v2.0's unanswerable ones with empty answer lists)."""
    answers = [] if qa.get("is_impossible") else qa["answers"]
    out["id"].append(str(rid))
    out["question"].append(qa.get("question"))
    out["context"].append(context)
    out["answers"].append({"text": [a.get("text") for a in answers], "answer_start": [a.get("answer_start") for a in answers]})
    out["candidates"].append(qa.get("candidates") or [])


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
                problem = _answers_problem(qa)
                if problem and not skip_bad:
                    raise DataError(f"{where}: record {rid!r}: {problem}{SKIP_HINT}")
                if problem:
                    broken += 1
                    continue
                _add_question(out, rid, qa, context)
                titles.append(str(title))
    if broken:
        log.warning("%s: skipped %d questions without usable answers (data.skip_bad)", where, broken)
    keep = checked_indices(out, where, skip_bad)
    return {k: [v[i] for i in keep] for k, v in out.items()}, [titles[i] for i in keep]


def read_squad_file(path: Path, skip_bad: bool = False) -> tuple[Records, list[str]]:
    """One SQuAD JSON file -> checked flat records and their article titles; unreadable or bad JSON is a DataError naming the file."""
    text = read_text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply to read") from None
    return parse_squad(doc, str(path), skip_bad)
