"""The perplexity experiment end to end on a tiny corpus: JSON, Markdown table and PNG written."""

import json

import pytest

from rnn_nlp import experiments
from rnn_nlp.errors import ConfigError
from tests.conftest import write_corpus

TINY = [
    "window_budget_s=1",
    "window_epochs=2",
    "rnn_budget_s=1",
    "rnn_epochs=1",
    "rnn_emb=16",
    "rnn_hidden=16",
    "lstm_layers=1",
    "size_orders=[1,2,3]",
    "ngram_order=3",
]


@pytest.mark.slow
def test_runs_end_to_end_and_writes_the_table(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (300, 40, 40))
    record = experiments.run_experiment("perplexity", tmp_path / "out", overrides=[f"data={corpus}", *TINY])
    result = record["result"]
    assert [r["model"] for r in result["models"]] == ["KN 3-gram", "window (n=5)", "Elman RNN", "LSTM"]
    for row in result["models"]:
        assert 1 < row["test_ppl"] < 1e4 and row["bytes"] > 0 and row["size"] > 0
    assert result["models"][0]["test_ppl"] < result["tokens"]["vocab"] / 3  # KN: far better than uniform
    assert result["models"][1]["test_ppl"] < result["tokens"]["vocab"] / 3  # and the window LM too
    orders = result["ngram_orders"]
    assert [o["n"] for o in orders] == [1, 2, 3]
    assert orders[0]["ngrams"] < orders[1]["ngrams"] < orders[2]["ngrams"]  # storage grows with n
    assert orders[2]["test_ppl"] < orders[0]["test_ppl"]  # context helps on patterned text
    assert result["models"][0]["test_ppl"] == orders[2]["test_ppl"]
    saved = json.loads((tmp_path / "out" / "perplexity.json").read_text())
    assert saved["result"]["models"] == result["models"]
    table = (tmp_path / "out" / "perplexity.md").read_text()
    assert "| KN 3-gram |" in table and "141.2" in table
    assert (tmp_path / "out" / "perplexity.png").stat().st_size > 0


def test_an_unknown_rnn_kind_is_a_config_error(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (30, 5, 5))
    with pytest.raises(ConfigError, match="rnns"):
        experiments.run_experiment("perplexity", tmp_path / "out", overrides=[f"data={corpus}", "rnns=[transformer]"])


def test_an_order_below_one_names_its_key(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (30, 5, 5))
    with pytest.raises(ConfigError, match="size_orders must hold n-gram orders >= 1"):
        experiments.run_experiment("perplexity", tmp_path / "out", overrides=[f"data={corpus}", "size_orders=[0, 2]"])
