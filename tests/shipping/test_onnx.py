"""ONNX export (`rnn-nlp export RUN OUT --onnx [--int8]`): padded inputs with a lengths input, outputs within the
stated tolerance of PyTorch over random batch sizes and lengths, both torch exporters tried, int8 by onnxruntime's
dynamic quantization (DynamicQuantizeLSTM for LSTMs; a GRU keeps a float recurrence)."""

from __future__ import annotations

import json
import logging
import random
import sys

import numpy as np
import pytest
import torch

import rnn_nlp
from rnn_nlp import api, inference
from rnn_nlp.cli import main
from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.pooling import POOLINGS
from rnn_nlp.onnx import graphs
from rnn_nlp.onnx.export import CHECK_SHAPES, MANIFEST, TOLERANCE, check_shapes, graph_of, largest_difference, random_inputs, write_onnx
from rnn_nlp.runs.export import load_model
from tests.shipping.sentences import random_texts

ort = pytest.importorskip("onnxruntime", reason="the onnx extra is part of the test extra")


def test_padded_bidirectional_equals_one_sentence_at_a_time(trained):
    """The export's graph over a padded batch: every sentence's emissions as when it runs alone, and as the
    packed network's (PackedSequence) emissions."""
    model = load_model(trained("ner", head={"encoder": "bilstm", "encoder_size": 8}))
    graph, names, _ = graph_of(model)
    inputs = random_inputs(names, 6, 11, len(model.vocab), 20, random.Random(3))
    ids, lengths, chars = inputs["ids"], inputs["lengths"], inputs["chars"]
    with torch.no_grad():
        batched = graph(ids, lengths, chars)
        packed = model.module.emissions({"ids": ids, "lengths": lengths, "chars": chars})[0]
        for b, n in enumerate(lengths.tolist()):
            alone = graph(ids[b : b + 1, :n], lengths[b : b + 1], chars[b : b + 1, :n])
            assert torch.allclose(batched[b, :n], alone[0], atol=1e-5)
            assert torch.allclose(batched[b, :n], packed[b, :n], atol=1e-5)


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_each_exporter_is_checked_at_every_batch_size_and_length(trained, tmp_path, exporter):
    model = load_model(trained("ner"))
    try:
        manifest = write_onnx(model, tmp_path, exporters=(exporter,))
    except ConfigError as exc:  # the graph it gave was wrong somewhere: refused, never kept
        assert exporter == "dynamo", f"the TorchScript exporter must give a right graph: {exc}"
        assert "no exporter gave a graph within" in str(exc) and not (tmp_path / "model.onnx").exists()
        return
    assert manifest["exporter"] == exporter and manifest["largest_difference"] <= TOLERANCE
    _, names, _ = graph_of(model)
    assert largest_difference(tmp_path / "model.onnx", model.module, names, len(model.vocab), 20, seed=7) <= TOLERANCE


