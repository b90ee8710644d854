"""The torch-free predictor: an ONNX export predicts through onnxruntime and numpy in a process where
`import torch` fails, giving the results the torch model gives; its files are checked before use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rnn_nlp
from rnn_nlp import api, inference
from rnn_nlp.errors import CheckpointError
from tests.shipping.sentences import random_texts

pytest.importorskip("onnxruntime", reason="the onnx extra is part of the test extra")
ROOT = Path(__file__).resolve().parents[2]

NO_TORCH = """
import importlib.abc, json, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"torch is blocked in this process ({name})")
        return None

sys.meta_path.insert(0, NoTorch())
try:
    import torch  # noqa: F401
    sys.exit("torch imported")
except ImportError:
    pass
from rnn_nlp import inference

folder, int8, texts = sys.argv[1], sys.argv[2] == "1", json.loads(sys.stdin.read())
model = inference.load(folder, int8=int8, threads=1)
spacy_at_load = "spacy" in sys.modules  # the tokenizer is built at load, not at the first prediction
print(json.dumps({"results": [r.to_dict() for r in model.predict(texts)], "torch": [m for m in sys.modules if m.split(".")[0] == "torch"],
                  "spacy_at_load": spacy_at_load}))
"""


def predict_without_torch(folder: Path, texts: list[str], int8: bool = False) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(folder), "1" if int8 else "0"],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def scores_apart(a: dict, b: dict) -> None:
    """Two to_dict() results equal but for entity scores, which may differ in their last printed digit."""
    for x, y in zip(a.get("entities") or [], b.get("entities") or [], strict=True):
        assert x.pop("score") == pytest.approx(y.pop("score"), abs=2e-4)
    assert a == b


@pytest.mark.parametrize("kind", ["ner", "classify"])
def test_the_predictor_runs_where_torch_cannot_be_imported(trained, tmp_path, kind):
    run = trained(kind)
    out = api.export(run, tmp_path / kind, onnx=True, int8=True)
    texts = random_texts(15, 20, seed=8)
    found = predict_without_torch(out, texts)
    assert found["torch"] == []
    # a tagger reads raw text with spaCy: its tokenizer is built by load, so the first prediction does not import it
    # (this classifier reads whitespace, so nothing imports spaCy)
    assert found["spacy_at_load"] == (kind == "ner")
    expected = [r.to_dict() for r in rnn_nlp.load(run, "cpu").predict(texts)]
    for got, want in zip(found["results"], expected, strict=True):
        if kind == "classify":
            assert got["label"] == want["label"]
            assert list(got["probabilities"].values()) == pytest.approx(list(want["probabilities"].values()), abs=1e-4)
        else:
            scores_apart(got, want)
    quantized = predict_without_torch(out, texts, int8=True)["results"]
    assert len(quantized) == len(texts) and all(set(r) == set(w) for r, w in zip(quantized, expected, strict=True))


def test_the_predictor_reads_pretrained_vectors_where_torch_cannot_be_imported(tmp_path):
    """A run with backbone.vectors: the torch-free predictor memory-maps the vectors file and reads an unseen word
    the vectors know ("splendid") as the PyTorch model does."""
    from rnn_nlp.runs import build_config, train_run
    from tests.tasks.classification.test_task import classify_raw, write_sentiment, write_sentiment_vectors

    vectors = write_sentiment_vectors(tmp_path / "vectors.txt")
    raw = classify_raw(write_sentiment(tmp_path / "reviews.csv"), backbone={"vectors": str(vectors)}, trainer={"epochs": 2})
    train_run(build_config(raw), tmp_path / "run")
    out = api.export(tmp_path / "run", tmp_path / "out", onnx=True)
    texts = ["the film was splendid", "the film was dreadful", "the film was gotham"]
    found = predict_without_torch(out, texts)
    assert found["torch"] == []
    expected = [r.to_dict() for r in rnn_nlp.load(tmp_path / "run", "cpu").predict(texts)]
    for got, want in zip(found["results"], expected, strict=True):
        assert got["label"] == want["label"]
        assert list(got["probabilities"].values()) == pytest.approx(list(want["probabilities"].values()), abs=1e-4)
    assert found["results"][0]["probabilities"] != found["results"][2]["probabilities"]  # "splendid" is not <unk>


def test_the_predictor_checks_its_files(trained, tmp_path):
    run = trained("classify")
    plain = api.export(run, tmp_path / "plain")
    with pytest.raises(CheckpointError, match="--onnx"):
        inference.load(plain)
    out = api.export(run, tmp_path / "onnx", onnx=True)
    with pytest.raises(CheckpointError, match="no int8 graph"):
        inference.load(out, int8=True)
    model = inference.load(out)
    assert model.predict("a great film").label in ("neg", "pos") and repr(model).startswith("<OnnxClassifier task='classify'")
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a str"):
        model.predict(["fine", 3])
    torch_model = rnn_nlp.load(run)
    for bad in ({"a great film": 1}, {"a great film"}, b"a great film", 3):  # refused before any is read, as PyTorch refuses
        with pytest.raises(TypeError, match=r"inputs must be a list \(or an iterator\)"):
            model.predict(bad)
        with pytest.raises(TypeError, match=r"inputs must be a list \(or an iterator\)"):
            torch_model.predict(bad)
    assert [r.label for r in model.predict(iter(["a great film", "dull"]))] == [r.label for r in model.predict(["a great film", "dull"])]
    for bad, error in ((0, ValueError), (-2, ValueError), (True, TypeError), (2.5, TypeError)):  # the same check as PyTorch's
        for call in (model.predict, model.probabilities, torch_model.predict, torch_model.probabilities):
            with pytest.raises(error, match="batch_size must be"):
                call(["a great film"], batch_size=bad)
    data = bytearray((out / "model.onnx").read_bytes())
    data[-10] ^= 0xFF
    (out / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="model.onnx: corrupted"):
        inference.load(out)


def test_the_inference_extra_installs_the_runtime_and_no_torch():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {req.split(">")[0].split("=")[0].split("<")[0].strip().lower() for req in extras["inference"]}
    assert names == {"onnxruntime", "numpy", "pyyaml", "spacy"}  # what rnn_nlp.inference imports, and nothing of torch
    assert {"onnx", "onnxruntime", "onnxscript"} <= {r.split(">")[0].strip() for r in extras["onnx"]}
