"""benchmarks/classify_paired.py: runs are compared only when they were tested on the same texts."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from rnn_nlp.runs import build_config, train_run
from tests.tasks.classification.test_task import classify_raw, write_sentiment

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "classify_paired.py"


@pytest.mark.slow
def test_runs_on_other_texts_with_the_same_label_sequence_are_refused(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("bench_classify_paired", SCRIPT)
    paired = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(paired)
    runs = []
    for name, seed in (("a", 0), ("b", 5), ("a2", 0)):  # b: another corpus of the same size and label layout
        data = write_sentiment(tmp_path / f"{name}.csv", n=120, seed=seed)
        train_run(build_config(classify_raw(data, trainer={"epochs": 1}, backbone={"hidden_size": 8})), tmp_path / name)
        runs.append(str(tmp_path / name))
    out = tmp_path / "paired.json"
    monkeypatch.setattr(sys, "argv", ["classify_paired.py", runs[0], runs[1], "--out", str(out)])
    with pytest.raises(SystemExit):
        paired.main()
    assert "not evaluated on the same test texts" in capsys.readouterr().err and not out.exists()
    monkeypatch.setattr(sys, "argv", ["classify_paired.py", runs[0], runs[2], "--out", str(out), "--ensemble"])
    paired.main()  # a copy of the same corpus: the same texts, compared
    assert [r["run"] for r in json.loads(out.read_text())["rows"]][0] == "tfidf"