# What the graph rewrite (graphs.py) must get right, each exported and checked against the trained network itself
NETWORKS = {
    "tagger, forward backbone, char-CNN": ("ner", {"backbone": {"direction": "forward"}}),
    "tagger, both directions, 2 residual layers, char-BiLSTM": (
        "ner",
        {"backbone": {"layers": 2, "residual": True}, "head": {"char_features": "bilstm"}},
    ),
    "tagger, backward backbone, fresh BiLSTM": (
        "ner",
        {"backbone": {"direction": "backward"}, "head": {"encoder": "bilstm", "encoder_size": 8}},
    ),
    "tagger, GRU, no chars": ("pos", {"backbone": {"rnn": "gru"}, "head": {"char_features": "none"}}),
    "tagger, Elman, weight-dropped": ("pos", {"backbone": {"rnn": "elman_tanh", "weight_drop": 0.3}}),
    **{
        f"classifier, {pooling} pooling, both directions": ("classify", {"backbone": {"direction": "both"}, "head": {"pooling": [pooling]}})
        for pooling in POOLINGS
    },
    "classifier, GRU, 2 layers, hidden layer": ("classify", {"backbone": {"rnn": "gru", "layers": 2}, "head": {"hidden_size": 8}}),
    # the network reads texts longer than 6 tokens in chunks, carrying its state; the graph reads them whole
    "classifier, long texts in chunks": (
        "classify",
        {"backbone": {"direction": "both"}, "head": {"chunk_len": 6, "pooling": ["last", "max", "mean"]}},
    ),
    "classifier, bag of uni- and bigrams": ("classify", {"head": {"ngrams": 2}}),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_graph_gives_the_trained_networks_outputs(trained, tmp_path, name):
    """Every kind of network the export takes: its ONNX graph within TOLERANCE of the network's own PyTorch
    forward (packed, as it predicts), at the export's check shapes and at other random ones."""
    kind, sections = NETWORKS[name]
    model = load_model(trained(kind, **sections, trainer={"epochs": 1}))
    manifest = write_onnx(model, tmp_path)
    assert manifest["largest_difference"] <= TOLERANCE
    _, names, _ = graph_of(model)
    n_chars = len(model._task.vocab_json().get("chars", [])) or 2
    assert largest_difference(tmp_path / "model.onnx", model.module, names, len(model.vocab), n_chars, seed=11) <= TOLERANCE


def test_a_mistake_in_the_graph_rewrite_is_refused(trained, tmp_path, monkeypatch):
    """A rewrite whose backward direction reads left to right: exported faithfully, so onnxruntime agrees with
    the rewrite, but not with the trained network; the export is refused and no graph is kept."""

    def forward_only(rnn, x, lengths, backward):
        return rnn(x)[0]

    monkeypatch.setattr(graphs, "run_padded", forward_only)
    model = load_model(trained("classify", backbone={"direction": "both"}, trainer={"epochs": 1}))
    with pytest.raises(ConfigError, match="no exporter gave a graph within"):
        write_onnx(model, tmp_path)
    assert not (tmp_path / "model.onnx").exists()


def test_export_onnx_predicts_as_pytorch(trained, tmp_path):
    run = trained("ner")
    out = tmp_path / "ner-onnx"
    assert main(["export", str(run), str(out), "--onnx"]) == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["inputs"] == ["ids", "lengths", "chars"] and manifest["crf"] is not None
    assert manifest["operators"].get("LSTM", 0) >= 2  # the fused op: one per direction
    assert rnn_nlp.load(out, "cpu").predict("Mary visited Paris .").entities  # the export is still a torch model too
    torch_model = rnn_nlp.load(run, "cpu")
    onnx_model = inference.load(out)
    for model in (onnx_model, torch_model):  # batch_size checked alike: 0 is not the default
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            model.tag_tokens([["Mary"]], batch_size=0)
    for batch_size, longest, seed in ((1, 9, 0), (5, 30, 1), (64, 200, 2)):  # 200 > data.max_len: pieces
        texts = random_texts(12, longest, seed)
        expected = torch_model.predict(texts, batch_size=batch_size)
        got = onnx_model.predict(texts, batch_size=batch_size)
        assert [r.tags for r in got] == [r.tags for r in expected]
        for g, e in zip(got, expected, strict=True):
            assert [(x.start, x.end, x.label) for x in g.entities] == [(x.start, x.end, x.label) for x in e.entities]
            assert [x.score for x in g.entities] == pytest.approx([x.score for x in e.entities], abs=1e-4)
            assert g.tokens == e.tokens and g.warning == e.warning


def test_classifier_and_pos_exports_predict_as_pytorch(trained, tmp_path):
    for kind in ("classify", "pos"):
        run = trained(kind)
        out = api.export(run, tmp_path / kind, onnx=True)
        texts = random_texts(20, 25, seed=4)
        expected = rnn_nlp.load(run, "cpu").predict(texts)
        got = inference.load(out).predict(texts)
        if kind == "pos":
            assert [r.tags for r in got] == [r.tags for r in expected]
        else:
            assert [r.label for r in got] == [r.label for r in expected]
            for g, e in zip(got, expected, strict=True):
                assert list(g.probabilities.values()) == pytest.approx(list(e.probabilities.values()), abs=TOLERANCE)
            assert got[-1].warning == expected[-1].warning == "no tokens in this text"


PREDICTED = {  # networks whose graph takes lengths and those whose graph does not (nothing reads it), predicted
    "tagger, forward, no chars, no encoder (no lengths)": (
        "pos",
        {"backbone": {"direction": "forward"}, "head": {"char_features": "none"}},
    ),
    "classifier, both directions, last and attention pooling": (
        "classify",
        {"backbone": {"direction": "both"}, "head": {"pooling": ["last", "attention"]}},
    ),
    "classifier, backward, last and max pooling": (
        "classify",
        {"backbone": {"direction": "backward"}, "head": {"pooling": ["last", "max"]}},
    ),
}


@pytest.mark.parametrize("name", list(PREDICTED))
def test_the_predictor_feeds_what_each_graph_takes(trained, tmp_path, name):
    """The torch-free predictor against PyTorch at batch 1 and 7 for graphs with and without a lengths input."""
    kind, sections = PREDICTED[name]
    run = trained(kind, **sections, trainer={"epochs": 1})
    out = api.export(run, tmp_path / "out", onnx=True)
    inputs = json.loads((out / MANIFEST).read_text())["inputs"]
    assert ("lengths" in inputs) == ("forward" not in json.dumps(sections)), inputs
    torch_model, onnx_model = rnn_nlp.load(run, "cpu"), inference.load(out)
    texts = random_texts(15, 25, seed=6)
    expected = torch_model.predict(texts)
    for batch in (1, 7):
        got = onnx_model.predict(texts, batch_size=batch)
        if kind == "pos":
            assert [r.tags for r in got] == [r.tags for r in expected]
            continue
        for g, e in zip(got, expected, strict=True):
            assert list(g.probabilities.values()) == pytest.approx(list(e.probabilities.values()), abs=TOLERANCE)


def test_a_classifier_with_ngrams_exports_and_predicts_as_pytorch(trained, tmp_path):
    """head.ngrams: the graph takes ngram_ids, which the torch-free predictor computes from the export's vocab.json."""
    run = trained("classify", head={"ngrams": 2}, trainer={"epochs": 2})
    out = api.export(run, tmp_path / "ngrams", onnx=True, int8=True)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["inputs"] == ["ids", "pool", "ngram_ids", "ngram_scale"]  # lengths: read by no backward direction here, so dropped
    torch_model = rnn_nlp.load(run, "cpu")
    assert float(torch_model.module.head.ngrams.weights.weight.detach().abs().sum()) > 0  # the path was trained
    texts = random_texts(20, 25, seed=5) + ["the film was superb", "the film was dull"]
    expected = torch_model.predict(texts)
    from_strings = inference.load(out)
    from_strings.ngram_lookup = None  # as where some n-gram word has no id of its own: ids from the tokens' strings
    for onnx_model in (inference.load(out), inference.load(out, int8=True), from_strings):
        assert onnx_model is from_strings or onnx_model.ngram_lookup is not None  # every n-gram word has an id here
        for batch in (1, 7, 22):  # 1: a text at a time (its pool remembered by its length)
            got = onnx_model.predict(texts, batch_size=batch)
            assert [r.warning for r in got] == [r.warning for r in expected]
            tolerance = TOLERANCE if not onnx_model.int8 else 0.05
            for g, e in zip(got, expected, strict=True):
                assert list(g.probabilities.values()) == pytest.approx(list(e.probabilities.values()), abs=tolerance)
    assert [r.label for r in inference.load(out).predict(texts)] == [r.label for r in expected]


def test_a_context_run_exports_and_the_predictor_reads_the_same_windows(trained, tmp_path):
    """data.context: the graph gives every window token's scores and numpy keeps the sentence's, so the
    predictor's tags equal PyTorch's for texts (pieces of a long one read their neighbours), for the
    sentences of one document and for sentences each alone, with a max_len that cuts sentences."""
    run = trained("ner", data={"context": 5, "max_len": 6}, trainer={"epochs": 2})
    out = api.export(run, tmp_path / "ner-context", onnx=True)
    torch_model, onnx_model = rnn_nlp.load(run, "cpu"), inference.load(out)
    texts = random_texts(12, 30, seed=5)
    assert [r.tags for r in onnx_model.predict(texts, batch_size=4)] == [r.tags for r in torch_model.predict(texts, batch_size=4)]
    sentences = [t.split() for t in random_texts(10, 14, seed=6)]
    for document in (None, False):
        expected = torch_model.tag_tokens(sentences, document=document)
        assert onnx_model.tag_tokens(sentences, 3, document=document) == expected
    assert torch_model.tag_tokens(sentences) != torch_model.tag_tokens(sentences, document=False)  # the context is read


def test_int8_holds_dynamic_quantize_lstm_and_tags_alike(trained, tmp_path):
    run = trained("ner")
    out = api.export(run, tmp_path / "int8", onnx=True, int8=True)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["int8"]["operators"].get("DynamicQuantizeLSTM", 0) >= 2 and manifest["int8"]["int8_recurrence"]
    assert "LSTM" not in manifest["int8"]["operators"]
    texts = random_texts(40, 12, seed=5)
    full = [r.tags for r in inference.load(out).predict(texts)]
    quantized = [r.tags for r in inference.load(out, int8=True).predict(texts)]
    same = sum(a == b for f, q in zip(full, quantized, strict=True) for a, b in zip(f, q, strict=True)) / sum(len(f) for f in full)
    assert same >= 0.95
    assert (out / "model.int8.onnx").stat().st_size < (out / "model.onnx").stat().st_size


def test_a_gru_gets_no_int8_recurrence(trained, tmp_path):
    run = trained("classify", backbone={"rnn": "gru"})
    out = api.export(run, tmp_path / "gru", onnx=True, int8=True)
    ops = json.loads((out / MANIFEST).read_text())["int8"]
    assert ops["operators"].get("GRU", 0) >= 1 and not ops["int8_recurrence"]
    texts = random_texts(10, 15, seed=6)
    a = inference.load(out).probabilities(texts)
    b = inference.load(out, int8=True).probabilities(texts)
    assert np.abs(a - b).max() < 0.2


def test_onnx_refuses_a_model_it_cannot_export(corpus, tmp_path):
    from rnn_nlp.runs import build_config, train_run
    from tests.conftest import tiny_raw

    train_run(build_config(tiny_raw(corpus, trainer={"epochs": 1, "max_steps": 2})), tmp_path / "lm")
    with pytest.raises(ConfigError, match="task 'lm' cannot be exported to ONNX yet"):
        api.export(tmp_path / "lm", tmp_path / "out", onnx=True)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / ".out.tmp").exists()  # the weights are not left behind in a hidden folder


