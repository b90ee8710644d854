"""Classification end to end on tiny labelled data: training, sklearn metrics, reports, predict, ULMFiT."""

import json
import logging
import random

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

import rnn_nlp
from rnn_nlp.cli import main
from rnn_nlp.errors import DataError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.classification import ClassificationTask
from tests.conftest import assert_ctrl_c_resume_matches, tiny_raw, with_sections

GOOD = ["good", "great", "lovely", "fine", "superb"]
BAD = ["bad", "awful", "dull", "poor", "boring"]
FILLER = ["the", "film", "was", "a", "story", "really", "very", "plot", "acting"]


def write_sentiment(path, n=240, seed=0):
    rng = random.Random(seed)
    rows = ["text,label"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = rng.sample(FILLER, 4) + [rng.choice(GOOD if label == "pos" else BAD)]
        rng.shuffle(words)
        rows.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def classify_raw(data, **sections):
    raw = {
        "task": "classify",
        "data": {"name": str(data), "tokenizer": "whitespace", "min_count": 1},
        "backbone": {"emb_size": 16, "hidden_size": 16, "layers": 1},
        "head": {"pooling": ["max", "mean"], "dropout": 0.0},
        "trainer": {
            "epochs": 4,
            "batch_size": 16,
            "eval_batch_size": 32,
            "optimizer": "adam",
            "lr": 0.01,
            "schedule": "none",
            "progress": False,
            "device": "cpu",
            "checkpoint_every": 1000,
        },
    }
    return with_sections(raw, sections)


@pytest.fixture
def sentiment(tmp_path):
    return write_sentiment(tmp_path / "reviews.csv")


@pytest.mark.slow
def test_trains_and_metrics_match_sklearn(tmp_path, sentiment):
    cfg = build_config(classify_raw(sentiment))
    trainer = train_run(cfg, tmp_path / "run")
    assert trainer.history[-1]["valid_accuracy"] >= 0.9
    _, task, model = load_run(tmp_path / "run")
    device = torch.device("cpu")
    gold, pred, probs, _ = task.predict_split(model, "test", device)
    metrics = task.evaluate(model, "test", device)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(gold, pred))
    assert metrics["macro_f1"] == pytest.approx(f1_score(gold, pred, average="macro"))
    assert torch.allclose(probs.sum(1), torch.ones(len(gold)))


def test_evaluate_writes_report_and_confusion_matrix(tmp_path, sentiment, capsys):
    train_run(build_config(classify_raw(sentiment, trainer={"epochs": 1})), tmp_path / "run")
    assert main(["evaluate", str(tmp_path / "run"), "--split", "test", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "precision" in out and "macro avg" in out
    assert (tmp_path / "run" / "confusion-test.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "run" / "eval-test.json").read_text())
    assert {"accuracy", "macro_f1", "loss"} <= set(saved)


@pytest.mark.slow
def test_predict_cli_writes_json_lines(tmp_path, sentiment, capsys, monkeypatch):
    train_run(build_config(classify_raw(sentiment)), tmp_path / "run")
    texts = tmp_path / "new.txt"
    texts.write_text("the film was superb\nthe plot was awful\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(texts), "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert all(sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-4) for r in rows)
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("really lovely\n\n"))
    assert main(["predict", str(tmp_path / "run"), "-", "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["label"] == "pos" and rows[1]["warning"] == "no tokens in this text"


@pytest.mark.slow
def test_multi_label(tmp_path):
    rng = random.Random(1)
    lines = []
    for _ in range(300):
        labels = sorted({lab for lab, w in (("sport", "goal"), ("money", "bank"), ("tech", "chip")) if rng.random() < 0.5})
        words = rng.sample(FILLER, 4) + [w for lab, w in (("sport", "goal"), ("money", "bank"), ("tech", "chip")) if lab in labels]
        rng.shuffle(words)
        lines.append(json.dumps({"text": " ".join(words), "label": labels or ["none"]}))
    data = tmp_path / "topics.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    trainer = train_run(build_config(classify_raw(data, head={"multi_label": True}, trainer={"epochs": 12, "lr": 0.02})), tmp_path / "run")
    assert trainer.history[-1]["valid_micro_f1"] > 0.9


def test_unknown_test_labels_are_reported_and_counted_wrong(tmp_path, sentiment, caplog):
    train_run(build_config(classify_raw(sentiment, trainer={"epochs": 1})), tmp_path / "run")
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "train.csv").write_text("text,label\ngood film,pos\nbad film,neg\n", encoding="utf-8")
    (folder / "test.csv").write_text("text,label\ngood film,pos\nodd film,meh\n", encoding="utf-8")
    _, task, model = load_run(tmp_path / "run")
    task.use_data(str(folder))
    metrics = task.evaluate(model, "test", torch.device("cpu"))
    assert "meh" in caplog.text
    assert metrics["accuracy"] <= 0.5


def test_single_class_training_data_is_refused(tmp_path):
    data = tmp_path / "one.csv"
    data.write_text("text,label\n" + "".join(f"text {i},pos\n" for i in range(20)), encoding="utf-8")
    with pytest.raises(DataError, match="one class|only"):
        ClassificationTask(build_config(classify_raw(data))).label_names()


@pytest.mark.slow
def test_ulmfit_pipeline_lm_finetuning_transfer_and_gradual_unfreezing(tmp_path, sentiment, corpus):
    # a tiny pretrained LM, fine-tuned on the reviews' text, then the classifier from it
    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 20})), tmp_path / "lm")
    raw = classify_raw(
        sentiment,
        head={"lm_finetune_epochs": 1},
        trainer={"epochs": 2, "gradual_unfreezing": True, "discriminative_lr": 2.6, "schedule": "slanted_triangular"},
    )
    raw["pretrained"] = str(tmp_path / "lm")
    cfg = build_config(raw)
    trainer = train_run(cfg, tmp_path / "clf")
    assert (tmp_path / "clf" / "lm-finetuned" / "best" / "model.safetensors").exists()
    assert trainer.cfg.pretrained == str(tmp_path / "lm") and [s.name for s in trainer.cfg.stages] == ["lm_finetune", "task"]
    assert trainer.cfg.backbone.layers == 2 and trainer.cfg.backbone.hidden_size == 16  # the LM's shape
    lrs = [g["lr"] for g in trainer.optimizer.param_groups]
    assert lrs == sorted(lrs)  # discriminative: lower groups learn slower
    # gradual unfreezing: after epoch 1 of 2, only the top two groups were ever trainable
    groups = trainer.model.parameter_groups()
    assert [all(p.requires_grad for p in g) for g in groups] == [False, False, True, True]
    # the backbone's embedding rows for shared words came from the fine-tuned LM
    _, lm_task, lm = load_run(tmp_path / "clf" / "lm-finetuned")
    vocab = trainer.task.token_vocab()
    word = "film"
    torch.testing.assert_close(
        trainer.model.backbone.embedding.weight[vocab.stoi[word]],
        lm.backbone.embedding.weight[lm_task.token_vocab().stoi[word]],
    )


