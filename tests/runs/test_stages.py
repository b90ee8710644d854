"""Training stages: `stages:` in a config runs LM pretraining / fine-tuning on the task's text before the
task, each an ordinary resumable LM run with its own trainer keys; the old switches stay shorthands,
and both together is an error that shows the new form."""

from __future__ import annotations

import pytest
import yaml

from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, train_run
from tests.conftest import tiny_raw, write_corpus
from tests.tasks.classification.test_task import classify_raw, write_sentiment
from tests.tasks.tagging.data import tagging_raw, write_ner


def test_stage_order_and_needs_are_checked():
    def bad(stages, pretrained=None):
        raw = tiny_raw("unused-corpus", stages=stages)
        raw["pretrained"] = pretrained
        with pytest.raises(ConfigError) as err:
            build_config(raw)
        return str(err.value)

    assert "must be in the order" in bad([{"name": "task"}, {"name": "lm_pretrain"}])
    assert "must be in the order" in bad([{"name": "lm_finetune"}, {"name": "lm_finetune"}], pretrained="x")
    assert "set `pretrained` or put lm_pretrain before it" in bad([{"name": "lm_finetune"}])
    assert "drop one of them" in bad([{"name": "lm_pretrain"}], pretrained="runs/lm")
    assert "unknown key 'stages[0].trainer.lrr'" in bad([{"name": "lm_pretrain", "trainer": {"lrr": 1}}])
    assert "stages[1]: the task stage trains with the run's own" in bad(
        [{"name": "lm_pretrain"}, {"name": "task", "epochs": 2, "corpora": ["ptb"]}]
    )
    assert "stages[0].epochs must be positive" in bad([{"name": "lm_pretrain", "epochs": 0}])


def test_old_switches_and_stages_together_show_the_new_form(tmp_path):
    raw = tagging_raw(
        "ner",
        write_ner(tmp_path / "ner"),
        data={"pretrain_epochs": 2, "pretrain_corpora": ["ptb"]},
        stages=[{"name": "lm_pretrain"}, {"name": "task"}],
    )
    with pytest.raises(ConfigError, match=r"stages: \[\{name: lm_pretrain, epochs: 2, corpora: \[ptb\]\}, \{name: task\}\]"):
        build_config(raw)
    raw = classify_raw(write_sentiment(tmp_path / "s.csv"), head={"lm_finetune_epochs": 1}, stages=[{"name": "lm_finetune"}])
    raw["pretrained"] = "somewhere"
    with pytest.raises(ConfigError, match=r"stages: \[\{name: lm_finetune, epochs: 1\}, \{name: task\}\]"):
        build_config(raw)


@pytest.mark.slow
def test_lm_pretrain_then_finetune_stages_start_the_tagger(tmp_path, caplog):
    stages = [
        {"name": "lm_pretrain", "epochs": 1, "trainer": {"lr": 5.0, "bptt": 8, "batch_size": 4}},
        {"name": "lm_finetune", "epochs": 1, "trainer": {"lr": 2.0, "bptt": 8, "batch_size": 4}},
        {"name": "task"},
    ]
    raw = tagging_raw("ner", write_ner(tmp_path / "ner"), stages=stages, trainer={"epochs": 1})
    out = tmp_path / "run"
    with caplog.at_level("INFO"):
        train_run(build_config(raw), out)
    assert f"words found in {out / 'lm-finetuned'}" in caplog.text  # the tagger's backbone started from the last stage
    pre = yaml.safe_load((out / "lm-pretrained" / "checkpoint-last" / "config.yaml").read_text())
    fine = yaml.safe_load((out / "lm-finetuned" / "checkpoint-last" / "config.yaml").read_text())
    assert pre["task"] == fine["task"] == "lm"
    assert pre["trainer"]["lr"] == 5.0 and pre["trainer"]["epochs"] == 1 and pre["pretrained"] is None
    assert fine["trainer"]["lr"] == 2.0 and fine["pretrained"] == str(out / "lm-pretrained")
    assert (out / "lm-pretrained" / "FINISHED").exists() and (out / "lm-finetuned" / "FINISHED").exists()
    used = yaml.safe_load((out / "run-config.yaml").read_text())
    assert used["pretrained"] is None and [s["name"] for s in used["stages"]] == ["lm_pretrain", "lm_finetune", "task"]
    assert pre["backbone"]["hidden_size"] == used["backbone"]["hidden_size"]
    import rnn_nlp
    from rnn_nlp.training import checkpoint as ckpt

    tagger = rnn_nlp.load(out, "cpu")  # the saved config loads as it was written
    assert tagger.predict("Ann Lee visited Rome .").tokens == ["Ann", "Lee", "visited", "Rome", "."]
    cfg = build_config(raw)
    train_run(cfg, out, resume=True)  # and resumes: the finished stages are reused, not retrained
    assert ckpt.load_trainer_state(out / "checkpoint-last")["epoch"] == 1


def test_a_task_without_text_refuses_lm_stages(tmp_path):
    raw = tiny_raw(write_corpus(tmp_path / "c"), stages=[{"name": "lm_pretrain"}])
    with pytest.raises(ConfigError, match="task 'lm' has no text to train a language model stage on"):
        train_run(build_config(raw), tmp_path / "run")


def test_a_stage_killed_mid_checkpoint_swap_is_resumed_not_restarted(tmp_path):
    """A kill between the two renames of checkpoint-last's swap left only .checkpoint-last.old: the
    stage must take up that checkpoint, not start over (the chaos run saw step 16 fall back to 4)."""
    from rnn_nlp.runs.training import train_once
    from rnn_nlp.training import checkpoint as ckpt

    corpus = write_corpus(tmp_path / "corpus")
    target = tmp_path / "lm-pretrained"
    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 6, "epochs": 3})), target)
    before = ckpt.load_trainer_state(target / "checkpoint-last")
    steps = before["global_step"]
    (target / "checkpoint-last").rename(target / ".checkpoint-last.old")
    train_once(target, "LM pretraining", lambda: tiny_raw(corpus, trainer={"max_steps": 9, "epochs": 3}))
    state = ckpt.load_trainer_state(target / "checkpoint-last")
    assert steps == 6 and state["global_step"] == 9  # went on from 6, where a restart would have trained 9 anew
    assert state["history"][: len(before["history"])] == before["history"]  # its rows (timings too) kept
    assert (target / "FINISHED").exists()


def test_a_run_folder_that_cannot_be_made_before_a_stage_is_a_clear_error(tmp_path, monkeypatch):
    from pathlib import Path

    from rnn_nlp.errors import SaveError

    real = Path.mkdir

    def full(self, *args, **kwargs):
        if self.name == "run":
            raise OSError(28, "No space left on device", str(self))
        return real(self, *args, **kwargs)

    raw = tagging_raw(
        "ner", write_ner(tmp_path / "ner"), stages=[{"name": "lm_pretrain", "epochs": 1}, {"name": "task"}], trainer={"epochs": 1}
    )
    monkeypatch.setattr(Path, "mkdir", full)
    with pytest.raises(SaveError, match=r"cannot make the run folder .*run: No space left on device"):
        train_run(build_config(raw), tmp_path / "run")