def test_onnx_missing_is_refused_before_anything_is_written(trained, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    with pytest.raises(ConfigError, match=r"needs onnx and onnxruntime"):
        api.export(trained("classify"), tmp_path / "out", onnx=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_graph_out_of_tolerance_leaves_nothing_behind(trained, tmp_path, monkeypatch):
    """The check after writing (no exporter within TOLERANCE) fails inside the save: no OUT, no hidden `.out.tmp`."""
    monkeypatch.setattr("rnn_nlp.onnx.export.largest_difference", lambda *args, **kwargs: 1.0)
    with pytest.raises(ConfigError, match="no exporter gave a graph within"):
        api.export(trained("classify"), tmp_path / "out", onnx=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def vectors_runs(tmp_path_factory):
    """A tiny classifier (frozen vectors) and a tiny NER tagger (fine-tuned vectors, char-CNN), each trained with
    a small vectors file that knows words its training data never has ("splendid", "dreadful"; "madrid", "london")."""
    from rnn_nlp.runs import build_config, train_run
    from tests.tasks.classification.test_task import classify_raw, write_sentiment, write_sentiment_vectors
    from tests.tasks.tagging.data import tagging_raw, write_ner
    from tests.tasks.test_word_vectors import write_vectors

    root = tmp_path_factory.mktemp("onnx-vectors")
    vectors = write_sentiment_vectors(root / "sentiment.txt")
    raw = classify_raw(write_sentiment(root / "reviews.csv"), backbone={"vectors": str(vectors), "vectors_mode": "frozen"})
    train_run(build_config(raw), root / "classify")
    raw = tagging_raw(
        "ner", write_ner(root / "ner-data"), backbone={"vectors": str(write_vectors(root / "ner.txt"))}, trainer={"epochs": 3}
    )
    train_run(build_config(raw), root / "ner")
    return {"classify": (root / "classify", vectors), "ner": (root / "ner", root / "ner.txt")}


def test_a_classifier_export_reads_the_vectors_of_words_outside_its_vocabulary(vectors_runs, tmp_path):
    """The graph takes oov_vectors and oov; the predictor fills them from backbone.vectors, so an unseen word the
    vectors know ("splendid") gets PyTorch's probabilities, not <unk>'s; onnx.json and the card say where from."""
    run, vectors = vectors_runs["classify"]
    out = api.export(run, tmp_path / "out", onnx=True, int8=True)
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["inputs"] == ["ids", "pool", "oov_vectors", "oov"] and manifest["largest_difference"] <= TOLERANCE
    assert manifest["word_vectors"] == {"source": str(vectors), "dim": 8, "inputs": ["oov_vectors", "oov"]}
    assert f"read their pretrained vectors from {vectors}, which is not part of this export" in (out / "README.md").read_text()
    torch_model, onnx_model = rnn_nlp.load(run, "cpu"), inference.load(out)
    texts = ["the film was great", "the film was splendid", "the film was dreadful", "the film was gotham", ""]
    assert torch_model._task.token_vocab().encode(["splendid", "dreadful"]) == [torch_model.vocab.unk_id] * 2
    expected, got = torch_model.probabilities(texts).numpy(), onnx_model.probabilities(texts)
    assert np.abs(expected - got).max() <= TOLERANCE
    assert np.abs(onnx_model.probabilities(texts, batch_size=1) - got).max() <= TOLERANCE  # a text at a time
    assert np.abs(got[1] - got[3]).max() > 100 * TOLERANCE  # "splendid" is read by its vector, not as <unk> ("gotham")
    assert [r.label for r in onnx_model.predict(texts)] == [r.label for r in torch_model.predict(texts)]
    # int8: the LSTM still quantized, and the quantized graph takes the same inputs
    assert manifest["int8"]["operators"].get("DynamicQuantizeLSTM", 0) >= 1
    quantized = inference.load(out, int8=True)
    assert [i.name for i in quantized.session.get_inputs()] == manifest["inputs"]
    assert np.abs(quantized.probabilities(texts) - got).max() < 0.2


def test_the_vector_feed_looks_up_only_unk_tokens_and_remembers_them(vectors_runs, tmp_path, monkeypatch):
    """The predictor's oov_vectors and oov equal the full lookup of every token (token_rows + outside_vectors), a
    batch without <unk> feeds zeros, and the rows it found are remembered, the memory cleared when full."""
    from rnn_nlp.data.vectors import outside_vectors, token_rows
    from rnn_nlp.inference import predictor

    run, _ = vectors_runs["classify"]
    model = inference.load(api.export(run, tmp_path / "feed", onnx=True))
    tokens = [["the", "film", "was", "splendid"], ["dreadful", "gotham", "film"], ["great"]]
    ids = predictor.padded([model.vocab.encode(t) for t in tokens], model.vocab.pad_id)

    def full_lookup(batch, texts):
        rows = np.full(batch.shape, -1, np.int64)
        for k, t in enumerate(texts):
            rows[k, : len(t)] = token_rows(model.vectors, t, t, model.numbers)
        return outside_vectors(batch, rows, model.vocab.unk_id, model.vectors.matrix, model.vectors_dim)

    expected = full_lookup(ids, tokens)
    for _ in range(2):  # the second time from the remembered rows
        got = model._vector_feed(ids, tokens, tokens)
        assert np.array_equal(got["oov"], expected[1]) and np.array_equal(got["oov_vectors"], expected[0])
    assert got["oov"][0, 3] and got["oov"][1, 0] and not got["oov"][1, 1]  # splendid, dreadful known; gotham not
    assert set(model._rows) == {("splendid", "splendid"), ("dreadful", "dreadful"), ("gotham", "gotham")}
    known = [["the", "film"]]
    plain = model._vector_feed(predictor.padded([model.vocab.encode(known[0])], 0), known, known)
    assert not plain["oov"].any() and not plain["oov_vectors"].any() and plain["oov_vectors"].shape == (1, 2, 8)
    monkeypatch.setattr(predictor, "ROW_CACHE", 2)
    model._rows.clear()
    got = model._vector_feed(ids, tokens, tokens)  # three rows to find, at most two remembered
    assert len(model._rows) <= 2 and np.array_equal(got["oov_vectors"], expected[0])

    # a text at a time: the same arrays as its row of the batch; with nothing found, one read-only pair per length,
    # and none remembered past REMEMBERED_LENGTH
    monkeypatch.setattr(predictor, "REMEMBERED_LENGTH", 3)
    for k, text in enumerate([*tokens, ["the", "film", "was", "great"]]):
        one = predictor.padded([model.vocab.encode(text)], model.vocab.pad_id)
        alone = full_lookup(one, [text])
        got = model._vector_feed(one, [text], [text])
        assert np.array_equal(got["oov"], alone[1]) and np.array_equal(got["oov_vectors"], alone[0]), text
        if k < len(tokens):
            assert np.array_equal(got["oov_vectors"][0], expected[0][k, : len(text)])
    assert set(model._zeros) == {1, 2} and not model._zeros[1]["oov_vectors"].flags.writeable  # "the film" above, "great"; 4 > 3 not kept


def test_a_tagger_export_reads_the_vectors_of_words_outside_its_vocabulary(vectors_runs, tmp_path):
    run, _ = vectors_runs["ner"]
    out = api.export(run, tmp_path / "out", onnx=True)
    assert json.loads((out / MANIFEST).read_text())["inputs"] == ["ids", "lengths", "chars", "oov_vectors", "oov"]
    torch_model, onnx_model = rnn_nlp.load(run, "cpu"), inference.load(out)
    sentences = [["Mary", "visited", "Madrid", "."], ["Bob", "saw", "London", "and", "Gotham", "."], ["Ann", "Lee", "left", "Rome", "."]]
    task = torch_model._task
    pieces = task.encode_sentences(sentences)
    assert pieces[0].ids[2] == task.token_vocab().unk_id and pieces[0].vector_rows[2] >= 0  # Madrid: unseen, in the vectors
    with torch.no_grad():
        torch_model.module.eval()
        expected = torch_model.module.emissions(task.make_batch(pieces, torch.device("cpu")))[0].numpy()
    got = onnx_model._emissions(sentences)
    for n, sentence in enumerate(sentences):
        assert np.abs(got[n] - expected[n, : len(sentence)]).max() <= TOLERANCE
    # without the table's rows (as <unk>), Madrid's emissions would differ: the vectors are what is read
    blind = onnx_model.session.run(None, {**_tagger_feed(onnx_model, sentences[:1]), "oov": np.zeros((1, 4), bool)})[0]
    assert np.abs(blind[0, 2] - got[0][2]).max() > 100 * TOLERANCE
    texts = ["Mary visited Madrid .", "Bob saw London .", "Karl Marx joined Globex in Madrid ."]
    expected_tags, got_tags = torch_model.predict(texts), onnx_model.predict(texts)
    assert [r.tags for r in got_tags] == [r.tags for r in expected_tags]
    for g, e in zip(got_tags, expected_tags, strict=True):
        assert [x.score for x in g.entities] == pytest.approx([x.score for x in e.entities], abs=1e-4)


def _tagger_feed(model, sentences):
    """The graph's inputs for tokenized `sentences` as the predictor builds them (one batch, no pieces)."""
    captured = {}
    real = model.session

    class Spy:
        def run(self, outputs, feed):
            captured.update(feed)
            return real.run(outputs, feed)

    model.session = Spy()
    try:
        model._emissions(sentences)
    finally:
        model.session = real
    return captured


def test_without_its_vectors_the_predictor_warns_and_reads_unk_as_pytorch_does(tmp_path, caplog):
    """The vectors file gone (as on a machine it was never copied to): one warning naming what is missing, and the
    predictor's probabilities equal those of a torch model loaded without its vectors."""
    import shutil

    from rnn_nlp.runs import build_config, train_run
    from rnn_nlp.tasks import word_vectors
    from tests.tasks.classification.test_task import classify_raw, write_sentiment, write_sentiment_vectors

    vectors = write_sentiment_vectors(tmp_path / "vectors.txt")
    raw = classify_raw(write_sentiment(tmp_path / "reviews.csv"), backbone={"vectors": str(vectors)}, trainer={"epochs": 2})
    train_run(build_config(raw), tmp_path / "run")
    out = api.export(tmp_path / "run", tmp_path / "out", onnx=True)
    texts = ["the film was great", "the film was splendid", "the film was gotham"]
    with_vectors = inference.load(out).probabilities(texts)
    shutil.move(str(vectors), str(tmp_path / "moved.txt"))
    word_vectors._LOADED.clear()
    try:
        with caplog.at_level(logging.WARNING, logger="rnn_nlp.inference.predictor"):
            onnx_model = inference.load(out)
        warnings = [r.getMessage() for r in caplog.records if r.name == "rnn_nlp.inference.predictor"]
        assert len(warnings) == 1 and str(vectors) in warnings[0] and "read <unk>" in warnings[0]
        torch_model = rnn_nlp.load(tmp_path / "run", "cpu")
        got, expected = onnx_model.probabilities(texts), torch_model.probabilities(texts).numpy()
        assert [r.label for r in onnx_model.predict(texts)] == [r.label for r in torch_model.predict(texts)]
    finally:
        word_vectors._MISSING.clear()
    assert np.abs(got - expected).max() <= TOLERANCE
    assert np.abs(got[0] - with_vectors[0]).max() <= TOLERANCE  # a vocabulary word: as before
    assert np.abs(got[1] - got[2]).max() <= TOLERANCE  # "splendid" now reads <unk>, as "gotham" does


def test_the_export_check_refuses_a_graph_that_misreads_the_vectors_inputs(vectors_runs, tmp_path, monkeypatch):
    """A rewrite that takes oov_vectors but reads zeros in their place: refused, as the check feeds both sides words
    outside the vocabulary that the vectors know."""
    forward = graphs.PaddedBackbone.forward

    def blind(self, ids, lengths, oov_vectors=None, oov=None):
        return forward(self, ids, lengths, None if oov_vectors is None else oov_vectors * 0, oov)

    model = load_model(vectors_runs["classify"][0])
    monkeypatch.setattr(graphs.PaddedBackbone, "forward", blind)
    with pytest.raises(ConfigError, match="no exporter gave a graph within"):
        write_onnx(model, tmp_path, exporters=("torchscript",))


def test_a_run_without_vectors_records_none(trained, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="rnn_nlp.onnx.export"):
        out = api.export(trained("classify"), tmp_path / "out", onnx=True)
    assert json.loads((out / MANIFEST).read_text())["word_vectors"] is None
    assert not [r for r in caplog.records if "backbone.vectors" in r.getMessage()]
    assert "pretrained vectors" not in (out / "README.md").read_text()


def test_the_check_reads_a_classifier_past_its_chunk_length(trained):
    """A classifier whose chunk_len is past every CHECK_SHAPES length is also checked on a batch longer than a chunk."""
    model = load_model(trained("classify", trainer={"epochs": 1}))
    chunk = model.module.head.cfg.chunk_len
    assert chunk and check_shapes(model.module)[-1] == (2, chunk + 9) and check_shapes(model.module)[:-1] == CHECK_SHAPES
    tagger = load_model(trained("ner", trainer={"epochs": 1}))
    assert check_shapes(tagger.module) == CHECK_SHAPES


@pytest.mark.parametrize("mode", ["fine_tune", "frozen"])
@pytest.mark.parametrize("emb_size", [4, 6])  # 6: the vectors (4-d) go through VectorEmbedding's projection
def test_the_folded_embedding_reads_what_combine_reads(mode, emb_size):
    """FoldedEmbedding (the graph's one table) against VectorEmbedding.combine over the embedding: in-vocabulary
    words, words with and without a vector, and words outside the vocabulary read from oov_vectors."""
    from rnn_nlp.nn.embedders.word_vectors import VectorEmbedding
    from rnn_nlp.onnx.graphs import FoldedEmbedding

    torch.manual_seed(0)
    embedding = torch.nn.Embedding(10, emb_size, padding_idx=0)
    vectors = VectorEmbedding(10, emb_size, 4, mode, unk_id=1)
    with torch.no_grad():
        vectors.vocab_vectors.normal_()
        vectors.has_vector[3:7] = True
    ids = torch.tensor([[3, 1, 8, 1, 0], [5, 9, 1, 2, 6]])
    oov = torch.tensor([[False, True, False, False, False], [False, False, True, False, False]])
    oov_vectors = torch.randn(2, 5, 4) * oov.unsqueeze(-1)
    expected = vectors.combine(ids, embedding(ids), oov_vectors, oov)
    folded = FoldedEmbedding(embedding, vectors)
    assert torch.allclose(folded(ids, oov_vectors, oov), expected, atol=1e-6)
    assert torch.allclose(folded(ids), vectors.combine(ids, embedding(ids)), atol=1e-6)
    assert not torch.equal(expected[0, 1], folded.table(ids)[0, 1])  # an oov word is not <unk>'s row


def test_pool_weights_by_hand():
    """Lengths 3 and 1 padded to 4: the last real token's one-hot, 0 / -inf, and 1/length at real tokens."""
    from rnn_nlp.inference.pooling import pool_weights

    pool = pool_weights(np.array([3, 1]), 4)
    assert pool.dtype == np.float32 and pool.shape == (2, 4, 3)
    assert pool[..., 0].tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]
    assert pool[..., 1].tolist() == [[0, 0, 0, -np.inf], [0, -np.inf, -np.inf, -np.inf]]
    assert np.allclose(pool[..., 2], [[1 / 3, 1 / 3, 1 / 3, 0], [1, 0, 0, 0]])


@pytest.mark.parametrize("directions", [("forward",), ("backward",), ("forward", "backward")])
def test_the_graph_pooling_reads_what_pooling_reads(directions):
    """PaddedPooling over pool_weights against Pooling over the mask, every kind together, on random padded states."""
    from rnn_nlp.inference.pooling import pool_weights
    from rnn_nlp.nn.pooling import Pooling

    torch.manual_seed(1)
    pooling = Pooling(list(POOLINGS), 8, directions).eval()
    lengths = torch.tensor([5, 1, 3, 5])
    states = torch.randn(4, 5, 8)
    mask = torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1)
    pool = torch.from_numpy(pool_weights(lengths.numpy(), 5))
    with torch.no_grad():
        assert torch.allclose(graphs.PaddedPooling(pooling)(states, pool), pooling(states, mask), atol=1e-6)
        # a recurrence that overflowed on over the padding: the padded states (inf, nan) reach no pooled value
        wild = states.masked_fill(~mask.unsqueeze(-1), float("inf"))
        wild[2, 4:] = float("nan")  # text 2 is 3 tokens long
        packed = states.masked_fill(~mask.unsqueeze(-1), 0.0)  # what packing leaves there
        assert torch.allclose(graphs.PaddedPooling(pooling)(wild, pool), pooling(packed, mask), atol=1e-6)


def test_exported_recurrent_ops_take_no_built_zero_state(trained, tmp_path):
    """The exporter's zero initial states (a ConstantOfShape chain per layer and direction) are dropped: every
    LSTM's initial_h and initial_c slots are empty (backbone, char-BiLSTM), outputs still within tolerance."""
    import onnx

    from rnn_nlp.onnx.export import drop_zero_initial_states

    model = load_model(trained("ner", backbone={"layers": 2}, head={"char_features": "bilstm"}, trainer={"epochs": 1}))
    manifest = write_onnx(model, tmp_path)
    graph = onnx.load(str(tmp_path / "model.onnx")).graph
    lstms = [n for n in graph.node if n.op_type == "LSTM"]
    assert len(lstms) >= 4 and all(len(n.input) <= 5 or not any(n.input[5:7]) for n in lstms)
    assert manifest["largest_difference"] <= TOLERANCE
    assert drop_zero_initial_states(tmp_path / "model.onnx") == 0  # nothing left to drop: the file is left alone


def test_an_export_whose_graph_takes_lengths_predicts_as_pytorch(trained, tmp_path, monkeypatch):
    """An export written before the pool input (its graph derives masks from lengths, n-gram counts from the ids)
    still predicts: the predictor feeds the inputs a graph takes, at batch 1 and in batches."""
    from rnn_nlp.onnx import export

    class LengthsGraph(graphs.ClassifierGraph):
        def __init__(self, network):
            super().__init__(network)
            self.inputs = ["ids", "lengths", "ngram_ids"]

        def forward(self, ids, lengths, ngram_ids):
            mask = torch.arange(ids.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
            return self.head(self.backbone(ids, lengths), mask, ngram_ids).softmax(-1)

    monkeypatch.setattr(export, "ClassifierGraph", LengthsGraph)
    run = trained("classify", head={"ngrams": 2}, trainer={"epochs": 2})
    out = api.export(run, tmp_path / "lengths", onnx=True)
    assert json.loads((out / MANIFEST).read_text())["inputs"] == ["ids", "lengths", "ngram_ids"]
    texts = random_texts(12, 25, seed=8)
    expected = rnn_nlp.load(run, "cpu").predict(texts)
    onnx_model = inference.load(out)
    for batch in (1, 5):
        for g, e in zip(onnx_model.predict(texts, batch_size=batch), expected, strict=True):
            assert list(g.probabilities.values()) == pytest.approx(list(e.probabilities.values()), abs=TOLERANCE)
