"""A run's own vocab.json, read back, is checked before a task takes it (issue 15, item 10).

Every task treats `vocab_json is not None` as the run's own vocabularies: an empty object is not
"no vocabulary" (which would silently rebuild it from today's data), and a file of the wrong shape
is a CheckpointError naming vocab.json and the key, never a ValueError or TypeError.
"""

from __future__ import annotations

import copy
import json

import pytest

from rnn_nlp.data.vocab import SPECIALS, Vocab
from rnn_nlp.errors import CheckpointError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.training.run_folder import LAST
from tests.conftest import tiny_raw
from tests.training.edits import rehash

TOKENS = {"unit": "word", "itos": [*SPECIALS, "a", "b"], "counts": [0, 0, 0, 2, 1]}
GOOD = {
    "lm": {"tokens": TOKENS},
    "classify": {"tokens": TOKENS, "labels": ["neg", "pos"]},
    "ner": {"tokens": TOKENS, "chars": ["<pad>", "<unk>", "a", "b"], "tags": ["O", "B-PER", "E-PER"], "scheme": "iob2"},
    "pos": {"tokens": TOKENS, "chars": ["<pad>", "<unk>", "a"], "tags": ["DET", "NOUN"], "scheme": "none"},
    "qa": {"tokens": TOKENS, "no_answer": False, "cloze": True},
    "seq2seq": {"tokens": TOKENS, "target": TOKENS, "longest_source": 7},
}


def make(task: str, vocab_json, **data):
    cfg = build_config({"task": task, "data": {"name": "never-read", **data}})
    return get_task(task)(cfg, vocab_json=vocab_json)


def changed(task: str, key: str, value):
    out = copy.deepcopy(GOOD[task])
    if value is ...:
        out.pop(key)
    else:
        out[key] = value
    return out


@pytest.mark.parametrize("task", list(GOOD))
def test_the_vocab_json_a_task_writes_is_taken_back(task):
    t = make(task, copy.deepcopy(GOOD[task]))
    assert t.token_vocab().itos == TOKENS["itos"] and t.token_vocab().counts == TOKENS["counts"]


@pytest.mark.parametrize("task", list(GOOD))
def test_an_empty_vocab_json_is_refused_not_rebuilt_from_the_data(task):
    with pytest.raises(CheckpointError, match=r"^vocab.json: missing keys? 'tokens'"):
        make(task, {})


@pytest.mark.parametrize("task", list(GOOD))
def test_a_vocab_json_that_is_not_an_object(task):
    with pytest.raises(CheckpointError, match=r"^vocab.json: must be a JSON object with the keys tokens"):
        make(task, ["<pad>", "<unk>", "<eos>"])


@pytest.mark.parametrize(
    "tokens, message",
    [
        (["<pad>", "<unk>", "<eos>"], r"tokens must be a JSON object with itos, counts and unit, not a list"),
        ({"counts": [0, 0, 0]}, r"tokens.itos is missing"),
        ({"itos": "<pad> <unk> <eos>"}, r"tokens.itos must be a list of tokens, not a string"),
        ({"itos": [*SPECIALS, 3]}, r"tokens.itos must hold strings only; item 3 is a number 3"),
        ({"itos": ["a", *SPECIALS]}, r"tokens.itos must start with the specials <pad>, <unk>, <eos>"),
        ({"itos": [*SPECIALS, "a", "b", "a"]}, r"tokens.itos holds 'a' twice \(items 3 and 5\)"),
        ({"itos": [*SPECIALS, "a"], "counts": [1]}, r"tokens.counts must be a list of one count per token \(4 tokens\), not 1 counts"),
        ({"itos": [*SPECIALS, "a"], "counts": [0, 0, 0, -2]}, r"tokens.counts must hold whole numbers >= 0; item 3 is -2"),
        ({"itos": [*SPECIALS, "a"], "counts": [0, 0, 0, 1.5]}, r"tokens.counts must hold whole numbers >= 0; item 3 is 1.5"),
        ({"itos": [*SPECIALS], "unit": "byte"}, r"tokens.unit must be one of word, char, not 'byte'"),
        ({"itos": [*SPECIALS], "stoi": {}}, r"tokens has unknown key\(s\) stoi"),
    ],
)
@pytest.mark.parametrize("task", list(GOOD))
def test_a_token_vocabulary_of_the_wrong_shape(task, tokens, message):
    with pytest.raises(CheckpointError, match=r"^vocab.json: " + message):
        make(task, changed(task, "tokens", tokens))


