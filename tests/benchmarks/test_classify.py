"""benchmarks/classify.py --seeds: members differ by seed, and the ensemble row is their averaged probabilities."""

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from sklearn.metrics import accuracy_score

from rnn_nlp.metrics import mcnemar
from rnn_nlp.runs import load_run
from tests.tasks.classification.test_task import write_sentiment

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "classify.py"


@pytest.fixture(scope="module")
def classify():
    spec = importlib.util.spec_from_file_location("bench_classify", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_seeds_train_different_members_and_score_their_ensemble(tmp_path, monkeypatch, classify):
    data = write_sentiment(tmp_path / "reviews.csv", n=120)
    out, work = tmp_path / "rows.json", tmp_path / "work"
    argv = [
        "classify.py",
        "--datasets",
        str(data),
        "--runs",
        "tfidf,mean-scratch",
        "--seeds",
        "2",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--out",
        str(out),
        "--work",
        str(work),
    ]
    monkeypatch.setattr(sys, "argv", argv)
    classify.main()
    rows = {r["run"]: r for r in json.loads(out.read_text())}
    assert list(rows) == ["tfidf", "mean-scratch/seed1", "mean-scratch/seed2", "mean-scratch/ensemble-2"]
    ensemble = rows["mean-scratch/ensemble-2"]
    assert ensemble["members"] == 2 and ensemble["seeds"] == [1, 2]
    assert ensemble["train_s_to_best"] == pytest.approx(
        rows["mean-scratch/seed1"]["train_s_to_best"] + rows["mean-scratch/seed2"]["train_s_to_best"]
    )
    assert "Command: `python classify.py --datasets" in out.with_suffix(".md").read_text()
    # the two members are different models (seed 1 keeps the run's usual folder) ...
    folders = [work / data.name / "mean-scratch", work / data.name / "mean-scratch-seed2"]
    runs = [load_run(f, "cpu") for f in folders]
    assert [r[0].trainer.seed for r in runs] == [1, 2]
    weights = [r[2].head.mlp[-1].weight for r in runs]
    assert not torch.allclose(weights[0], weights[1])
    # ... and the ensemble row is the accuracy of their mean probabilities, and its paired test uses those predictions
    device = torch.device("cpu")
    outputs = [task.predict_split(model, "test", device) for _, task, model in runs]
    gold = outputs[0][0]
    mean = (outputs[0][2] + outputs[1][2]) / 2
    pred = runs[0][1].decide(mean)
    assert ensemble["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    tfidf = classify.tfidf_row(str(data), SimpleNamespace(max_train=None))["test_pred"]
    assert ensemble["vs_tfidf"] == mcnemar(gold, pred, tfidf)


@pytest.mark.slow
def test_the_shared_lm_finetune_stage_trains_once_from_the_pretrained_lm(tmp_path, monkeypatch, classify):
    """`finetuned_lm` (ULMFiT stage 2, shared by the runs of a data set) trains an lm_finetune stage from
    --pretrained on the task's text and returns its run folder and seconds."""
    from rnn_nlp.runs import build_config, train_run
    from tests.conftest import tiny_raw, write_corpus

    lm = tmp_path / "lm"
    train_run(build_config(tiny_raw(write_corpus(tmp_path / "corpus", (200, 20, 20)), trainer={"epochs": 1})), lm)
    data = write_sentiment(tmp_path / "reviews.csv", n=60)
    args = SimpleNamespace(
        pretrained=str(lm), lm_epochs=1, drop_mult=1.0, max_train=None, epochs=1, lr=0.004, threads=1, batch_size=16, seeds=1
    )
    path, seconds = classify.finetuned_lm(str(data), args, tmp_path / "work")
    assert Path(path).name == "lm-finetuned" and (Path(path) / "best" / "model.safetensors").is_file()
    assert seconds > 0
    again, _ = classify.finetuned_lm(str(data), args, tmp_path / "work")  # a finished stage is reused
    assert again == path


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, architecture", [("spacy-textcat", "spacy.TextCatBOW.v3"), ("spacy-textcat-accuracy", "spacy.TextCatEnsemble.v2")]
)
def test_the_spacy_textcat_row_is_spacys_pipeline_scored_on_the_same_test_texts(tmp_path, monkeypatch, classify, name, architecture):
    """`spacy-textcat` (and `-accuracy`) train spaCy's own text classifier (its efficiency or accuracy
    config) on the same split for --spacy-budget seconds, keep the pipeline, and the row is that
    pipeline's accuracy, paired against TF-IDF."""
    import spacy

    from rnn_nlp.data.labeled import load_labeled_corpus

    data = write_sentiment(tmp_path / "reviews.csv", n=120)
    out, work = tmp_path / "rows.json", tmp_path / "work"
    argv = ["classify.py", "--datasets", str(data), "--runs", f"tfidf,{name}", "--spacy-budget", "3"]
    monkeypatch.setattr(sys, "argv", argv + ["--out", str(out), "--work", str(work)])
    classify.main()
    rows = {r["run"]: r for r in json.loads(out.read_text())}
    row = rows[name]
    assert Path(row["run_dir"]) == work / data.name / name / "out" / "model-best"
    records = load_labeled_corpus(str(data))
    nlp = spacy.load(row["run_dir"])
    assert set(nlp.get_pipe("textcat").labels) == set(records["train"]["label"])
    assert nlp.config["components"]["textcat"]["model"]["@architectures"] == architecture
    pred = [max(doc.cats, key=doc.cats.get) for doc in nlp.pipe(records["test"]["text"])]
    assert row["accuracy"] == pytest.approx(accuracy_score(records["test"]["label"], pred))
    tfidf = classify.tfidf_row(str(data), SimpleNamespace(max_train=None))["test_pred"]
    assert row["vs_tfidf"] == mcnemar(records["test"]["label"], pred, tfidf)
