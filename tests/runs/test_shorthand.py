"""The shorthand of LM stages (data.pretrain_*, head.lm_finetune_epochs) is resolved into `stages:` when
a config is built: the run saves `stages:` only, `--resume` compares like with like whichever form the
user writes, and a run saved before (its config.yaml holding the shorthand) is resolved on read too."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest
import yaml

import rnn_nlp
from rnn_nlp.config import StageConfig, to_dict
from rnn_nlp.runs import build_config, train_run
from rnn_nlp.runs.configs import checkpoint_config, config_changes, load_run_config
from rnn_nlp.training import checkpoint as ckpt
from tests.tasks.classification.test_task import classify_raw, write_sentiment
from tests.tasks.tagging.data import tagging_raw, write_ner

STAGE_TRAINER = {"bptt": 8, "batch_size": 4}


def test_pretrain_shorthand_becomes_stages_and_is_cleared(tmp_path, caplog):
    raw = tagging_raw(
        "ner", write_ner(tmp_path / "ner"), data={"pretrain_epochs": 2, "pretrain_corpora": ["ptb"], "pretrain_time_budget_s": 30}
    )
    with caplog.at_level(logging.INFO):
        cfg = build_config(raw)
    assert cfg.stages == [StageConfig("lm_pretrain", 2, 30, ["ptb"]), StageConfig("task")]
    assert (cfg.data.pretrain_epochs, cfg.data.pretrain_corpora, cfg.data.pretrain_time_budget_s) == (0, [], None)
    assert cfg.pretrained is None
    assert "stages: [{name: lm_pretrain, epochs: 2, corpora: [ptb], time_budget_s: 30}, {name: task}]" in caplog.text
    again = build_config(to_dict(cfg))  # the saved form reads back as itself
    assert to_dict(again) == to_dict(cfg)


def test_finetune_shorthand_becomes_a_stage_from_pretrained(tmp_path, caplog):
    raw = classify_raw(write_sentiment(tmp_path / "s.csv"), head={"lm_finetune_epochs": 3})
    raw["pretrained"] = "runs/lm"
    with caplog.at_level(logging.INFO):
        cfg = build_config(raw)
    assert cfg.stages == [StageConfig("lm_finetune", 3), StageConfig("task")]
    assert cfg.pretrained == "runs/lm" and cfg.head.lm_finetune_epochs == 0
    assert "stages: [{name: lm_finetune, epochs: 3}, {name: task}]" in caplog.text


def test_shorthand_that_had_no_effect_is_cleared_and_said(tmp_path, caplog):
    """The shorthand did nothing with a `pretrained` LM (pretraining) or without one (fine-tuning): it still does
    nothing, and the config no longer carries it."""
    raw = tagging_raw("ner", write_ner(tmp_path / "ner"), data={"pretrain_epochs": 2})
    raw["pretrained"] = "runs/lm"
    with caplog.at_level(logging.INFO):
        cfg = build_config(raw)
    assert cfg.stages == [] and cfg.pretrained == "runs/lm" and cfg.data.pretrain_epochs == 0
    assert "data.pretrain_epochs is ignored" in caplog.text
    cfg = build_config(classify_raw(write_sentiment(tmp_path / "s.csv"), head={"lm_finetune_epochs": 1}))
    assert cfg.stages == [] and cfg.head.lm_finetune_epochs == 0
    assert "head.lm_finetune_epochs is ignored" in caplog.text


def test_an_old_saved_config_with_the_shorthand_is_resolved_on_read(tmp_path):
    """Before, the shorthand recorded its stage's folder in `pretrained`; read as a saved config, that is the stage."""
    run = tmp_path / "run"
    raw = tagging_raw("ner", write_ner(tmp_path / "ner"), data={"pretrain_epochs": 2, "pretrain_corpora": ["ptb"]})
    raw["pretrained"] = str(run / "lm-pretrained")
    cfg = build_config(raw, "config.yaml", saved_in=run / "checkpoint-last")
    assert cfg.stages == [StageConfig("lm_pretrain", 2, None, ["ptb"]), StageConfig("task")] and cfg.pretrained is None
    # ULMFiT's stage: `pretrained` was the fine-tuned LM; the LM it started from is in that run's own config
    (run / "lm-finetuned").mkdir(parents=True)
    (run / "lm-finetuned" / "config.yaml").write_text(yaml.safe_dump({"task": "lm", "pretrained": "runs/lm-ptb"}), encoding="utf-8")
    raw = classify_raw(write_sentiment(tmp_path / "s.csv"), head={"lm_finetune_epochs": 2})
    raw["pretrained"] = str(run / "lm-finetuned")
    cfg = build_config(raw, "config.yaml", saved_in=run / "best")
    assert cfg.stages == [StageConfig("lm_finetune", 2), StageConfig("task")] and cfg.pretrained == "runs/lm-ptb"


