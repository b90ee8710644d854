"""`Task.data_fingerprint`: counts and a hash per split, the same for the same data, different for any change."""

from __future__ import annotations

import copy

import pytest
import torch

from rnn_nlp.runs import build_config
from rnn_nlp.tasks.base import Task, file_fingerprint, records_fingerprint, tensor_fingerprint
from rnn_nlp.tasks.registry import get_task

RECORDS = {
    "classify": ("_records", "examples", {"text": ["a good film", "a bad plot"], "label": ["pos", "neg"]}),
    "ner": ("_splits", "sentences", {"tokens": [["Ann", "left"], ["Bob"]], "tags": [["B-PER", "O"], ["B-PER"]]}),
    "pos": ("_splits", "sentences", {"tokens": [["the", "dog"]], "tags": [["DET", "NOUN"]]}),
    "qa": (
        "_records",
        "questions",
        {
            "id": ["q1"],
            "question": ["who ?"],
            "context": ["ann ran ."],
            "answers": [{"text": ["ann"], "answer_start": [0]}],
            "candidates": [[]],
        },
    ),
    "seq2seq": ("_records", "pairs", {"source": ["a b", "c"], "target": ["B A", "C"]}),
}


def _altered(value):
    """The value with one more item, character or key."""
    if isinstance(value, dict):
        return {**value, "x": 1}
    return value + (["x"] if isinstance(value, list) else "x")


def task_on(name: str, splits: dict):
    task = get_task(name)(build_config({"task": name, "data": {"name": "never-read"}}))
    attribute = RECORDS[name][0]
    setattr(task, attribute, copy.deepcopy(splits))
    return task


@pytest.mark.parametrize("name", list(RECORDS))
def test_every_task_fingerprints_its_train_and_valid_examples(name):
    _, unit, columns = RECORDS[name]
    splits = {split: copy.deepcopy(columns) for split in ("train", "valid", "test")}
    fp = task_on(name, splits).data_fingerprint()
    assert set(fp) == {"train", "valid"}  # the test split decides nothing in training
    assert fp["valid"][unit] == len(next(iter(columns.values())))
    assert task_on(name, splits).data_fingerprint() == fp
    changed = copy.deepcopy(splits)
    column = sorted(columns)[0]
    changed["valid"][column][0] = _altered(changed["valid"][column][0])
    other = task_on(name, changed).data_fingerprint()
    assert other["train"] == fp["train"] and other["valid"] != fp["valid"]
    assert other["valid"][unit] == fp["valid"][unit]
    fewer = {**copy.deepcopy(splits), "valid": {k: v[:-1] for k, v in columns.items()}}
    if len(next(iter(columns.values()))) > 1:
        assert task_on(name, fewer).data_fingerprint()["valid"][unit] == fp["valid"][unit] - 1


def test_a_missing_split_is_left_out():
    _, _, columns = RECORDS["classify"]
    assert set(task_on("classify", {"train": columns}).data_fingerprint()) == {"train"}


def test_a_task_of_ones_own_has_nothing_to_compare_by_default():
    assert Task(cfg=None).data_fingerprint() == {}


def test_the_record_hash_sees_which_column_holds_what():
    a = records_fingerprint({"source": ["x"], "target": ["y"]})
    b = records_fingerprint({"source": ["y"], "target": ["x"]})
    assert a != b and a["examples"] == b["examples"] == 1


def test_the_tensor_hash_sees_dtype_and_values():
    ids = torch.arange(10)
    assert tensor_fingerprint(ids) == tensor_fingerprint(ids.clone()) and tensor_fingerprint(ids)["tokens"] == 10
    assert tensor_fingerprint(ids) != tensor_fingerprint(ids.flip(0))
    assert tensor_fingerprint(ids) != tensor_fingerprint(ids.int())


def test_a_large_file_is_read_at_its_two_ends_only(tmp_path, monkeypatch):
    """A token file of gigabytes must not be read whole: the size and both ends are hashed."""
    path = tmp_path / "train.ids"
    data = bytearray(b"\0" * (10 * 1024))
    path.write_bytes(bytes(data))
    fp = file_fingerprint(path, 2560, block=1024)
    assert fp["tokens"] == 2560
    data[5000] = 1  # the middle: not seen (what makes it cheap)
    path.write_bytes(bytes(data))
    assert file_fingerprint(path, 2560, block=1024) == fp
    for where in (0, len(data) - 1):
        changed = bytearray(data)
        changed[where] = 7
        path.write_bytes(bytes(changed))
        assert file_fingerprint(path, 2560, block=1024) != fp
    path.write_bytes(bytes(data) + b"\0")
    assert file_fingerprint(path, 2560, block=1024) != fp
    reads = []
    import builtins

    real_open = builtins.open

    def counting_open(*args, **kwargs):
        fh = real_open(*args, **kwargs)
        read = fh.read
        fh.read = lambda n=-1: reads.append(n) or read(n)
        return fh

    monkeypatch.setattr(builtins, "open", counting_open)
    file_fingerprint(path, 2560, block=1024)
    assert reads and all(0 < n <= 1024 for n in reads)
