"""Hostile values: non-finite models, strict JSON, empty configs, extreme sampling settings, wrong
argument types in the public API, absurd numbers in configs, YAML alias bombs and overrides blamed on
the right source. Each expects a clear error naming what and where, or a correct answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

import rnn_nlp
from rnn_nlp.cli import main
from rnn_nlp.config import load_yaml
from rnn_nlp.errors import CheckpointError, ConfigError, NonFiniteLossError, abbreviate
from rnn_nlp.files import json_text
from rnn_nlp.generate.decoding import generate_batch
from rnn_nlp.runs import build_config, load_config, train_run
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.callbacks import Callback
from tests.conftest import tiny_raw, write_corpus
from tests.tasks.classification.test_task import classify_raw, write_sentiment
from tests.tasks.tagging.data import tagging_raw, write_ner

QUICK = {"max_steps": 2, "epochs": 1}


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """A saved LM, classifier and NER tagger, two steps each."""
    root = tmp_path_factory.mktemp("values")
    corpus = write_corpus(root / "corpus", (120, 20, 20))
    train_run(build_config(tiny_raw(corpus, trainer=QUICK)), root / "lm")
    data = write_sentiment(root / "reviews.csv", n=60)
    train_run(build_config(classify_raw(data, trainer=QUICK)), root / "clf")
    ner = write_ner(root / "ner", sizes=(40, 10, 10))
    train_run(build_config(tagging_raw("ner", ner, trainer=QUICK)), root / "ner-run")
    return root


# ---- 1. non-finite models and strict JSON ----------------------------------------------------
class PoisonWeights(Callback):
    """Turns every weight into NaN after each step: what an overflowing learning rate does."""

    def on_step_end(self, state):
        with torch.no_grad():
            for p in state.model.parameters():
                p.fill_(float("nan"))


@pytest.mark.slow
def test_nan_model_is_never_best_and_the_run_says_so(tmp_path):
    data = write_sentiment(tmp_path / "reviews.csv", n=60)
    with pytest.raises(NonFiniteLossError, match=r"run.*lower trainer\.lr"):
        train_run(build_config(classify_raw(data, trainer={"max_steps": 4, "epochs": 2})), tmp_path / "run", callbacks=[PoisonWeights()])
    assert not (tmp_path / "run" / "best").exists()


@pytest.mark.slow
def test_loading_nan_weights_is_refused(tiny_runs, tmp_path):
    model = rnn_nlp.load(tiny_runs / "clf", "cpu")
    with torch.no_grad():
        next(model.module.parameters()).fill_(float("nan"))
    ckpt.save_checkpoint(tmp_path / "nan", model.config, model._task.vocab_json(), model.module)
    with pytest.raises(CheckpointError, match=r"nan.*not finite"):
        rnn_nlp.load(tmp_path / "nan", "cpu")


def test_json_text_is_strict():
    text = json_text({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.5], "c": {"d": float("nan")}})
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c}")) == {"a": None, "b": [None, None, 1.5], "c": {"d": None}}


def test_no_writer_dumps_json_directly():
    """Every JSON the package writes goes through rnn_nlp.files.json_text (strict: no NaN/Infinity)."""
    root = Path(rnn_nlp.__file__).parent
    offenders = [
        str(p.relative_to(root.parent))
        for p in sorted(root.rglob("*.py"))
        if "json.dumps(" in p.read_text(encoding="utf-8") and p.name != "files.py"
    ]
    assert offenders == [] or all(name.endswith(("streaming.py", "base.py")) for name in offenders), offenders


# ---- 2. empty configs -------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "# only a comment\n\n# and another\n", "{}\n"])
def test_empty_config_file_is_an_error(tmp_path, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"empty\.yaml.*holds no settings"):
        load_config(path)


# ---- 3. extreme sampling settings ------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("temperature", [1e-50, 1e-5, 1.0, 100.0, 1e39])
def test_sampling_never_gives_specials_at_any_temperature(tiny_runs, temperature):
    model = rnn_nlp.load(tiny_runs / "lm", "cpu")
    texts = model.generate("the", max_tokens=40, sample=True, temperature=temperature, num_samples=4, seed=1)
    words = " ".join(texts).split()
    assert "<pad>" not in words and "<unk>" not in words
    if temperature == 1e-50:  # as greedy
        assert set(texts) == {model.generate("the", max_tokens=40)}
    if temperature == 1e39:  # as uniform over real words, not the last word again and again
        assert len(set(words)) > 5


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [
        {"temperature": float("inf")},
        {"temperature": float("nan")},
        {"temperature": 0},
        {"temperature": "hot"},
        {"top_k": 2.5},
        {"top_k": -1},
        {"top_p": float("nan")},
        {"top_p": 1.5},
        {"max_tokens": 2.5},
        {"max_tokens": True},
        {"num_samples": 1.5},
    ],
)
def test_sampling_options_are_checked(tiny_runs, options):
    model = rnn_nlp.load(tiny_runs / "lm", "cpu")
    name = next(iter(options))
    with pytest.raises((TypeError, ValueError, ConfigError), match=name):
        model.generate("the", sample=True, **options)


def test_generate_batch_log_space_temperature():
    class Uniformish:
        vocab_size = 5
        model = torch.nn.Linear(1, 1)

        def prime(self, prompts, device):
            return torch.zeros(len(prompts), 1), None

        def step(self, tokens, state):
            return torch.zeros(tokens.size(0), 1), None

        def select(self, state, rows):
            return state

        def log_probs(self, top):
            return torch.tensor([[-50.0, -60.0, -70.0, -80.0, -90.0]]).expand(top.size(0), -1).log_softmax(-1)

    gen = torch.Generator().manual_seed(0)
    cold = generate_batch(Uniformish(), [[1]] * 3, 20, greedy=False, temperature=1e-50, generator=gen)
    assert all(t == 0 for row in cold for t in row)  # the likeliest id, never the last one
    hot = generate_batch(Uniformish(), [[1]] * 3, 50, greedy=False, temperature=1e39, generator=gen)
    assert {t for row in hot for t in row} == {0, 1, 2, 3, 4}


# ---- 4 and 12. the public API checks its arguments -------------------------------------------
BAD_TEXTS = [{"text": "x"}, None, b"bytes", 3, ["a", None], ["a", b"b"], [["a"]], {"a", "b"}]


@pytest.mark.slow
@pytest.mark.parametrize("bad", BAD_TEXTS, ids=repr)
@pytest.mark.parametrize(
    "run,verb", [("clf", "predict"), ("clf", "predict_stream"), ("ner", "predict"), ("lm", "perplexity"), ("clf", "encode")]
)
def test_api_refuses_what_is_not_texts(tiny_runs, bad, run, verb):
    model = rnn_nlp.load(tiny_runs / {"clf": "clf", "ner": "ner-run", "lm": "lm"}[run], "cpu")
    with pytest.raises(TypeError, match=r"texts|inputs"):
        list(getattr(model, verb)(bad))


@pytest.mark.slow
@pytest.mark.parametrize("bad", [None, b"the", {"prompt": "the"}, ["the", None], 3])
def test_generate_refuses_bad_prompts(tiny_runs, bad):
    model = rnn_nlp.load(tiny_runs / "lm", "cpu")
    with pytest.raises(TypeError, match="prompt"):
        model.generate(bad)


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["Paris", [["a", None]], [b"ab"], None, [["a"], "Paris"], {"s": ["a"]}])
def test_tag_tokens_refuses_what_is_not_tokenized_sentences(tiny_runs, bad):
    model = rnn_nlp.load(tiny_runs / "ner-run", "cpu")
    with pytest.raises(TypeError, match="sentences"):
        model.tag_tokens(bad)


@pytest.mark.slow
def test_api_still_takes_texts(tiny_runs):
    clf = rnn_nlp.load(tiny_runs / "clf", "cpu")
    assert clf.predict("good").text == "good"
    assert [r.text for r in clf.predict(("a", "b"))] == ["a", "b"]
    assert [r.text for r in clf.predict_stream(iter(["a", "b"]))] == ["a", "b"]
    assert rnn_nlp.load(tiny_runs / "ner-run", "cpu").tag_tokens([["Paris", "is"], []])[1] == []


# ---- 5. evaluate --data names the data evaluated ---------------------------------------------
@pytest.mark.slow
def test_unseen_label_warning_names_the_data_evaluated(tiny_runs, tmp_path, caplog):
    other = tmp_path / "other.csv"
    other.write_text("text,label\n" + "".join(f"word{i} movie,{'meh' if i % 2 else 'pos'}\n" for i in range(20)), encoding="utf-8")
    with caplog.at_level("WARNING"):
        rnn_nlp.load(tiny_runs / "clf", "cpu").evaluate(data=str(other), split="test")
    warned = [r.getMessage() for r in caplog.records if "meh" in r.getMessage()]
    assert warned and all("other.csv" in m and "reviews.csv" not in m for m in warned), warned


# ---- 6. learning rates and other floats that overflow ----------------------------------------
@pytest.mark.parametrize("key", ["trainer.lr", "trainer.weight_decay", "trainer.momentum", "backbone.init_range", "trainer.min_lr"])
def test_overflowing_numbers_are_refused(tmp_path, key):
    section, name = key.split(".")
    raw = tiny_raw(write_corpus(tmp_path / "c", (20, 5, 5)), **{section: {name: 1e308}})
    with pytest.raises(ConfigError, match=rf"{key}.*must be"):
        build_config(raw)


# ---- 13. YAML alias bombs and long values ------------------------------------------------------
BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""


def test_alias_bomb_is_refused_before_it_expands():
    with pytest.raises(yaml.YAMLError, match="alias"):
        load_yaml(BOMB)


def test_alias_bomb_config_is_a_short_config_error(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB.replace("g: &g", "data:\n  name: &g"), encoding="utf-8")
    with pytest.raises(ConfigError, match="alias") as err:
        load_config(path)
    assert len(str(err.value)) < 400


def test_long_values_are_abbreviated_in_config_errors(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump({"data": {"name": [["x" * 100] * 100] * 100}}), encoding="utf-8")
    with pytest.raises(ConfigError, match="data.name") as err:
        load_config(path)
    assert len(str(err.value)) < 400
    assert len(abbreviate("y" * 10_000)) <= 80 and abbreviate(1.5) == "1.5"


def test_small_aliases_still_load():
    assert load_yaml("a: &a {x: 1}\nb: *a\n") == {"a": {"x": 1}, "b": {"x": 1}}


# ---- 16. a bad override is blamed on the override --------------------------------------------
def test_bad_override_is_blamed_on_the_override(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(tiny_raw(write_corpus(tmp_path / "c", (20, 5, 5)))), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, ["trainer.epochs=2", "backbone.hidden_size=abc"])
    assert str(err.value).startswith("override backbone.hidden_size=abc: backbone.hidden_size"), str(err.value)
    path.write_text(yaml.safe_dump(tiny_raw(tmp_path / "c", backbone={"hidden_size": "abc"})), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^.*cfg\.yaml: backbone\.hidden_size"):
        load_config(path, ["trainer.epochs=2"])


def test_cli_names_the_override(tmp_path, capsys):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(tiny_raw(write_corpus(tmp_path / "c", (20, 5, 5)))), encoding="utf-8")
    assert main(["train", str(path), "backbone.hidden_size=abc", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "override backbone.hidden_size=abc" in err and "Traceback" not in err
