"""Streaming LM corpora (`data.streaming`): the very batches of the in-memory path, read from disk."""

import pytest
import torch

from rnn_nlp.data.streaming import StreamingCorpus
from rnn_nlp.data.text import load_text_corpus
from rnn_nlp.errors import DataError
from rnn_nlp.runs import build_config, train_run
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


def test_streamed_folder_of_held_out_splits_without_train_is_the_same_error(tmp_path):
    """Issue 15 item 19: the streaming reader resolves a folder as the in-memory one, and refuses it alike."""
    corpus = write_corpus(tmp_path / "c", (0, 20, 20))
    (corpus / "train.txt").unlink()
    with pytest.raises(DataError) as memory:
        load_text_corpus(str(corpus))
    with pytest.raises(DataError) as stream:
        StreamingCorpus(str(corpus))
    msg = str(stream.value)
    assert msg == str(memory.value)
    assert "no train file" in msg and "valid.txt" in msg and "test.txt" in msg and "train.txt" in msg


def test_streamed_folder_of_unnamed_files_reads_them_all_as_train(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "b.txt").write_text("".join(f"b{i}\n" for i in range(20)))
    (folder / "a.txt").write_text("".join(f"a{i}\n" for i in range(20)))
    stream, memory = StreamingCorpus(str(folder)), load_text_corpus(str(folder))
    for split in ("train", "valid", "test"):
        assert list(stream.lines(split)) == memory[split]
    assert memory["train"][:20] == [f"a{i}" for i in range(20)]


@pytest.mark.parametrize(
    "where, data, line",
    [
        ("file", b"fine line\n\nok again\nbroken \xff\xfe here\nlast\n", 4),
        ("file", b"\xc3\x28 first\nsecond\n", 1),
        ("file", b"".join(b"line %d\n" % i for i in range(30_000)) + b"no newline at the end \xe2\x82", 30_001),
        ("valid", b"good\r\n\xc3\x28 bad\r\n", 2),
    ],
    ids=["mid-file", "first-line", "last-line-unended", "folder-valid-crlf"],
)
def test_streamed_invalid_utf8_names_file_and_line(tmp_path, where, data, line):
    """Issue 15 item 20: the in-memory reader's error (file:line), not a bare decoding error."""
    if where == "file":
        path = corpus = tmp_path / "bad.txt"
    else:
        corpus = write_corpus(tmp_path / "c", (20, 5, 5))
        path = corpus / f"{where}.txt"
    path.write_bytes(data)
    with pytest.raises(DataError) as stream:
        StreamingCorpus(str(corpus))
    assert str(stream.value).startswith(f"{path}:{line}: not valid UTF-8")
    with pytest.raises(DataError) as memory:
        load_text_corpus(str(corpus))
    assert str(stream.value) == str(memory.value)


def test_a_full_disk_while_writing_token_ids_leaves_no_tmp_in_the_cache(tmp_path, monkeypatch):
    """The token file (it may be GBs) is removed when the disk fills up partway, and the error names it."""
    import builtins
    import errno

    from rnn_nlp.data import streaming
    from rnn_nlp.data.tokenize import Tokenizer

    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))  # a cache of its own, to see what is left there
    corpus = StreamingCorpus(str(write_corpus(tmp_path / "c", (2000, 20, 20))))
    tokenizer = Tokenizer("whitespace")
    vocab = streaming.build_vocab(corpus, tokenizer, None, 1, "word")

    class FillsUp:
        def __init__(self, fh):
            self.fh, self.writes = fh, 0

        def write(self, data):
            self.writes += 1
            if self.writes > 100:  # some ids are on disk by now
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    with monkeypatch.context() as full:
        full.setattr(streaming, "open", lambda path, mode="r": FillsUp(builtins.open(path, mode)), raising=False)
        with pytest.raises(DataError, match=r"cannot write the train token file .*train\.ids \(No space left on device\)"):
            streaming.token_file(corpus, "train", tokenizer, vocab, None)
    assert not [p.name for p in (tmp_path / "cache" / "lm-tokens").rglob("*") if p.is_file()]
    path, n = streaming.token_file(corpus, "train", tokenizer, vocab, None)  # and it is written whole next time
    assert path.stat().st_size == 4 * n > 0
