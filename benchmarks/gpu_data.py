"""Tiny corpora that benchmarks/gpu.py --smoke writes for itself, so a CPU check needs no download.

Patterned text in the formats the real runs read: an LM corpus (train/valid/test.txt, one sentence
a line, standing in for PTB), CoNLL-2003 columns (standing in for conll2003) and a labelled CSV
(standing in for rotten-tomatoes). Their figures measure nothing; they only prove the steps run.
"""

from __future__ import annotations

import random
from pathlib import Path

NAMES = [["John", "Smith"], ["Mary"], ["Ann", "Lee"], ["Bob"]]
PLACES = [["Paris"], ["New", "York"], ["Rome"]]
VERBS = ["sees", "likes", "visited", "finds"]
THINGS = ["the ball", "a house", "the tree", "a red car", "the moon"]
GOOD, BAD = ["good", "great", "lovely"], ["bad", "dull", "awful"]
FILLER = ["the", "film", "was", "a", "story", "really", "plot"]


def lm_corpus(folder: Path, lines=(400, 40, 40), seed: int = 0) -> Path:
    """train.txt / valid.txt / test.txt of subject-verb-object sentences."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "valid", "test"), lines):
        rows = [f"{' '.join(rng.choice(NAMES)).lower()} {rng.choice(VERBS)} {rng.choice(THINGS)} ." for _ in range(n)]
        (folder / f"{split}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def _chunk(words: list[str], kind: str) -> list[str]:
    return [f"{w} X X {'B' if i == 0 else 'I'}-{kind}" for i, w in enumerate(words)]


def ner_corpus(folder: Path, sentences=(160, 30, 30), seed: int = 0) -> Path:
    """train.txt / valid.txt / test.txt in CoNLL-2003's four columns (IOB2), with -DOCSTART- lines."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "valid", "test"), sentences):
        lines = ["-DOCSTART- -X- -X- O", ""]
        for _ in range(n):
            lines += _chunk(rng.choice(NAMES), "PER") + [f"{rng.choice(VERBS)} X X O"]
            lines += _chunk(rng.choice(PLACES), "LOC") + [". X X O", ""]
        (folder / f"{split}.txt").write_text("\n".join(lines), encoding="utf-8")
    return folder


def reviews(path: Path, n: int = 240, seed: int = 0) -> Path:
    """A `text,label` CSV of fresh / rotten snippets (one sentiment word among filler)."""
    rng = random.Random(seed)
    rows = ["text,label"]
    for i in range(n):
        label = "fresh" if i % 2 else "rotten"
        words = rng.sample(FILLER, 4) + [rng.choice(GOOD if label == "fresh" else BAD)]
        rng.shuffle(words)
        rows.append(f"{' '.join(words)},{label}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
