"""Shared fixtures: a private cache folder, a tiny patterned corpus, tiny configs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from rnn_nlp.runs import build_config

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


def with_sections(raw: dict, sections: dict) -> dict:
    """`raw` with each section's keys updated from a dict, or the section replaced by a non-dict value."""
    for section, values in sections.items():
        if isinstance(values, dict):
            raw.setdefault(section, {}).update(values)
        else:
            raw[section] = values
    return raw


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
    return with_sections(raw, sections)


@pytest.fixture
def tiny_config(corpus):
    return build_config(tiny_raw(corpus))


def ctrl_c_at(monkeypatch, task_cls: type, step: int) -> None:
    """Send ourselves SIGINT while batch number `step` (0-based, first epoch) of `task_cls` is trained."""
    import os
    import signal

    original = task_cls.train_batches

    def batches_then_ctrl_c(self, epoch, start, device):
        for i, batch in enumerate(original(self, epoch, start, device)):
            if epoch == 0 and start + i == step:
                os.kill(os.getpid(), signal.SIGINT)
            yield batch

    monkeypatch.setattr(task_cls, "train_batches", batches_then_ctrl_c)


def assert_ctrl_c_resume_matches(cfg, task_cls: type, folder: Path, monkeypatch, stop_step: int) -> None:
    """Train `cfg` uninterrupted, then again with Ctrl-C at `stop_step` of the first epoch and
    `--resume`: the last checkpoints' weights must agree to 1e-6."""
    from rnn_nlp.runs import train_run
    from rnn_nlp.training import checkpoint as ckpt
    from rnn_nlp.training.run_folder import LAST
    from rnn_nlp.training.trainer import TrainingInterrupted

    train_run(cfg, folder / "full")
    ctrl_c_at(monkeypatch, task_cls, stop_step)
    with pytest.raises(TrainingInterrupted):
        train_run(cfg, folder / "part")
    monkeypatch.undo()
    train_run(cfg, folder / "part", resume=True)
    a, b = ckpt.load_weights(folder / "full" / LAST), ckpt.load_weights(folder / "part" / LAST)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
