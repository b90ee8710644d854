"""vanishing-gradient end to end on a tiny corpus, and the k = 0 gradient checked by hand."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnn_nlp.experiments import run_experiment
from rnn_nlp.experiments.lm_training import build_lm, lm_config
from rnn_nlp.experiments.vanishing_gradient import Params, decay_fit, gradient_profile
from tests.conftest import write_corpus

TINY = ["hidden_size=12", "max_k=8", "warmup=3", "batch_size=4", "batches=2", "train_steps=4", "fit_from=2"]


@pytest.mark.slow
def test_runs_end_to_end_and_writes_json_and_png(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (120, 40, 40))
    out = tmp_path / "out"
    run_experiment("vanishing-gradient", out, overrides=[f"corpus={corpus}", *TINY])
    record = json.loads((out / "vanishing-gradient.json").read_text())
    curves = record["result"]["curves"]
    assert set(curves) == {"elman_tanh fresh", "elman_tanh trained", "lstm fresh", "lstm trained"}
    for curve in curves.values():
        norms = np.array(curve["mean_norm"])
        assert norms.shape == (9,) and np.all(np.isfinite(norms)) and np.all(norms > 0)
        assert norms[-1] < norms[0]  # gradients shrink going back in time
        assert 0 < curve["decay_per_step"] < 1
        assert curve["windows"] == 8
    assert curves["lstm trained"]["train_steps"] == 4
    assert set(record["result"]["claim"]) == {"elman_decays_faster_fresh", "elman_decays_faster_trained"}
    assert (out / "vanishing-gradient.png").stat().st_size > 0


def test_gradient_at_k0_is_the_softmax_gradient(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (60, 20, 20))
    cfg = lm_config(str(corpus), {"rnn": "elman_tanh", "emb_size": 8, "hidden_size": 8}, {"max_steps": 1})
    task, model = build_lm(cfg)
    ids = task.ids("valid")
    p = Params(max_k=3, warmup=2, batch_size=3, batches=1, seed=5)
    norms = gradient_profile(model, ids, p)
    # rebuild the same windows and take dLoss/dh at the last step by hand: W^T (softmax - onehot)
    span = p.warmup + p.max_k + 2
    starts = torch.randint(0, ids.numel() - span + 1, (p.batch_size,), generator=torch.Generator().manual_seed(p.seed))
    window = ids[starts.unsqueeze(1) + torch.arange(span)]
    with torch.no_grad():
        out, _ = model.backbone.stack("forward").layers[0](model.backbone.embedding(window[:, :-1]))
        logits = model.head.decoder(out[:, -1])
        grad = (F.softmax(logits, -1) - F.one_hot(window[:, -1], logits.size(-1))) @ model.head.decoder.weight
    assert np.allclose(norms[:, 0], grad.norm(dim=-1).numpy(), rtol=1e-4)


def test_decay_fit_recovers_a_known_rate():
    fit = decay_fit(0.5 ** np.arange(20) * 3.0, fit_from=5)
    assert abs(fit["decay_per_step"] - 0.5) < 1e-9
    assert abs(fit["half_life_steps"] - 1.0) < 1e-9
