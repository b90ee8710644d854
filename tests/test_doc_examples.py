"""Every Python example in README.md and docs/ runs, through the public API, on tiny runs trained here.

The examples name run folders (runs/ner, runs/lm-ptb, ...) and recipes; this test trains a tiny run
of the right task at each of those paths, makes `rnn_nlp.train(recipe, ...)` train the recipe's task
on tiny data, and executes each block as written: a renamed method or a changed signature fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import rnn_nlp
from rnn_nlp import api
from rnn_nlp.runs import load_config
from tests.conftest import tiny_raw, write_corpus
from tests.tasks.classification.test_task import classify_raw, write_sentiment
from tests.tasks.qa.test_task import qa_raw, write_squad
from tests.tasks.tagging.data import tagging_raw, write_ner, write_pos

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for path in DOCS:
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)):
            found.append((path.name, i, block))
    return found


def _seq2seq_raw(folder: Path) -> dict:
    import random

    rng = random.Random(0)
    words = "in the beginning god created heaven and earth light said".split()
    lines = []
    for _ in range(200):
        src = [rng.choice(words) for _ in range(rng.randint(2, 5))]
        lines.append(" ".join(src) + "\t" + " ".join(w.upper() for w in reversed(src)))
    path = folder / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "task": "seq2seq",
        "data": {"name": str(path), "tokenizer": "whitespace"},
        "backbone": {"rnn": "gru", "emb_size": 16, "hidden_size": 16, "layers": 1, "direction": "both"},
        "head": {
            "decoder": {"rnn": "gru", "emb_size": 16, "hidden_size": 16, "layers": 1},
            "attention": "general",
            "eval_decode_examples": 5,
            "max_decode_tokens": 8,
        },
        "trainer": {"epochs": 2, "batch_size": 16, "optimizer": "adam", "lr": 0.01, "schedule": "none", "progress": False, "device": "cpu"},
    }


def _tiny_configs(data: Path) -> dict[str, dict]:
    """A few-second config of each task, on data written under `data`."""
    cloze = data / "cloze"
    cloze.mkdir(parents=True)
    write_squad(cloze / "train-v1.1.json", 120, 0)
    write_squad(cloze / "dev-v1.1.json", 20, 1)
    return {
        "lm": tiny_raw(write_corpus(data / "corpus"), trainer={"epochs": 1}),
        "ner": tagging_raw("ner", write_ner(data / "ner"), trainer={"epochs": 2}),
        "pos": tagging_raw("pos", write_pos(data / "pos"), trainer={"epochs": 1}),
        "classify": classify_raw(write_sentiment(data / "reviews.csv"), trainer={"epochs": 1}),
        "qa": qa_raw(cloze, trainer={"epochs": 1}),
        "seq2seq": _seq2seq_raw(data),
    }


RUNS = {
    "runs/ner": "ner",
    "runs/pos": "pos",
    "runs/lm-ptb": "lm",
    "runs/sentiment-rt": "classify",
    "runs/qa-cloze": "qa",
    "runs/translate-bible": "seq2seq",
}
RECIPE_TASKS = {
    "ner-conll03": "ner",
    "pos-brown": "pos",
    "lm-ptb": "lm",
    "sentiment-rt": "classify",
    "qa-cloze": "qa",
    "translate-bible": "seq2seq",
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("doc-examples")
    configs = _tiny_configs(root / "data")
    for folder, task in RUNS.items():
        api.train(configs[task], out=root / folder)
    return root, configs


@pytest.mark.slow
@pytest.mark.parametrize("doc, index, code", _blocks(), ids=[f"{d}-{i}" for d, i, _ in _blocks()])
def test_example_runs(doc, index, code, workdir, monkeypatch):
    root, configs = workdir
    monkeypatch.chdir(root)
    real_train = api.train

    def tiny_train(config, overrides=(), out=None, **kw):  # a recipe's task, on tiny data, with the user's `out`
        task = RECIPE_TASKS.get(str(config))
        load_config(str(config), list(overrides))  # the example's recipe and overrides are valid as written
        kw.pop("overwrite", None)
        return real_train(configs[task] if task else config, out=out, overwrite=True, **kw)

    monkeypatch.setattr(rnn_nlp.api, "train", tiny_train)
    sentences = [line.split() for line in (root / "data" / "corpus" / "train.txt").read_text().splitlines()]
    monkeypatch.setattr("rnn_nlp.experiments.common.ptb_sentences", lambda split: sentences[:200], raising=False)
    exec(compile(code, f"{doc} python block {index}", "exec"), {"__name__": "__doc_example__"})
