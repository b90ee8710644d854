"""`pretrained: NAME` and `rnn_nlp.load(NAME)` find a built-in recipe's trained run as each other does."""

import pytest

from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.training.recipe_runs import recipe_run_dirs, run_or_recipe
from tests.conftest import tiny_raw
from tests.tasks.tagging.data import tagging_raw, write_ner


def test_a_recipe_name_as_pretrained_starts_from_that_recipes_run(tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    lm = tiny_raw(corpus, backbone={"direction": "both", "layers": 1})
    train_run(build_config(lm), tmp_path / "runs" / "lm-ptb")  # where `rnn-nlp train lm-ptb` puts it
    assert run_or_recipe("lm-ptb") == recipe_run_dirs("lm-ptb")[0]
    raw = tagging_raw("ner", write_ner(tmp_path / "data", sizes=(30, 6, 6)), trainer={"epochs": 1})
    raw["pretrained"] = "lm-ptb"
    train_run(build_config(raw), tmp_path / "ner")
    cfg, _, model = load_run(tmp_path / "ner")
    assert cfg.pretrained == "lm-ptb"  # as written: the resolution happens at each start
    assert model.backbone.cfg.hidden_size == 16 and len(model.backbone.directions) == 2


def test_a_recipe_name_with_no_trained_run_says_how_to_train_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    raw = tagging_raw("ner", write_ner(tmp_path / "data", sizes=(10, 3, 3)), trainer={"epochs": 1})
    raw["pretrained"] = "lm-ptb"
    with pytest.raises(ConfigError, match=r"pretrained: no trained run of recipe 'lm-ptb'.*rnn-nlp train lm-ptb"):
        train_run(build_config(raw), tmp_path / "ner")
    with pytest.raises(CheckpointError, match="no such run folder"):
        run_or_recipe("not-a-recipe-nor-a-folder")
