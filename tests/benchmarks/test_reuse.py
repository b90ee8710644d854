"""benchmarks/reuse.py: --reuse reads back a finished run of the same config, including one whose backbone took
its shape from a pretrained run, and never a killed run or one of another config."""

import shutil
import sys
from pathlib import Path

import pytest

from rnn_nlp.runs import build_config, train_run
from tests.tasks.tagging.data import tagging_raw, write_ner

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.reuse import finished_same, reuse_or_train  # noqa: E402


def _config(data, lm, **head):
    raw = tagging_raw("ner", data, backbone={"emb_size": 8, "hidden_size": 8}, trainer={"epochs": 1}, head=head)
    raw["pretrained"] = str(lm)
    return build_config(raw)


@pytest.mark.slow
def test_a_finished_run_from_a_pretrained_backbone_is_reused_and_others_are_not(tmp_path, capsys):
    data = write_ner(tmp_path / "data", sizes=(40, 10, 10))
    lm_raw = tagging_raw("ner", data, backbone={"emb_size": 16, "hidden_size": 16}, trainer={"epochs": 1})
    lm_raw.update(task="lm", data={"name": str(data / "train.txt"), "tokenizer": "whitespace"})
    del lm_raw["head"]
    lm_raw["backbone"]["direction"] = "both"
    train_run(build_config(lm_raw), tmp_path / "lm")
    out = tmp_path / "run"
    cfg = _config(data, tmp_path / "lm")
    assert not reuse_or_train(out, cfg, True, lambda: train_run(cfg, out))  # trained: nothing to reuse yet
    assert cfg.backbone.hidden_size == 16  # the pretrained shape was adopted into the saved config (8 asked for)
    assert finished_same(out, _config(data, tmp_path / "lm"))  # a fresh config asks for 8: still the same run
    assert reuse_or_train(out, _config(data, tmp_path / "lm"), True, lambda: pytest.fail("trained again"))
    assert not finished_same(out, _config(data, tmp_path / "lm", dropout=0.3))
    assert "trained with another config" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="holds a run of another config"):
        reuse_or_train(out, _config(data, tmp_path / "lm", dropout=0.3), True, lambda: None)
    (out / "README.md").unlink()  # as a run killed before its end has no model card
    assert not finished_same(out, _config(data, tmp_path / "lm"))
    shutil.rmtree(out)
