"""optimizers end to end on a tiny corpus: every optimiser of the library trained the same number of steps."""

import json

import pytest

from rnn_nlp.errors import ConfigError
from rnn_nlp.experiments import run_experiment
from rnn_nlp.experiments.optimizers import Params, check, moving_average, run_config
from rnn_nlp.training.optim import OPTIMIZERS
from tests.conftest import write_corpus


@pytest.mark.slow
def test_runs_end_to_end_and_writes_json_and_png(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (120, 20, 20))
    out = tmp_path / "out"
    overrides = [f"corpus={corpus}", "hidden_size=8", "steps=6", "batch_size=4", "bptt=6", "smooth=2"]
    run_experiment("optimizers", out, overrides=overrides)
    result = json.loads((out / "optimizers.json").read_text())["result"]
    assert [row["optimizer"] for row in result["table"]] == list(OPTIMIZERS)
    assert sorted(result["ranking_by_valid_ppl"]) == sorted(OPTIMIZERS)
    for r in result["runs"].values():
        assert len(r["loss_per_step"]) == len(r["seconds_per_step"]) == 6
        assert r["seconds_per_step"] == sorted(r["seconds_per_step"]) and r["wall_s"] > 0
        assert 1 < r["valid_ppl"] < 200 and r["non_finite_steps"] == 0
    first = {r["loss_per_step"][0] for r in result["runs"].values()}
    assert len(first) == 1  # same seed, data and initial weights for every optimiser
    assert (out / "optimizers.png").stat().st_size > 0


def test_each_run_changes_only_the_optimiser(tmp_path):
    p = Params(corpus=str(write_corpus(tmp_path / "c", (20, 5, 5))))
    adam, adamw = run_config(p, "adam", 0.01).trainer, run_config(p, "adamw", 0.01).trainer
    assert (adam.optimizer, adam.weight_decay, adamw.optimizer, adamw.weight_decay) == ("adam", 0.0, "adamw", 0.01)
    with pytest.raises(ConfigError, match="one learning rate per optimizer"):
        check(Params(lrs=[0.1]))
    with pytest.raises(ConfigError, match="unknown lbfgs"):
        check(Params(optimizers=["lbfgs"], lrs=[1.0]))
    assert list(moving_average([1, 2, 3, 4], 2)) == [1.5, 2.5, 3.5]
