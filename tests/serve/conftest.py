"""Tiny trained runs for the server's tests: a tagger (NER), a classifier and a language model, trained once
per test session (seconds each), loaded once, and warmed up (the first tagger call loads spaCy); and a
barely trained encoder-decoder for the decoding limits and batching of /translate."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import rnn_nlp
from tests.api_data import raw_config, write_data

pytest.importorskip("fastapi", reason='the server needs the serve extra: pip install "rnn-nlp[serve]"')
pytest.importorskip("httpx", reason="the app's tests need httpx (the test extra)")

NAMES = {"tagger": "ner", "classifier": "classify", "lm": "lm"}  # served name -> task
LOAD_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"


@pytest.fixture(scope="session")
def serve_runs(tmp_path_factory) -> dict[str, Path]:
    """name -> run folder; the classifier's run is evaluated (eval-test.json, its confusion matrix) and has a model card."""
    from rnn_nlp.cli import main

    root = tmp_path_factory.mktemp("serve")
    runs = {}
    for name, task in NAMES.items():
        runs[name] = root / name
        rnn_nlp.train(raw_config(task, write_data(task, root / f"data-{task}")), out=runs[name])
    assert main(["evaluate", str(runs["classifier"]), "--split", "test", "--device", "cpu"]) == 0
    (runs["classifier"] / "README.md").write_text(
        "---\nlicense: mit\n---\n# A tiny sentiment classifier\n\n- trained on **made-up** reviews\n", encoding="utf-8"
    )
    return runs


@pytest.fixture(scope="session")
def serve_models(serve_runs) -> dict:
    models = {name: rnn_nlp.load(path, "cpu") for name, path in serve_runs.items()}
    models["tagger"].predict("warm up .")
    return models


@pytest.fixture(scope="session")
def serve_translator(tmp_path_factory):
    """A tiny encoder-decoder, trained one epoch on 60 pairs (seconds): what it outputs matters less than
    that it decodes, deterministically (run defaults: greedy, at most 10 tokens)."""
    from tests.api_data import write_seq2seq

    root = tmp_path_factory.mktemp("serve-seq2seq")
    raw = raw_config("seq2seq", write_seq2seq(root / "data", n=60), trainer={"epochs": 1})
    return rnn_nlp.train(raw, out=root / "seq2seq")


@pytest.fixture(scope="session")
def load_script():
    """benchmarks/serve_load.py as a module (its HOSTILE requests)."""
    spec = importlib.util.spec_from_file_location("bench_serve_load", LOAD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
