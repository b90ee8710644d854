"""The generation experiment: seeded samples from an n-gram and an RNN LM, statistics, PNG."""

import json

import pytest

from rnn_nlp import experiments
from rnn_nlp.experiments.generation import _sentences, distinct
from rnn_nlp.runs import build_config, train_run
from tests.conftest import tiny_raw, write_corpus


def test_distinct_n_and_sentence_cutting():
    assert distinct([["a", "b", "a", "b"]], 1) == 0.5
    assert distinct([["a", "b", "a", "b"]], 2) == 2 / 3
    assert distinct([[]], 2) == 0.0
    assert _sentences(["a", "<eos>", "b", "c"]) == [["a"], ["b", "c"]]


@pytest.mark.slow
def test_runs_end_to_end_from_an_existing_run(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (200, 20, 20))
    run_dir = tmp_path / "run"
    train_run(build_config(tiny_raw(corpus, trainer={"epochs": 1, "checkpoint_every": 1000})), run_dir)
    overrides = [f"rnn_run={run_dir}", "temperatures=[0.5,1.5]", "max_tokens=8", "samples_per_prompt=2", "prompts=[the cat,'']"]
    record = experiments.run_experiment("generation", tmp_path / "out", overrides=overrides)
    result = record["result"]
    assert len(result["models"]) == 2 and len(result["stats"]) == 4
    for name in result["models"]:
        for temp in ("0.5", "1.5"):
            texts = result["samples"][name][temp]["the cat"]
            assert len(texts) == 2 and all(0 < len(t.split()) <= 8 for t in texts)
    cold = {s["model"]: s for s in result["stats"] if s["temperature"] == 0.5}
    hot = {s["model"]: s for s in result["stats"] if s["temperature"] == 1.5}
    for name in result["models"]:  # hotter sampling wanders into text its own model finds less likely
        assert hot[name]["self_ppl"] > cold[name]["self_ppl"]
    again = experiments.run_experiment("generation", tmp_path / "again", overrides=overrides)
    assert again["result"]["samples"] == result["samples"]  # seeded
    assert json.loads((tmp_path / "out" / "generation.json").read_text())["result"]["stats"] == result["stats"]
    assert (tmp_path / "out" / "generation.png").stat().st_size > 0


def test_trains_its_own_rnn_when_no_run_is_given(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (100, 10, 10))
    overrides = [
        f"data={corpus}",
        "rnn_budget_s=1",
        "rnn_epochs=1",
        "rnn_size=8",
        "temperatures=[1.0]",
        "max_tokens=5",
        "samples_per_prompt=1",
    ]
    result = experiments.run_experiment("generation", tmp_path / "out", overrides=overrides)["result"]
    assert result["models"][0] == "KN 3-gram" and len(result["stats"]) == 2