def _as_saved_before(folder, pretrained):
    """Rewrite a checkpoint's (or run-config.yaml's) config the way runs saved the shorthand before: the
    stage's folder in `pretrained`, data.pretrain_epochs kept, no `stages:`; meta.json's hash follows."""
    path = folder / "config.yaml" if folder.is_dir() else folder
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not raw["stages"]:
        return  # as saved before already (a best/ the resume did not replace)
    stage = raw["stages"][0]
    raw["stages"] = []
    raw["pretrained"] = pretrained
    if stage["name"] == "lm_finetune":
        raw["head"]["lm_finetune_epochs"] = stage["epochs"]
    else:
        raw["data"].update(
            pretrain_epochs=stage["epochs"], pretrain_corpora=stage["corpora"], pretrain_time_budget_s=stage["time_budget_s"]
        )
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    if folder.is_dir():
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        meta["files"]["config.yaml"] = hashlib.sha256(path.read_bytes()).hexdigest()
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.mark.slow
def test_a_shorthand_run_saves_stages_and_resumes_with_either_form(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "extra"
    corpus.mkdir()
    (corpus / "train.txt").write_text("john smith visited paris .\n" * 20, encoding="utf-8")
    data = write_ner(tmp_path / "ner", sizes=(120, 20, 20))
    shorthand = tagging_raw("ner", data, data={"pretrain_epochs": 1, "pretrain_corpora": [str(corpus)]}, trainer={"epochs": 1})
    run = tmp_path / "run"
    train_run(build_config(shorthand), run)
    for path in (run / "run-config.yaml", run / "checkpoint-last" / "config.yaml", run / "best" / "config.yaml"):
        saved = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert [s["name"] for s in saved["stages"]] == ["lm_pretrain", "task"], path
        assert saved["data"]["pretrain_epochs"] == 0 and saved["data"]["pretrain_corpora"] == [] and saved["pretrained"] is None, path
    assert (run / "lm-pretrained" / "FINISHED").exists()
    stages_form = tagging_raw(
        "ner", data, stages=[{"name": "lm_pretrain", "epochs": 1, "corpora": [str(corpus)]}, {"name": "task"}], trainer={"epochs": 1}
    )
    saved = checkpoint_config(ckpt.read_checkpoint(run / "checkpoint-last"))
    assert config_changes(saved, build_config(shorthand)) == config_changes(saved, build_config(stages_form)) == []
    train_run(build_config(shorthand), run, resume=True)  # the shorthand again
    train_run(build_config(stages_form), run, resume=True)  # the same stages, written out
    rnn_nlp.train(None, ["trainer.epochs=2"], out=run, resume=True)  # no config: the saved one
    assert ckpt.load_trainer_state(run / "checkpoint-last")["epoch"] == 2
    assert yaml.safe_load((run / "run-config.yaml").read_text(encoding="utf-8"))["stages"][0]["name"] == "lm_pretrain"

    # the same run as it was saved before the shorthand was resolved: it loads and resumes alike
    shorthand["trainer"]["epochs"] = stages_form["trainer"]["epochs"] = 3
    for folder in (run / "checkpoint-last", run / "best", run / "run-config.yaml"):
        _as_saved_before(folder, str(run / "lm-pretrained"))
    assert load_run_config(run).stages[0] == StageConfig("lm_pretrain", 1, None, [str(corpus)])
    assert rnn_nlp.load(run, "cpu").predict("Ann Lee visited Rome .").tokens == ["Ann", "Lee", "visited", "Rome", "."]
    train_run(build_config(shorthand, "config"), run, resume=True)
    for folder in (run / "checkpoint-last", run / "best"):
        _as_saved_before(folder, str(run / "lm-pretrained"))
    train_run(build_config(stages_form), run, resume=True)
    for folder in (run / "checkpoint-last", run / "best"):
        _as_saved_before(folder, str(run / "lm-pretrained"))
    rnn_nlp.train(None, ["trainer.epochs=4"], out=run, resume=True)
    assert ckpt.load_trainer_state(run / "checkpoint-last")["epoch"] == 4
    assert yaml.safe_load((run / "checkpoint-last" / "config.yaml").read_text(encoding="utf-8"))["data"]["pretrain_epochs"] == 0


def test_the_cli_says_shorthand_and_stages_together_in_one_line(tmp_path, capsys):
    from rnn_nlp.cli import main

    config = tmp_path / "ner.yaml"
    raw = tagging_raw("ner", write_ner(tmp_path / "ner"), data={"pretrain_epochs": 2}, stages=[{"name": "lm_pretrain"}, {"name": "task"}])
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "data.pretrain_epochs and stages both say" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_an_old_ulmfit_run_resumes_with_the_shorthand_or_its_own_config(tmp_path, corpus):
    """A classifier saved before: `pretrained` held RUN/lm-finetuned and head.lm_finetune_epochs its epochs.
    Read back, the LM it was fine-tuned from is `pretrained` again and the stage is in `stages:`."""
    from tests.conftest import tiny_raw

    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 10})), tmp_path / "lm")
    shorthand = classify_raw(write_sentiment(tmp_path / "s.csv", n=80), head={"lm_finetune_epochs": 1}, trainer={"epochs": 1})
    shorthand["pretrained"] = str(tmp_path / "lm")
    run = tmp_path / "clf"
    train_run(build_config(shorthand), run)
    for folder in (run / "checkpoint-last", run / "best"):
        _as_saved_before(folder, str(run / "lm-finetuned"))
    saved = checkpoint_config(ckpt.read_checkpoint(run / "checkpoint-last"))
    assert saved.pretrained == str(tmp_path / "lm") and saved.stages == [StageConfig("lm_finetune", 1), StageConfig("task")]
    shorthand["trainer"]["epochs"] = 2
    train_run(build_config(shorthand), run, resume=True)
    assert yaml.safe_load((run / "checkpoint-last" / "config.yaml").read_text(encoding="utf-8"))["pretrained"] == str(tmp_path / "lm")
    _as_saved_before(run / "checkpoint-last", str(run / "lm-finetuned"))
    rnn_nlp.train(None, ["trainer.epochs=3"], out=run, resume=True)
    assert ckpt.load_trainer_state(run / "checkpoint-last")["epoch"] == 3


@pytest.mark.slow
def test_a_shorthand_set_on_a_built_config_is_still_resolved_before_training(tmp_path):
    """A RunConfig changed after it was built (the Python API takes one) still trains its stage and saves `stages:`."""
    cfg = build_config(tagging_raw("ner", write_ner(tmp_path / "ner", sizes=(120, 20, 20)), trainer={"epochs": 1}))
    cfg.data.pretrain_epochs = 1
    train_run(cfg, tmp_path / "run")
    assert (tmp_path / "run" / "lm-pretrained" / "FINISHED").exists()
    saved = yaml.safe_load((tmp_path / "run" / "run-config.yaml").read_text(encoding="utf-8"))
    assert [s["name"] for s in saved["stages"]] == ["lm_pretrain", "task"] and saved["data"]["pretrain_epochs"] == 0
