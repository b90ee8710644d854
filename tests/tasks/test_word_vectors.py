"""backbone.vectors end to end: attached at build with the hit rate logged, per-token rows for words outside
the vocabulary, saved and loaded, adopted with a pretrained backbone, and clear errors."""

import logging

import numpy as np
import pytest
import torch

import rnn_nlp
from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, load_run, train_run
from tests.conftest import tiny_raw
from tests.tasks.tagging.data import tagging_raw, write_ner

# Lower-cased, as uncased GloVe: "madrid" and "london" never occur in the tagging corpus
WORDS = ["john", "smith", "mary", "paris", "berlin", "rome", "visited", "left", "saw", "joined", ".", "acme", "madrid", "london"]


def write_vectors(path, dim=8, words=WORDS):
    rng = np.random.default_rng(0)
    path.write_text("\n".join(w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=dim)) for w in words) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ner_with_vectors(tmp_path_factory):
    root = tmp_path_factory.mktemp("vectors")
    data = write_ner(root / "data")
    vectors = write_vectors(root / "vectors.txt")
    raw = tagging_raw("ner", data, backbone={"vectors": str(vectors)}, trainer={"epochs": 3})
    return root, train_run(build_config(raw), root / "run")


@pytest.mark.slow
def test_a_tagger_with_vectors_learns_and_logs_the_hit_rate(tmp_path, caplog):
    data = write_ner(tmp_path / "data", sizes=(60, 10, 10))
    vectors = write_vectors(tmp_path / "vectors.txt")
    raw = tagging_raw("ner", data, backbone={"vectors": str(vectors)}, trainer={"epochs": 2})
    with caplog.at_level(logging.INFO, logger="rnn_nlp.tasks.word_vectors"):
        trainer = train_run(build_config(raw), tmp_path / "run")
    # 22 words besides the specials: the 5 lower-case ones found exactly, John Smith Mary Paris Berlin Rome Acme lower-cased
    expected = "(8-d, projected to 16, fine-tune): 12 of 22 vocabulary words found (54.5%: exact 5, lower-cased 7, digits as 0 0)"
    assert expected in caplog.text
    losses = [row["train_loss"] for row in trainer.history]
    assert losses[-1] < losses[0]


def test_words_outside_the_vocabulary_get_their_vector_at_prediction(ner_with_vectors):
    root, _ = ner_with_vectors
    _, task, model = load_run(root / "run")
    piece = task.encode_sentences([["Mary", "visited", "Madrid", "Gotham"]])[0]
    vocab = task.token_vocab()
    assert piece.ids[2] == piece.ids[3] == vocab.unk_id  # neither was seen in training
    assert piece.vector_rows[2] == WORDS.index("madrid") and piece.vector_rows[3] == -1
    batch = task.make_batch([piece], torch.device("cpu"))
    model.eval()
    emb = model.backbone.embed(batch["ids"], batch["vector_rows"])
    assert not torch.allclose(emb[0, 2], emb[0, 3])  # Madrid has its vector, Gotham is plain <unk>
    assert torch.allclose(emb[0, 3], model.backbone.embed(batch["ids"])[0, 3])


def test_a_run_with_vectors_saves_loads_and_predicts_the_same(ner_with_vectors):
    root, trainer = ner_with_vectors
    texts = ["Mary visited Madrid .", "Bob saw London ."]
    first = rnn_nlp.load(root / "run").predict(texts)
    again = rnn_nlp.load(root / "run").predict(texts)
    assert [t.tags for t in first] == [t.tags for t in again]
    assert [e.score for t in first for e in t.entities] == [e.score for t in again for e in t.entities]
    assert first[0].tags[0] == "B-PER"


@pytest.mark.slow
def test_a_pretrained_backbone_with_vectors_passes_them_on(tmp_path, corpus, caplog):
    vectors = write_vectors(tmp_path / "vectors.txt", dim=16, words=["the", "a", "cat", "dog", "sees"])
    lm_raw = tiny_raw(corpus, backbone={"direction": "both", "layers": 1, "vectors": str(vectors)}, head={"tie_weights": False})
    train_run(build_config(lm_raw), tmp_path / "lm")
    data = write_ner(tmp_path / "data", sizes=(40, 8, 8))
    raw = tagging_raw("ner", data, trainer={"epochs": 1})
    raw["pretrained"] = str(tmp_path / "lm")
    with caplog.at_level(logging.INFO):
        train_run(build_config(raw), tmp_path / "ner")
    _, task, model = load_run(tmp_path / "ner")
    assert task.cfg.backbone.vectors == str(vectors)
    assert model.backbone.vectors is not None and model.backbone.vectors.projection is None
    assert "vectors=" in caplog.text  # the adopted shape is logged


def test_a_tied_lm_softmax_with_vectors_is_refused(corpus):
    raw = tiny_raw(corpus, backbone={"vectors": "glove-6b-50d"})
    with pytest.raises(ConfigError, match="tie_weights"):
        build_config(raw)


def test_a_character_lm_with_word_vectors_is_refused(corpus):
    raw = tiny_raw(corpus, data={"unit": "char"}, backbone={"vectors": "glove-6b-50d"}, head={"tie_weights": False})
    with pytest.raises(ConfigError, match="backbone.vectors"):
        build_config(raw)


def test_unknown_vectors_name_the_key_and_the_choices(tmp_path):
    data = write_ner(tmp_path / "data", sizes=(20, 5, 5))
    raw = tagging_raw("ner", data, backbone={"vectors": "glove-6b-5d"}, trainer={"epochs": 1})
    with pytest.raises(ConfigError, match=r"backbone.vectors: .*glove-6b-5d.*glove-6b-50d"):
        train_run(build_config(raw), tmp_path / "run")


def test_a_saved_run_loads_and_predicts_when_its_vectors_file_is_gone(tmp_path, caplog):
    import shutil

    from rnn_nlp.tasks import word_vectors

    data = write_ner(tmp_path / "data", sizes=(40, 6, 6))
    vectors = write_vectors(tmp_path / "vectors.txt")
    train_run(build_config(tagging_raw("ner", data, backbone={"vectors": str(vectors)}, trainer={"epochs": 1})), tmp_path / "run")
    texts = ["Mary visited Paris .", "Ann saw Madrid ."]
    before = rnn_nlp.load(tmp_path / "run").predict(texts)
    shutil.move(str(vectors), str(tmp_path / "moved.txt"))
    word_vectors._LOADED.clear()
    with caplog.at_level(logging.WARNING, logger="rnn_nlp.tasks.word_vectors"):
        after = rnn_nlp.load(tmp_path / "run").predict(texts)
    assert "no such file" in caplog.text and "its own weights" in caplog.text
    assert [t.tags for t in after[:1]] == [t.tags for t in before[:1]]  # every word in the vocabulary: as before
    # a new run naming the missing file, in the same process, is still refused: only a saved model does without
    raw = tagging_raw("ner", data, backbone={"vectors": str(vectors)}, trainer={"epochs": 1})
    with pytest.raises(ConfigError, match="backbone.vectors"):
        train_run(build_config(raw), tmp_path / "run2")
    word_vectors._MISSING.clear()
