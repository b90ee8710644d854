"""Shared fixtures: a private cache folder, a tiny patterned corpus, tiny configs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from rnn_nlp.config import build_config

SUBJECTS = ["the cat", "a dog", "the bird", "my friend", "the teacher", "a child"]
VERBS = ["sees", "likes", "chases", "finds", "hears"]
OBJECTS = ["the ball", "a house", "the tree", "some water", "the moon", "a red car"]


def write_corpus(folder: Path, lines_per_split=(600, 60, 60), seed: int = 0) -> Path:
    """train.txt / valid.txt / test.txt of simple subject-verb-object sentences (learnable patterns)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in zip(("train", "valid", "test"), lines_per_split):
        lines = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} ." for _ in range(n)]
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Fetched corpora go to a temporary cache, never the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("RNN_NLP_CACHE", str(tmp_path_factory.mktemp("cache")))
    torch.set_num_threads(1)
    yield
    mp.undo()


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "corpus")


def tiny_raw(corpus: Path, **sections) -> dict:
    """A raw config dict for a very small LM on `corpus`; sections override keys per section."""
    raw = {
        "task": "lm",
        "data": {"name": str(corpus), "tokenizer": "whitespace"},
        "backbone": {"rnn": "lstm", "emb_size": 16, "hidden_size": 16, "layers": 2},
        "head": {"softmax": "full", "tie_weights": True},
        "trainer": {
            "epochs": 2,
            "batch_size": 4,
            "eval_batch_size": 4,
            "bptt": 8,
            "optimizer": "sgd",
            "lr": 5.0,
            "schedule": "none",
            "progress": False,
            "checkpoint_every": 10,
            "device": "cpu",
        },
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    return raw


@pytest.fixture
def tiny_config(corpus):
    return build_config(tiny_raw(corpus))
