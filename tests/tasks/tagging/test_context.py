"""Document context (data.context): windows inside documents, the sentence's own tags, training, save/load, errors."""

import pytest
import torch

import rnn_nlp
from rnn_nlp.data.tagged import DOCUMENT
from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.registry import get_task
from tests.tasks.tagging.data import tagging_raw, write_ner, write_pos

CPU = torch.device("cpu")


def _task(data, **data_keys):
    return get_task("ner")(build_config(tagging_raw("ner", data, data=data_keys)))


def test_pieces_read_their_own_document_and_never_another(tmp_path):
    task = _task(write_ner(tmp_path / "data", document_size=5), context=3, max_len=4)
    sentences = [["a1", "a2"], ["b1", "b2", "b3"], ["c1"], ["d1", "d2", "d3", "d4", "d5"]]
    tags = [["O", "O"], ["B-PER", "I-PER", "O"], ["B-LOC"], ["O"] * 5]
    pieces = task.encode_sentences(sentences, tags, "input", documents=["x", "x", "x", "y"])
    assert [(p.sentence, p.start, p.words, p.left, len(p.tags), p.first, p.last) for p in pieces] == [
        (0, 0, ("a1", "a2", "b1", "b2", "b3"), 0, 2, True, True),  # nothing before the document's first sentence
        (1, 0, ("a1", "a2", "b1", "b2", "b3", "c1"), 2, 3, True, True),
        (2, 0, ("b1", "b2", "b3", "c1"), 3, 1, True, True),  # nothing after its last; never document y's d1
        (3, 0, ("d1", "d2", "d3", "d4", "d5"), 0, 4, True, False),  # max_len 4 cuts the sentence itself
        (3, 4, ("d2", "d3", "d4", "d5"), 3, 1, False, True),
    ]
    names = task.tag_names()
    assert [names[i] for i in pieces[1].tags] == ["B-PER", "E-PER", "O"]
    assert pieces[1].ids == task.token_vocab().encode(["a1", "a2", "b1", "b2", "b3", "c1"])
    assert all(len(p.chars) == len(p.ids) == len(p.words) for p in pieces)
    alone = pieces[1].without_context()
    assert (alone.words, alone.left, alone.tags) == (("b1", "b2", "b3"), 0, pieces[1].tags)

    batch = task.make_batch(pieces, CPU)
    assert batch["ids"].shape == (5, 6) and batch["tags"].shape == (5, 4)  # windows of up to 6, sentences of up to 4
    assert batch["window_left"].tolist() == [0, 2, 3, 0, 3] and batch["sentence_lengths"].tolist() == [2, 3, 1, 4, 1]


def test_without_context_a_piece_is_its_sentence(tmp_path):
    task = _task(write_ner(tmp_path / "data", document_size=5))
    pieces = task.encode_sentences([["a1", "a2"], ["b1"]], None, "input", documents=["x", "x"])
    assert [(p.words, p.left) for p in pieces] == [(("a1", "a2"), 0), (("b1",), 0)]
    assert "window_left" not in task.make_batch(pieces, CPU)


def test_the_splits_keep_their_documents_and_the_windows_follow_them(tmp_path):
    task = _task(write_ner(tmp_path / "data", sizes=(30, 10, 10), document_size=4), context=5)
    documents = task.splits()["valid"][DOCUMENT]
    assert len(set(documents)) == 3 and documents[3] != documents[4]
    pieces = task.pieces("valid")
    assert pieces[0].left == 0 and pieces[1].left > 0
    assert pieces[4].left == 0  # the first sentence of the second document reads nothing of the first
    tokens = task.splits()["valid"]["tokens"]
    last = pieces[3]  # the first document's last sentence: its window ends with it
    before = [t for s in tokens[:3] for t in s]
    assert last.left == 5 and last.words == (*before[-5:], *tokens[3])


def test_context_is_checked_and_needs_documents(tmp_path):
    data = write_ner(tmp_path / "ner")
    with pytest.raises(ConfigError, match="data.context must be >= 0"):
        _task(data, context=-1)
    with pytest.raises(ConfigError, match="data.context_dropout"):
        _task(data, context=2, context_dropout=1.5)
    with pytest.raises(ConfigError, match="data.context_dropout drops document context, but data.context is 0"):
        _task(data, context=0, context_dropout=0.3)
    pos = write_pos(tmp_path / "pos")
    task = get_task("pos")(build_config(tagging_raw("pos", pos, data={"context": 2})))
    with pytest.raises(ConfigError, match=rf"data.context=2 .* {pos} \[.*train.*\] has no documents.*or data.context=0"):
        task.splits()


@pytest.fixture(scope="module")
def context_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ner-context")
    data = write_ner(root / "data", document_size=6)
    raw = tagging_raw("ner", data, data={"context": 6, "context_dropout": 0.25}, trainer={"epochs": 4})
    return root, train_run(build_config(raw), root / "run")


@pytest.mark.slow
def test_a_context_tagger_learns_and_evaluates_on_windows(context_run):
    root, trainer = context_run
    losses = [row["train_loss"] for row in trainer.history]
    assert losses[-1] < 0.5 * losses[0]
    assert trainer.history[-1]["valid_f1"] >= 0.9
    _, task, model = load_run(root / "run")
    assert any(p.left > 0 for p in task.pieces("test"))  # evaluation reads the windows training read
    metrics = task.evaluate(model, "test", CPU)
    assert metrics["f1"] >= 0.9


@pytest.mark.slow
def test_a_context_run_predicts_alike_after_save_and_load(context_run, tmp_path):
    root, _ = context_run
    model = rnn_nlp.load(root / "run", "cpu")
    sentences = [["Mary", "visited", "Paris", "."], ["Ann", "Lee", "joined", "Acme", "Corp", "."], ["Bob", "left", "Rome"]]
    texts = ["Mary visited Paris. Bob left Rome.", "Ann Lee joined Globex"]
    before = (model.tag_tokens(sentences), model.tag_tokens(sentences, document=False), [r.tags for r in model.predict(texts)])
    again = rnn_nlp.load(model.save(tmp_path / "saved"), "cpu")
    assert again.config.data.context == 6
    assert (again.tag_tokens(sentences), again.tag_tokens(sentences, document=False), [r.tags for r in again.predict(texts)]) == before
    assert before[0][0] == ["B-PER", "O", "B-LOC", "O"]
    assert again.evaluate(split="test") == model.evaluate(split="test")


def test_context_dropout_reads_some_training_windows_alone_and_the_same_ones_again(tmp_path):
    task = _task(write_ner(tmp_path / "data", sizes=(60, 10, 10), document_size=6), context=4, context_dropout=0.5)

    def lefts(epoch):
        return [left for b in task.train_batches(epoch, 0, CPU) for left in b["window_left"].tolist()]

    first = lefts(1)
    kept = [p.left for p in task.pieces("train")]
    assert first.count(0) > kept.count(0)  # some windows lost their context ...
    assert 0 < sum(first) < sum(kept)  # ... not all of them
    assert lefts(1) == first  # an epoch's windows are drawn from its seed: a resumed epoch gets the same
