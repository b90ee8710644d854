"""Tiny, learnable NER (CoNLL columns) and POS (word/tag) corpora that tests write themselves."""

from __future__ import annotations

import random
from pathlib import Path

from tests.conftest import with_sections

PEOPLE = [["John", "Smith"], ["Mary"], ["Ann", "Lee"], ["Bob"], ["Karl", "Marx"]]
PLACES = [["Paris"], ["New", "York"], ["Berlin"], ["Rome"]]
ORGS = [["Acme", "Corp"], ["Globex"], ["Initech"]]
VERBS = ["visited", "left", "saw", "joined"]


def _entity(words: list[str], kind: str) -> list[tuple[str, str]]:
    return [(w, ("B-" if i == 0 else "I-") + kind) for i, w in enumerate(words)]


def ner_sentence(rng: random.Random) -> list[tuple[str, str]]:
    subject = _entity(rng.choice(PEOPLE), "PER")
    if rng.random() < 0.5:
        obj = _entity(rng.choice(PLACES), "LOC")
    else:
        obj = _entity(rng.choice(ORGS), "ORG")
    return subject + [(rng.choice(VERBS), "O")] + obj + [(".", "O")]


def write_ner(folder: Path, sizes=(240, 40, 40), seed: int = 0, document_size: int | None = None) -> Path:
    """train.txt / valid.txt / test.txt in CoNLL-2003's four columns, with -DOCSTART- lines: one a file, or
    one every `document_size` sentences (documents, for data.context)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "valid", "test"), sizes):
        lines = ["-DOCSTART- -X- -X- O", ""]
        for i in range(n):
            if document_size and i and i % document_size == 0:
                lines += ["-DOCSTART- -X- -X- O", ""]
            lines += [f"{w} X X {t}" for w, t in ner_sentence(rng)] + [""]
        (folder / f"{split}.txt").write_text("\n".join(lines), encoding="utf-8")
    return folder


POS_WORDS = {
    "DET": ["the", "a", "every"],
    "NOUN": ["dog", "cat", "house", "idea"],
    "VERB": ["sees", "likes", "finds"],
    "ADJ": ["big", "red", "old"],
}


def write_pos(folder: Path, sizes=(240, 40, 40), seed: int = 0) -> Path:
    """word/tag lines: DET (ADJ) NOUN VERB DET NOUN ."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "valid", "test"), sizes):
        lines = []
        for _ in range(n):
            pattern = ["DET"] + (["ADJ"] if rng.random() < 0.5 else []) + ["NOUN", "VERB", "DET", "NOUN"]
            lines.append(" ".join(f"{rng.choice(POS_WORDS[t])}/{t}" for t in pattern) + " ./.")
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def tagging_raw(task: str, data_path: Path, **sections) -> dict:
    raw = {
        "task": task,
        "data": {"name": str(data_path), "min_count": 1},
        "backbone": {"emb_size": 16, "hidden_size": 16, "layers": 1, "direction": "both"},
        "head": {"dropout": 0.0, "word_dropout": 0.0, "char_features": "cnn", "char_size": 8, "char_emb_size": 8},
        "trainer": {
            "epochs": 6,
            "batch_size": 16,
            "eval_batch_size": 32,
            "optimizer": "adam",
            "lr": 0.02,
            "clip_norm": 5.0,
            "schedule": "none",
            "progress": False,
            "device": "cpu",
            "checkpoint_every": 1000,
        },
    }
    return with_sections(raw, sections)
