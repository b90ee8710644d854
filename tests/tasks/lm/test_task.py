"""The LM task on a slice of real PTB text, both directions, raw text, and user-registered tasks."""

import math

import pytest
import torch

from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks import Task, get_task, register_task
from rnn_nlp.tasks.lm import LMTask

PTB_SLICE = {
    "data": {"name": "ptb", "tokenizer": "whitespace", "max_train_tokens": 40_000, "max_eval_tokens": 5_000},
    "backbone": {"emb_size": 64, "hidden_size": 64, "layers": 1},
    "head": {"softmax": "adaptive", "cutoffs": [1000, 4000], "tie_weights": False},
    "trainer": {"epochs": 2, "batch_size": 16, "bptt": 20, "lr": 20.0, "progress": False, "device": "cpu", "checkpoint_every": 1000},
}


@pytest.mark.slow
def test_pretrain_on_a_ptb_slice(tmp_path):
    cfg = build_config({"task": "lm", **PTB_SLICE})
    task = LMTask(cfg)
    assert len(task.token_vocab()) == 10_001  # PTB's 10k words (incl. <unk>) + <pad>, <eos>
    untrained = task.evaluate(task.build_model(), "valid", torch.device("cpu"))
    assert untrained["ppl"] > 5_000  # near-uniform over 10k words

    trainer = train_run(cfg, tmp_path / "run")
    valid = [row["valid_ppl"] for row in trainer.history]
    assert valid[-1] < valid[0] < 1_000
    _, task, model = load_run(tmp_path / "run")
    test = task.evaluate(model, "test", torch.device("cpu"))
    assert test["tokens"] == 10 * (5_000 // 10 - 1)  # 10 eval streams, each predicting all but its first token
    assert math.isclose(test["ppl"], math.exp(test["loss"]), rel_tol=1e-9)


@pytest.mark.slow
def test_both_directions_report_each_perplexity(tmp_path, corpus):
    from tests.conftest import tiny_raw

    cfg = build_config(tiny_raw(corpus, backbone={"direction": "both"}))
    trainer = train_run(cfg, tmp_path / "run")
    row = trainer.history[-1]
    assert {"valid_ppl_forward", "valid_ppl_backward"} <= set(row)
    assert row["valid_ppl_backward"] < 20 and row["valid_ppl_forward"] < 20
    _, _, model = load_run(tmp_path / "run")
    assert set(model.backbone.directions) == {"forward", "backward"}


def test_raw_text_goes_through_spacy_with_options(tmp_path):
    text = tmp_path / "raw.txt"
    text.write_text("Prices rose 3.5% to $1,200 in 1999.\nThey didn't fall.\n" * 30, encoding="utf-8")
    cfg = build_config({"task": "lm", "data": {"name": str(text), "tokenizer": "spacy", "lowercase": True, "normalize_numbers": True}})
    vocab = LMTask(cfg).token_vocab()
    assert {"prices", "N", "%", "$", "did", "n't", "they"} <= set(vocab.itos)
    assert "1999" not in vocab and "Prices" not in vocab


def test_a_users_task_registers_the_same_way():
    @register_task
    class EchoTask(Task):
        name = "echo-test"
        data_config = LMTask.data_config
        head_config = LMTask.head_config

    assert get_task("echo-test") is EchoTask
    assert build_config({"task": "echo-test"}).task == "echo-test"
    assert get_task("rnn_nlp.tasks.lm.task:LMTask") is LMTask
    with pytest.raises(KeyError, match="cannot load task"):
        get_task("rnn_nlp.tasks.lm.task:Nope")


@pytest.mark.slow
def test_char_unit_trains_generates_and_refuses_word_transfer(tmp_path):
    from rnn_nlp.errors import CheckpointError, ConfigError
    from rnn_nlp.generate import generate_text
    from rnn_nlp.training.transfer import transfer_backbone
    from tests.conftest import tiny_raw

    names = ["dusty rose", "deep teal", "dusty teal", "rose red", "deep red"] * 40
    folder = tmp_path / "names"
    folder.mkdir()
    for split, lines in (("train", names), ("valid", names[:20]), ("test", names[:20])):
        (folder / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    raw = tiny_raw(folder, data={"unit": "char"}, trainer={"epochs": 6, "optimizer": "adam", "lr": 0.02})
    trainer = train_run(build_config(raw), tmp_path / "run")
    assert trainer.history[-1]["valid_ppl"] < trainer.history[0]["valid_ppl"] < 15
    _, task, model = load_run(tmp_path / "run")
    vocab = task.token_vocab()
    assert vocab.unit == "char" and set(vocab.itos[3:]) == set("dustyrosepal ")
    text = generate_text(model, vocab, task.tokenizer, "dusty ", max_tokens=8)
    assert " " not in text[:2] and text.startswith(("rose", "teal", "ros", "tea"))

    word_cfg = build_config(tiny_raw(folder))
    word_model = LMTask(word_cfg).build_model()
    with pytest.raises(CheckpointError, match="reads chars, this task reads words"):
        transfer_backbone(word_model, LMTask(word_cfg).token_vocab(), tmp_path / "run")
    with pytest.raises(ConfigError, match="normalize_numbers"):
        build_config(tiny_raw(folder, data={"unit": "char", "normalize_numbers": True}))
