"""Tiny trained runs for the export, model-card, hub, ONNX and torch-free predictor tests: trained once per
session, each only when a test asks for it (a few seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnn_nlp.runs import build_config, train_run
from tests.tasks.classification.test_task import classify_raw, write_sentiment
from tests.tasks.tagging.data import tagging_raw, write_ner, write_pos


def _train(root: Path, kind: str, **sections) -> Path:
    if kind == "ner":
        raw = tagging_raw("ner", write_ner(root / "data"), **sections)
    elif kind == "pos":
        raw = tagging_raw("pos", write_pos(root / "data"), **sections)
    else:
        raw = classify_raw(write_sentiment(root / "reviews.csv"), **sections)
    train_run(build_config(raw), root / "run")
    return root / "run"


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """trained(kind, **sections) -> a run folder: "ner", "pos" or "classify", tiny, trained once per arguments."""
    made: dict[str, Path] = {}

    def get(kind: str, **sections) -> Path:
        key = f"{kind}{sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in sections.items())}"
        if key not in made:
            made[key] = _train(tmp_path_factory.mktemp(kind), kind, **sections)
        return made[key]

    return get
