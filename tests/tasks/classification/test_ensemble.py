"""`evaluate` / `predict --ensemble`: several classification runs averaged, checked by hand; clear refusals."""

import json

import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from rnn_nlp.cli import main
from rnn_nlp.runs import build_config, load_run, train_run
from tests.conftest import tiny_raw
from tests.tasks.classification.test_task import classify_raw, write_sentiment


@pytest.fixture
def two_runs(tmp_path):
    data = write_sentiment(tmp_path / "reviews.csv", n=120)
    runs = []
    for seed in (1, 2):
        run = tmp_path / f"run{seed}"
        train_run(build_config(classify_raw(data, trainer={"epochs": 1, "seed": seed}, backbone={"hidden_size": 8})), run)
        runs.append(run)
    return runs


def test_evaluate_ensemble_averages_the_members_probabilities(two_runs, capsys):
    device = torch.device("cpu")
    outputs = []
    for run in two_runs:
        _, task, model = load_run(run, "cpu")
        outputs.append(task.predict_split(model, "test", device))
    gold = outputs[0][0]
    assert outputs[1][0] == gold
    mean = (outputs[0][2] + outputs[1][2]) / 2
    assert not torch.equal(outputs[0][2], outputs[1][2])  # two seeds, two different members
    pred = task.decide(mean)
    assert main(["evaluate", str(two_runs[0]), "--ensemble", str(two_runs[1]), "--split", "test", "--device", "cpu"]) == 0
    assert "macro avg" in capsys.readouterr().out
    saved = json.loads((two_runs[0] / "eval-test-ensemble.json").read_text())
    assert saved["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert saved["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert saved["members"] == [str(r) for r in two_runs]
    assert (two_runs[0] / "confusion-test-ensemble.png").exists()
    assert not (two_runs[0] / "eval-test.json").exists()  # the single run's own files are left alone


def test_predict_ensemble_averages_each_row(two_runs, tmp_path, capsys):
    texts = tmp_path / "new.txt"
    texts.write_text("the film was superb\nthe plot was awful\n", encoding="utf-8")
    single = []
    for run in two_runs:
        capsys.readouterr()
        assert main(["predict", str(run), str(texts), "--device", "cpu"]) == 0
        single.append([json.loads(line) for line in capsys.readouterr().out.splitlines()])
    assert main(["predict", str(two_runs[0]), str(texts), "--ensemble", str(two_runs[1]), "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and all(r["members"] == 2 for r in rows)
    for row, a, b in zip(rows, *single):
        for label, p in row["probabilities"].items():
            assert p == pytest.approx((a["probabilities"][label] + b["probabilities"][label]) / 2, abs=1e-6)
        assert row["label"] == max(row["probabilities"], key=row["probabilities"].get)


@pytest.mark.slow
def test_members_must_share_labels_and_be_classifiers(two_runs, tmp_path, corpus, capsys):
    other = tmp_path / "other.csv"
    other.write_text("text,label\n" + "".join(f"film {i} good,yes\nfilm {i} bad,no\n" for i in range(30)), encoding="utf-8")
    train_run(build_config(classify_raw(other, trainer={"epochs": 1})), tmp_path / "yesno")
    capsys.readouterr()
    assert main(["evaluate", str(two_runs[0]), "--ensemble", str(tmp_path / "yesno"), "--device", "cpu"]) == 2
    assert "has labels ['no', 'yes']" in capsys.readouterr().err
    train_run(build_config(tiny_raw(corpus, trainer={"epochs": 1})), tmp_path / "lm")
    assert main(["predict", str(two_runs[0]), "-", "--ensemble", str(tmp_path / "lm"), "--device", "cpu"]) == 2
    assert "only classification runs can be ensembled" in capsys.readouterr().err


@pytest.mark.slow
def test_members_trained_on_other_texts_with_the_same_labels_are_refused(two_runs, tmp_path, capsys):
    """Another corpus of the same size and label layout splits into the same label sequence: the texts must match too."""
    other = write_sentiment(tmp_path / "other.csv", n=120, seed=5)
    train_run(build_config(classify_raw(other, trainer={"epochs": 1}, backbone={"hidden_size": 8})), tmp_path / "other")
    capsys.readouterr()
    args = ["evaluate", str(two_runs[0]), "--ensemble", str(tmp_path / "other"), "--split", "test", "--device", "cpu"]
    assert main(args) == 2
    assert "is not the same texts and labels" in capsys.readouterr().err
    assert not (two_runs[0] / "eval-test-ensemble.json").exists()
    assert main([*args, "--data", str(other)]) == 0  # one corpus for every member: fine
    assert json.loads((two_runs[0] / "eval-test-other.csv-ensemble.json").read_text())["data"] == str(other)


@pytest.mark.slow
def test_predict_input_after_ensemble_is_a_clear_error(two_runs, tmp_path, capsys):
    """--ensemble takes every word after it: an input file put last is named in the error, not argparse's 'required: input'."""
    texts = tmp_path / "new.txt"
    texts.write_text("the film was superb\n", encoding="utf-8")
    assert main(["predict", str(two_runs[0]), "--ensemble", str(two_runs[1]), str(texts), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "predict RUN FILE [--ensemble RUN2 ...]" in err and str(texts) in err
    assert main(["predict", str(two_runs[0]), "--device", "cpu"]) == 2
    assert "needs an input file" in capsys.readouterr().err
    assert main(["predict", str(two_runs[0]), str(texts), "--ensemble", str(two_runs[1]), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["members"] == 2


def test_an_ensemble_checks_batch_size_as_its_members_do(two_runs):
    import rnn_nlp
    from rnn_nlp.tasks.classification.ensemble import ClassifierEnsemble

    ensemble = ClassifierEnsemble([rnn_nlp.load(run, "cpu") for run in two_runs])
    assert len(ensemble.predict(["the film was superb", "dull"], batch_size=1)) == 2
    for bad, error in ((0, ValueError), (-1, ValueError), (2.5, TypeError)):  # 0 gave [] and -1 islice's own error
        with pytest.raises(error, match="batch_size must be"):
            ensemble.predict(["the film was superb"], batch_size=bad)
