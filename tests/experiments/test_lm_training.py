"""The per-step recorder reads loss and pre-clipping gradient norm off the real trainer, unchanged."""

import math

import torch

from rnn_nlp.experiments.lm_training import build_lm, finite_or_none, lm_config, rounded, train_lm
from tests.conftest import write_corpus


def test_recorder_matches_a_hand_computed_first_step(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (80, 20, 20))
    cfg = lm_config(
        str(corpus),
        {"rnn": "gru", "emb_size": 8, "hidden_size": 8},
        {"max_steps": 3, "batch_size": 4, "bptt": 6, "lr": 1.0, "clip_norm": 0.1},
    )
    trainer, rec = train_lm(cfg, tmp_path / "run")
    assert len(rec.loss) == len(rec.grad_norm) == len(rec.step_time) == 3
    assert rec.non_finite_steps() == 0 and all(t > 0 for t in rec.step_time)
    assert (tmp_path / "run" / "metrics.csv").exists() and trainer.global_step == 3
    # the same first batch through a freshly built twin gives the same loss and unclipped norm
    task, model = build_lm(cfg)
    batch = next(iter(task.train_batches(0, 0, torch.device("cpu"))))
    loss = model(batch)["loss"]
    loss.backward()
    norm = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters() if p.grad is not None))
    assert math.isclose(rec.loss[0], loss.item(), rel_tol=1e-5)
    assert math.isclose(rec.grad_norm[0], norm, rel_tol=1e-4)
    assert norm > 0.1  # so clipping did act on the update; the recorded norm is the one before it


def test_json_helpers_turn_non_finite_values_into_null():
    assert finite_or_none(float("nan")) is None and finite_or_none(float("inf")) is None
    assert finite_or_none(2.5) == 2.5
    assert rounded([1.234567, float("nan")], 2) == [1.23, None]
