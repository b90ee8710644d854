"""Streaming LM corpora (`data.streaming`): the very batches of the in-memory path, read from disk."""

import pytest
import torch

from rnn_nlp.runs import build_config
from rnn_nlp.data.streaming import StreamingCorpus
from rnn_nlp.data.text import load_text_corpus
from rnn_nlp.runs import train_run
from rnn_nlp.tasks.lm import LMTask
from tests.conftest import tiny_raw, write_corpus


def _batches(task: LMTask, split: str, batch_size: int, variation: bool) -> list:
    streams = task.streams(split, batch_size, torch.device("cpu"), variation)
    first = next(iter(streams.values()))
    return [{d: s.chunk(start, size) for d, s in streams.items()} for start, size in first.schedule(7)]


@pytest.mark.parametrize(
    "layout, sections",
    [
        ("folder", {"backbone": {"direction": "both"}, "trainer": {"bptt_variation": True}}),
        ("file", {"data": {"max_train_tokens": 1500, "max_eval_tokens": 100, "lowercase": True}}),
        ("folder", {"data": {"unit": "char", "max_train_tokens": 3000}}),
    ],
)
def test_same_batches_as_in_memory(tmp_path, layout, sections):
    corpus = write_corpus(tmp_path / "corpus", (200, 30, 30))
    if layout == "file":  # one file: valid and test are carved off its end
        single = tmp_path / "all.txt"
        single.write_text("\n\n".join((corpus / f"{s}.txt").read_text() for s in ("train", "valid", "test")))
        corpus = single
    raw = tiny_raw(corpus, **sections)
    memory = LMTask(build_config(raw))
    raw["data"]["streaming"] = True
    disk = LMTask(build_config(raw))
    assert disk.token_vocab().itos == memory.token_vocab().itos
    assert disk.steps_per_epoch() == memory.steps_per_epoch()
    for split, batch_size in (("train", 4), ("valid", 3), ("test", 2)):
        a, b = _batches(memory, split, batch_size, split == "train"), _batches(disk, split, batch_size, split == "train")
        assert len(a) == len(b) > 0
        for x, y in zip(a, b):
            for direction in x:
                for tx, ty in zip(x[direction], y[direction]):
                    assert torch.equal(tx, ty)


def test_lines_match_the_in_memory_reader(tmp_path):
    corpus = write_corpus(tmp_path / "c", (50, 0, 0))
    (corpus / "valid.txt").unlink()
    (corpus / "test.txt").unlink()
    (corpus / "train.txt").write_text("  padded line  \n\n" + (corpus / "train.txt").read_text())
    stream = StreamingCorpus(str(corpus))
    memory = load_text_corpus(str(corpus))
    for split in ("train", "valid", "test"):
        assert list(stream.lines(split)) == memory[split]


def test_training_streams_equal_in_memory_training(tmp_path, corpus):
    raw = tiny_raw(corpus, trainer={"max_steps": 30})
    a = train_run(build_config(raw), tmp_path / "memory")
    raw["data"]["streaming"] = True
    b = train_run(build_config(raw), tmp_path / "disk")
    assert b.history[-1]["valid_loss"] == pytest.approx(a.history[-1]["valid_loss"], abs=1e-6)
