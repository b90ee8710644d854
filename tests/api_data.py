"""Tiny data and tiny configs for the public-API, examples and packaging tests.

One writer per task (reusing the task tests' own generators, so the data stay learnable in a few
epochs) and the raw config of a run that trains in a few seconds on 1 thread. Every writer puts its
files in a folder, which is what a config's `data.name` (and an example's `--tiny DIR`) names.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.conftest import tiny_raw, with_sections, write_corpus
from tests.tasks.classification.test_task import classify_raw, write_sentiment
from tests.tasks.qa.test_task import cloze_record, qa_raw, write_squad
from tests.tasks.seq2seq.test_task import WORDS
from tests.tasks.seq2seq.test_task import raw as seq2seq_task_raw
from tests.tasks.tagging.data import tagging_raw, write_ner, write_pos

TASKS = ("lm", "classify", "ner", "pos", "qa", "seq2seq")


def write_lm(folder: Path, seed: int = 0) -> Path:
    """train.txt / valid.txt / test.txt of subject-verb-object sentences."""
    return write_corpus(folder, seed=seed)


def write_classify(folder: Path, seed: int = 0) -> Path:
    """A folder holding train.csv (text,label: pos / neg); valid and test are carved off it when read."""
    folder.mkdir(parents=True, exist_ok=True)
    write_sentiment(folder / "train.csv", seed=seed)
    return folder


def write_qa(folder: Path, seed: int = 0) -> Path:
    """A SQuAD v1.1 cloze set: train-v1.1.json and dev-v1.1.json (the dev file is also the test split)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_squad(folder / "train-v1.1.json", 240, seed)
    write_squad(folder / "dev-v1.1.json", 40, seed + 1)
    return folder


def write_seq2seq(folder: Path, seed: int = 0, n: int = 400) -> Path:
    """A folder holding train.tsv (valid and test carved off it): source<TAB>target, the source's words reversed and upper-cased."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 5))]
        lines.append(" ".join(words) + "\t" + " ".join(w.upper() for w in reversed(words)))
    (folder / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


WRITERS = {"lm": write_lm, "classify": write_classify, "ner": write_ner, "pos": write_pos, "qa": write_qa, "seq2seq": write_seq2seq}


def write_data(task: str, folder: Path, seed: int = 0) -> Path:
    """The tiny data of `task` written into `folder` (different seeds give different examples)."""
    return WRITERS[task](folder, seed=seed)


def qa_input(seed: int = 5, candidates: bool = True) -> dict:
    """One predict input of the cloze reader: {"question", "context"[, "candidates"]}."""
    q, context = cloze_record(random.Random(seed), f"input-{seed}")
    row = {"question": q["question"], "context": context}
    if candidates:
        row["candidates"] = q["candidates"]
    return row


def raw_config(task: str, data: Path, **sections) -> dict:
    """The raw config mapping of a run of `task` on `data` that trains in seconds (sections override keys)."""
    if task == "lm":
        raw = tiny_raw(data)
    elif task == "classify":
        raw = classify_raw(data, trainer={"epochs": 3})
    elif task in ("ner", "pos"):
        raw = tagging_raw(task, data, trainer={"epochs": 3})
    elif task == "qa":
        raw = qa_raw(data, trainer={"epochs": 4})
    elif task == "seq2seq":
        raw = seq2seq_task_raw(data, trainer={"epochs": 10, "lr": 0.03})
    else:
        raise KeyError(task)
    return with_sections(raw, sections)