@pytest.mark.parametrize(
    "task, key, value, message",
    [
        ("classify", "labels", ..., r"missing key 'labels'"),
        ("classify", "labels", "neg pos", r"labels must be a list of strings, not a string"),
        ("classify", "labels", ["neg", 1], r"labels must hold strings only; item 1 is a number 1"),
        ("classify", "labels", ["neg", "neg"], r"labels holds 'neg' twice"),
        ("classify", "labels", ["neg"], r"labels must hold at least 2 names, not 1"),
        ("ner", "tags", ..., r"missing key 'tags'"),
        ("ner", "tags", ["O"], r"tags must hold at least 2 names"),
        ("ner", "chars", ["a", "b"], r"chars must start with <pad>, <unk>"),
        ("ner", "chars", {"a": 1}, r"chars must be a list of strings, not an object"),
        ("ner", "scheme", "bio", r"scheme must be one of 'none', 'iob1', 'iob2', 'bioes' \(or absent\), not 'bio'"),
        ("pos", "scheme", 3, r"scheme must be one of .* not 3"),
        ("qa", "no_answer", "yes", r"no_answer must be bool \(or absent\), not 'yes'"),
        ("qa", "cloze", 1, r"cloze must be bool \(or absent\), not 1"),
        ("seq2seq", "target", ..., r"missing key 'target'"),
        ("seq2seq", "target", {"itos": []}, r"target.itos must start with the specials"),
        ("seq2seq", "longest_source", -1, r"longest_source must be int >= 0 \(or absent\), not -1"),
        ("seq2seq", "longest_source", True, r"longest_source must be int >= 0 \(or absent\), not True"),
        ("seq2seq", "longest_source", "7", r"longest_source must be int >= 0 \(or absent\), not '7'"),
    ],
)
def test_a_tasks_own_entries_of_the_wrong_shape(task, key, value, message):
    with pytest.raises(CheckpointError, match=r"^vocab.json: " + message):
        make(task, changed(task, key, value))


@pytest.mark.parametrize("task, key", [("ner", "scheme"), ("qa", "no_answer"), ("qa", "cloze"), ("seq2seq", "longest_source")])
def test_entries_added_since_0_2_stay_optional(task, key):
    for vocab_json in (changed(task, key, ...), changed(task, key, None)):
        made = make(task, vocab_json)
        assert getattr(made, "vocab", None) or getattr(made, "src_vocab", None)  # the saved vocabulary taken, not rebuilt


def test_a_shared_seq2seq_vocabulary_must_be_one_vocabulary():
    other = {"itos": [*SPECIALS, "z"]}
    make("seq2seq", changed("seq2seq", "target", other))  # separate vocabularies may differ
    with pytest.raises(CheckpointError, match=r"^vocab.json: target must be the same vocabulary as tokens \(data.shared_vocab"):
        make("seq2seq", changed("seq2seq", "target", other), shared_vocab=True)


def test_vocab_load_names_the_file(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"itos": [*SPECIALS, "x", "x"]}), encoding="utf-8")
    with pytest.raises(CheckpointError, match=rf"^{path}: itos holds 'x' twice"):
        Vocab.load(path)


@pytest.mark.slow
@pytest.mark.parametrize("written", [{}, {"tokens": {"itos": [*SPECIALS, "a", "a"]}}, [1, 2]], ids=["empty", "duplicate", "a list"])
def test_a_rehashed_vocab_json_is_refused_by_load_and_resume(tmp_path, corpus, written):
    """The issue's case end to end: vocab.json rewritten together with its hash in meta.json."""
    cfg = build_config(tiny_raw(corpus, trainer={"max_steps": 3}))
    run = tmp_path / "run"
    train_run(cfg, run)
    for folder in (run / run_folder.BEST, run / LAST):
        (folder / ckpt.VOCAB).write_text(json.dumps(written), encoding="utf-8")
        rehash(folder, ckpt.VOCAB)
    with pytest.raises(CheckpointError, match=r"vocab.json: "):
        load_run(run)
    with pytest.raises(CheckpointError, match=r"vocab.json: "):
        train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 6})), run, resume=True)


def test_a_rehashed_vocab_json_of_a_pretrained_run_is_refused_naming_it(tmp_path, corpus):
    run = tmp_path / "lm"
    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 3})), run)
    (run / run_folder.BEST / ckpt.VOCAB).write_text(json.dumps({"tokens": {"itos": "abc"}}), encoding="utf-8")
    rehash(run / run_folder.BEST, ckpt.VOCAB)
    fine_tuned = build_config(tiny_raw(corpus, trainer={"max_steps": 3}))
    fine_tuned.pretrained = str(run)
    with pytest.raises(CheckpointError, match=r"best/vocab.json: tokens"):
        train_run(fine_tuned, tmp_path / "ft")