def test_multi_label_rows_need_the_multi_label_head(tmp_path):
    from rnn_nlp.errors import ConfigError

    data = tmp_path / "tags.jsonl"
    data.write_text(
        "".join(json.dumps({"text": f"text {i}", "label": ["a", "b"] if i % 2 else ["a"]}) + "\n" for i in range(30)), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="head.multi_label must be true"):
        ClassificationTask(build_config(classify_raw(data))).label_names()


@pytest.mark.slow
def test_resume_mid_epoch_matches_an_uninterrupted_run(tmp_path, sentiment, monkeypatch):
    cfg = build_config(classify_raw(sentiment, trainer={"epochs": 2}, backbone={"output_dropout": 0.2}))
    assert_ctrl_c_resume_matches(cfg, ClassificationTask, tmp_path, monkeypatch, stop_step=5)


def test_ensemble_probabilities_average_the_members_by_hand(tmp_path, sentiment):
    from rnn_nlp.tasks.classification import ensemble_probabilities

    a = torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
    b = torch.tensor([[0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    mean = ensemble_probabilities([a, b])
    torch.testing.assert_close(mean, torch.tensor([[0.6, 0.4], [0.5, 0.5], [0.15, 0.85]]))
    # decided by the task like one model's probabilities: labels are sorted, so "neg" is column 0
    task = ClassificationTask(build_config(classify_raw(sentiment)))
    assert task.decide(mean) == ["neg", "neg", "pos"]  # a tie goes to the first label, as argmax does
    assert task.decide(ensemble_probabilities([a])) == task.decide(a)
    with pytest.raises(ValueError, match="same texts"):
        ensemble_probabilities([a, b[:2]])
    with pytest.raises(ValueError, match="at least one"):
        ensemble_probabilities([])


def test_a_split_of_labels_never_seen_in_training_has_nan_loss_not_zero(tmp_path, caplog):
    import math

    from rnn_nlp.runs import load_run

    data = write_sentiment(tmp_path / "reviews.csv", n=80)
    train_run(build_config(classify_raw(data, trainer={"epochs": 1})), tmp_path / "run")
    other = tmp_path / "other.csv"
    other.write_text("text,label\n" + "".join(f"some words {i},{'meh' if i % 2 else 'so-so'}\n" for i in range(40)), encoding="utf-8")
    _, task, model = load_run(tmp_path / "run")
    task.use_data(str(other))
    with caplog.at_level(logging.WARNING):
        metrics = task.evaluate(model, "test", torch.device("cpu"))
    assert math.isnan(metrics["loss"]) and metrics["accuracy"] == 0.0
    assert "no loss: every label is one never seen in training" in caplog.text


def test_evaluate_data_reads_the_whole_file_and_keeps_the_runs_own_reports(tmp_path, capsys):
    data = write_sentiment(tmp_path / "reviews.csv", n=80)
    run = tmp_path / "run"
    train_run(build_config(classify_raw(data, trainer={"epochs": 1})), run)
    assert main(["evaluate", str(run), "--split", "test", "--device", "cpu"]) == 0
    own = (run / "report-test.txt").read_text(encoding="utf-8")
    other = write_sentiment(tmp_path / "other.csv", n=30, seed=5)
    assert main(["evaluate", str(run), "--split", "test", "--data", str(other), "--device", "cpu"]) == 0
    assert (run / "report-test.txt").read_text(encoding="utf-8") == own  # not overwritten by the other data's
    report = (run / "reports-other.csv" / "report-test.txt").read_text(encoding="utf-8")
    assert report.split()[-1] == "30"  # weighted avg support: all 30 rows, not a 10% slice
    assert (run / "reports-other.csv" / "confusion-test.png").exists()
    assert main(["evaluate", str(run), "--data", str(tmp_path / "nope.csv"), "--device", "cpu"]) == 2
    assert not (run / "reports-nope.csv").exists()  # a bad --data leaves nothing in the run


@pytest.mark.slow
def test_a_confusion_plot_of_hundreds_of_labels_stays_small(tmp_path):
    import numpy as np
    from PIL import Image

    from rnn_nlp.metrics.confusion import MAX_PLOTTED_LABELS, most_confused, plot_confusion

    rng = np.random.default_rng(0)
    n = 300
    matrix = np.diag(rng.integers(5, 50, n))
    matrix[3, 7] = matrix[7, 3] = 40  # the two most confused labels
    names = [f"tag{i}" for i in range(n)]
    kept, shown = most_confused(matrix, names)
    assert kept.shape == (MAX_PLOTTED_LABELS, MAX_PLOTTED_LABELS) and {"tag3", "tag7"} <= set(shown)
    assert kept[shown.index("tag3"), shown.index("tag7")] == 40
    plot_confusion(matrix, names, tmp_path / "confusion.png")
    width, height = Image.open(tmp_path / "confusion.png").size
    assert width <= 100 * (0.6 * MAX_PLOTTED_LABELS + 2) + 1 and height == width  # bounded, whatever n is


def write_sentiment_vectors(path, dim=8):
    """Vectors in which every positive word (and the unseen "splendid") lies near +v and every negative
    word (and the unseen "dreadful") near -v; filler words are random."""
    rng = np.random.default_rng(0)
    v = rng.normal(size=dim)
    rows = {w: v + 0.1 * rng.normal(size=dim) for w in [*GOOD, "splendid"]}
    rows |= {w: -v + 0.1 * rng.normal(size=dim) for w in [*BAD, "dreadful"]}
    rows |= {w: rng.normal(size=dim) for w in FILLER}
    path.write_text("".join(w + " " + " ".join(f"{x:.5f}" for x in vec) + "\n" for w, vec in rows.items()), encoding="utf-8")
    return path


def test_a_classifier_reads_the_vectors_of_words_outside_its_vocabulary(tmp_path, sentiment):
    vectors = write_sentiment_vectors(tmp_path / "vectors.txt")
    raw = classify_raw(sentiment, backbone={"vectors": str(vectors), "vectors_mode": "frozen"}, trainer={"epochs": 6})
    train_run(build_config(raw), tmp_path / "run")
    model = rnn_nlp.load(tmp_path / "run", device="cpu")
    task = model._task
    ids, _, rows, _ = task.encode_texts(["the film was splendid", "the film was gotham"])
    unk = task.token_vocab().unk_id
    assert ids[0][3] == ids[1][3] == unk  # neither word occurs in the training data
    assert rows[0][3] == 5 and rows[1][3] == -1  # "splendid" is the vectors file's 6th row; "gotham" has none
    # The unseen words are classified by their vectors alone, as their neighbours in the vectors are.
    assert model.predict("the film was splendid").label == "pos"
    assert model.predict("the film was dreadful").label == "neg"
    encoded = model.encode(["the film was splendid", "the film was dreadful", "the film was gotham"])
    assert not np.allclose(encoded[0], encoded[1])
    # Evaluation batches carry the rows too: the test split's unseen words are read the same way.
    batch = next(task._batches("test", 4, None, torch.device("cpu")))[1]
    assert batch["vector_rows"].shape == batch["ids"].shape


def test_train_with_dev_trains_on_the_valid_texts_too(tmp_path, sentiment):
    plain = ClassificationTask(build_config(classify_raw(sentiment)))
    raw = classify_raw(sentiment)
    raw["data"]["train_with_dev"] = True
    joined = ClassificationTask(build_config(raw))
    train, valid = plain.records()["train"], plain.records()["valid"]
    assert joined.records()["train"]["text"] == train["text"] + valid["text"]
    assert joined.records()["valid"] == valid and joined.records()["test"] == plain.records()["test"]
    assert plain.valid_held_out and not joined.valid_held_out
