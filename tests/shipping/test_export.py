"""Slim exports and model cards: every run writes README.md; `rnn-nlp export` (= Model.save) writes the
weights, vocabularies, config and card only, and `rnn_nlp.load` of the export predicts as the run."""

from __future__ import annotations

import json

import pytest
import yaml
from safetensors import safe_open

import rnn_nlp
from rnn_nlp import api
from rnn_nlp.cli import main
from rnn_nlp.errors import CheckpointError, ConfigError, SaveError
from rnn_nlp.model_card import read_front_matter

TEXTS = ["Mary visited Paris .", "Ann Lee joined Acme Corp", "", "Bob saw New York ."]


def card_of(folder):
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return text, read_front_matter(text)


def test_a_run_writes_its_model_card(trained):
    run = trained("ner")
    text, meta = card_of(run)
    assert meta["library_name"] == "rnn-nlp" and meta["pipeline_tag"] == "token-classification"
    own = meta["rnn_nlp"]
    assert own["task"] == "ner" and "S-PER" in own["labels"] and own["dtype"] == "float32"
    assert own["splits"]["train"]["sentences"] == 240 and len(own["splits"]["train"]["sha256"]) == 64
    assert own["versions"]["rnn_nlp"] == rnn_nlp.__version__
    f1 = [m for m in own["metrics"] if m["name"] == "f1" and m["split"] == "valid"]
    assert f1 and f1[0]["command"].startswith("rnn-nlp train run/run-config.yaml --out run")
    rows = (run / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    best = max(float(r.split(",")[header.index("valid_f1")]) for r in rows[1:])
    assert f1[0]["value"] == pytest.approx(best)
    results = meta["model-index"][0]["results"]
    assert {"type": "f1", "value": pytest.approx(best), "name": "valid f1"} in [r["metrics"][0] for r in results]
    assert "## Intended use" in text and "## Known limits" in text and "train_scheme: bioes" in text


def test_the_card_is_a_hub_model_card(trained):
    hub = pytest.importorskip("huggingface_hub", reason="the hub extra reads the card as the hub does")
    card = hub.ModelCard.load(trained("classify") / "README.md")
    data = card.data.to_dict()
    assert data["pipeline_tag"] == "text-classification" and data["rnn_nlp"]["labels"] == ["neg", "pos"]
    assert card.data.eval_results and card.data.eval_results[0].metric_type in ("accuracy", "loss", "macro_f1")


def test_evaluate_adds_its_measurement_and_command_to_the_card(trained, capsys):
    run = trained("pos")
    assert main(["evaluate", str(run), "--split", "test", "--device", "cpu"]) == 0
    saved = json.loads((run / "eval-test.json").read_text())
    _, meta = card_of(run)
    test = {m["name"]: m for m in meta["rnn_nlp"]["metrics"] if m["split"] == "test"}
    assert test["accuracy"]["value"] == pytest.approx(saved["accuracy"])
    assert test["accuracy"]["command"] == "rnn-nlp evaluate run --split test"


def test_export_is_slim_and_predicts_as_the_run(trained, tmp_path, capsys):
    run = trained("ner")
    out = tmp_path / "ner-export"
    assert main(["export", str(run), str(out)]) == 0
    assert "exported" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.yaml", "meta.json", "model.safetensors", "vocab.json"]
    size = sum(p.stat().st_size for p in out.iterdir())
    assert size < sum(p.stat().st_size for p in run.rglob("*") if p.is_file()) / 2
    before = [r.to_dict() for r in rnn_nlp.load(run, "cpu").predict(TEXTS)]
    assert [r.to_dict() for r in rnn_nlp.load(out, "cpu").predict(TEXTS)] == before
    _, meta = card_of(out)
    _, run_meta = card_of(run)
    assert meta["rnn_nlp"]["splits"] == run_meta["rnn_nlp"]["splits"] and meta["rnn_nlp"]["metrics"] == run_meta["rnn_nlp"]["metrics"]


def test_a_bf16_export_stores_bfloat16_and_tags_alike(trained, tmp_path):
    run = trained("ner")
    out = api.export(run, tmp_path / "bf16", dtype="bf16")
    with safe_open(str(out / "model.safetensors"), "pt") as fh:
        dtypes = {str(fh.get_tensor(k).dtype) for k in fh.keys()}
    assert "torch.bfloat16" in dtypes and "torch.float32" not in dtypes
    assert card_of(out)[1]["rnn_nlp"]["dtype"] == "bfloat16"
    full = rnn_nlp.load(run, "cpu").predict(TEXTS)
    assert [r.tags for r in rnn_nlp.load(out, "cpu").predict(TEXTS)] == [r.tags for r in full]
    assert (tmp_path / "bf16" / "model.safetensors").stat().st_size < (run / "best" / "model.safetensors").stat().st_size * 0.6


def test_model_save_is_the_export_and_carries_the_card(trained, tmp_path):
    run = trained("classify")
    model = rnn_nlp.load(run, "cpu")
    saved = model.save(tmp_path / "saved")
    exported = api.export(run, tmp_path / "exported")
    assert sorted(p.name for p in saved.iterdir()) == sorted(p.name for p in exported.iterdir())
    assert yaml.safe_load((saved / "config.yaml").read_text()) == yaml.safe_load((exported / "config.yaml").read_text())
    assert card_of(saved)[1]["rnn_nlp"] == card_of(exported)[1]["rnn_nlp"]
    again = rnn_nlp.load(saved, "cpu").save(tmp_path / "again")  # a saved model's card is passed on
    assert card_of(again)[1]["rnn_nlp"]["splits"] == card_of(saved)[1]["rnn_nlp"]["splits"]
    # a user's edits to the card do not make the model unloadable: the card is not hashed
    (again / "README.md").write_text("# my notes\n", encoding="utf-8")
    assert rnn_nlp.load(again, "cpu").predict("a great film").label in ("neg", "pos")


def test_export_refuses_what_it_cannot_do(trained, tmp_path):
    run = trained("classify")
    with pytest.raises(ConfigError, match="another folder"):
        api.export(run, run)
    with pytest.raises(ConfigError, match="--dtype"):
        api.export(run, tmp_path / "x", dtype="int4")
    with pytest.raises(ConfigError, match="--onnx"):
        api.export(run, tmp_path / "x", int8=True)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    with pytest.raises(SaveError, match="other files"):
        api.export(run, other)
    assert (other / "todo.txt").read_text() == "keep me"
    api.export(run, tmp_path / "twice")
    with pytest.raises(SaveError, match="overwrite"):
        api.export(run, tmp_path / "twice")
    api.export(run, tmp_path / "twice", overwrite=True)
    with pytest.raises(CheckpointError, match="no such run folder"):
        api.export(tmp_path / "missing", tmp_path / "y")
    assert main(["export", str(tmp_path / "missing"), str(tmp_path / "y")]) == 2


def test_a_card_says_when_valid_was_trained_on():
    from rnn_nlp.model_card import CardFacts, render

    said = "Its valid split was trained on too (`data.train_with_dev`)"
    assert said in render(CardFacts("ner-dev", "ner", {"data": {"name": "conll2003", "train_with_dev": True}}, data="conll2003"))
    assert said not in render(CardFacts("ner", "ner", {"data": {"name": "conll2003"}}, data="conll2003"))


def test_the_cards_valid_metrics_are_the_kept_models(tmp_path):
    from rnn_nlp.runs.model_card import training_metrics

    rows = "epoch,step,valid_loss,valid_f1\n1,10,0.5,0.90\n2,20,0.4,0.95\n3,30,0.45,0.93\n"
    (tmp_path / "metrics.csv").write_text(rows, encoding="utf-8")
    best = {m.name: m.value for m in training_metrics(tmp_path, "ner", "conll2003")}
    last = {m.name: m.value for m in training_metrics(tmp_path, "ner", "conll2003", last=True)}
    assert best == {"loss": 0.4, "f1": 0.95}  # the best evaluation's, where valid picks the model
    assert last == {"loss": 0.45, "f1": 0.93}  # the last one's, where data.train_with_dev keeps the last model
