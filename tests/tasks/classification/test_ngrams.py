"""head.ngrams end to end on tiny data: a class told by word order alone, the n-gram vocabulary saved with the
run, the same predictions after loading, the config checked."""

import json
import random

import pytest
import torch

import rnn_nlp
from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.classification import ClassificationTask
from tests.tasks.classification.test_task import FILLER, classify_raw


def write_word_order(path, n=240, seed=0):
    """Both classes hold the words "plot" and "twist"; "plot twist" marks pos and "twist plot" neg: a bag of
    words cannot tell them apart, their bigrams can."""
    rng = random.Random(seed)
    rows = ["text,label"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = rng.sample([w for w in FILLER if w != "plot"], 4)
        words.insert(rng.randrange(5), "plot twist" if label == "pos" else "twist plot")
        rows.append(f"{' '.join(words)},{label}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def ngram_raw(data, **sections):
    head = {"ngrams": 2, "ngram_dropout": 0.0, **sections.pop("head", {})}
    trainer = {"epochs": 3, **sections.pop("trainer", {})}
    return classify_raw(data, head=head, trainer=trainer, **sections)


@pytest.fixture(scope="module")
def ngram_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ngrams")
    data = write_word_order(root / "order.csv")
    trainer = train_run(build_config(ngram_raw(data)), root / "run")
    return root / "run", trainer


def test_the_ngram_path_learns_a_class_told_by_a_bigram(ngram_run):
    run, trainer = ngram_run
    history = trainer.history
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["valid_accuracy"] >= 0.95
    _, task, model = load_run(run)
    vocab = task.ngram_vocabulary()
    weights = model.head.ngrams.weights.weight.detach()
    neg, pos = task.label_names().index("neg"), task.label_names().index("pos")
    margin = lambda gram: float(weights[vocab.stoi[gram], pos] - weights[vocab.stoi[gram], neg])  # noqa: E731
    assert margin("plot twist") > 0 > margin("twist plot")
    # the n-gram path alone (the recurrent logits left out) separates the validation texts
    _, labels = task.encoded("valid")
    grams = task._ngrams["valid"]
    alone = torch.stack([model.head.ngrams.eval()(torch.tensor([g])).squeeze(0) for g in grams])
    assert float((alone.argmax(1) == torch.tensor([pos if y == "pos" else neg for y in labels])).float().mean()) >= 0.95


def test_the_ngram_vocabulary_is_saved_with_the_run_and_predictions_survive_loading(ngram_run):
    run, _ = ngram_run
    saved = json.loads((run / "best" / "vocab.json").read_text())
    assert "plot twist" in saved["ngrams"]["itos"] and "twist plot" in saved["ngrams"]["itos"]
    _, task, network = load_run(run)
    gold, _, probs, _ = task.predict_split(network, "test", torch.device("cpu"))
    model = rnn_nlp.load(run)
    texts = task.records()["test"]["text"]
    torch.testing.assert_close(model.probabilities(texts), probs, rtol=1e-5, atol=1e-6)
    assert model.predict("the film was a plot twist").label == "pos"
    assert model.predict("the film was a twist plot").label == "neg"
    assert model.encode(["the film was a plot twist"]).shape[0] == 1  # sentence vectors leave the n-grams out


def test_a_vocab_json_without_its_ngrams_is_refused(ngram_run):
    run, _ = ngram_run
    saved = json.loads((run / "best" / "vocab.json").read_text())
    del saved["ngrams"]
    cfg = build_config(ngram_raw(run / "unused.csv"))
    with pytest.raises(CheckpointError, match="ngrams"):
        ClassificationTask(cfg, saved)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ngrams", -1, "head.ngrams must be >= 0"),
        ("ngrams", 1.5, "head.ngrams"),
        ("ngrams", "two", "head.ngrams"),
        ("ngram_min_count", 0, "head.ngram_min_count must be positive"),
        ("ngram_vocab_size", 0, "head.ngram_vocab_size must be positive"),
        ("ngram_dropout", 1.0, "head.ngram_dropout must be in"),
    ],
)
def test_bad_ngram_settings_are_config_errors_naming_the_key(tmp_path, key, value, message):
    with pytest.raises(ConfigError, match=message):
        build_config(ngram_raw(tmp_path / "unused.csv", head={key: value}))
