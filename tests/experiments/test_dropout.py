"""dropout end to end on a tiny corpus: per-epoch train/valid perplexity for both runs, JSON and PNG."""

import json

import pytest

from rnn_nlp.experiments import run_experiment
from rnn_nlp.experiments.dropout import Params, run_config, summarise
from tests.conftest import write_corpus


@pytest.mark.slow
def test_runs_end_to_end_and_writes_json_and_png(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (150, 30, 30))
    out = tmp_path / "out"
    overrides = [f"corpus={corpus}", "hidden_size=16", "epochs=3", "train_tokens=600", "batch_size=4", "bptt=8", "lr=0.01"]
    run_experiment("dropout", out, overrides=overrides)
    result = json.loads((out / "dropout.json").read_text())["result"]
    assert list(result["runs"]) == ["no dropout", "dropout 0.5"]
    for r in result["runs"].values():
        assert len(r["train_ppl"]) == len(r["valid_ppl"]) == 3
        assert all(1 < v < 1000 for v in r["train_ppl"] + r["valid_ppl"])
        assert r["best_valid_ppl"] == min(r["valid_ppl"]) and 1 <= r["best_epoch"] <= 3
        assert r["train_ppl"][-1] < r["train_ppl"][0]  # both learn
    assert set(result["claim"]) == {"no_dropout_overfits", "dropout_best_valid_is_lower", "dropout_final_valid_is_lower"}
    assert (out / "dropout.png").stat().st_size > 0


def test_dropout_switches_only_the_regularisers(tmp_path):
    p = Params(corpus=str(write_corpus(tmp_path / "c", (20, 5, 5))), weight_drop=0.2)
    off, on = run_config(p, False).backbone, run_config(p, True).backbone
    assert (off.input_dropout, off.output_dropout, off.embed_dropout, off.weight_drop) == (0, 0, 0, 0)
    assert (on.input_dropout, on.output_dropout, on.embed_dropout, on.weight_drop) == (0.5, 0.5, 0.1, 0.2)
    assert (off.hidden_size, off.rnn) == (on.hidden_size, on.rnn)


def test_summary_finds_the_turn_of_the_valid_curve():
    history = [{"train_ppl": t, "valid_ppl": v, "elapsed_s": 1.0} for t, v in ((300, 250), (150, 200), (80, 230))]
    s = summarise(history)
    assert s["best_epoch"] == 2 and s["best_valid_ppl"] == 200 and s["valid_rise_after_best"] == 30
