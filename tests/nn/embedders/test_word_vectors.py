"""Pretrained vectors in the backbone's embedding: values, words outside the vocabulary, frozen rows, projection."""

import numpy as np
import pytest
import torch

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.vectors import WordVectors
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.embedders.word_vectors import VectorEmbedding

WORDS = ["<pad>", "<unk>", "<eos>", "the", "Paris", "n", "zzz"]
TABLE = {"the": 0, "paris": 1, "n": 2, "berlin": 3, "1990": 4}


def vectors(dim: int = 4) -> WordVectors:
    matrix = np.arange(len(TABLE) * dim, dtype=np.float32).reshape(len(TABLE), dim) / 10
    return WordVectors(keys=list(TABLE), matrix=matrix, source="test-table")


def backbone(emb_size: int = 4, mode: str = "fine_tune", skip=("<pad>", "<unk>", "<eos>")) -> tuple[Backbone, dict]:
    torch.manual_seed(0)
    cfg = BackboneConfig(emb_size=emb_size, hidden_size=6, layers=1, vectors="test-table", vectors_mode=mode)
    model = Backbone(cfg, len(WORDS))
    counts = model.attach_vectors(vectors(), WORDS, skip, unk_id=1)
    return model.eval(), counts


def test_fill_finds_vocabulary_words_by_rule_and_counts_them():
    model, counts = backbone()
    assert counts == {"exact": 2, "lower": 1, "digits": 0, "missing": 1, "skipped": 3}
    assert model.vectors.has_vector.tolist() == [False, False, False, True, True, True, False]
    np.testing.assert_allclose(model.vectors.vocab_vectors[4].numpy(), vectors().matrix[1])  # Paris -> paris


def test_a_word_with_a_vector_starts_as_its_vector():
    model, _ = backbone()
    emb = model.embed(torch.tensor([[3, 4, 6]]))
    np.testing.assert_allclose(emb[0, 0].detach().numpy(), vectors().matrix[0])
    np.testing.assert_allclose(emb[0, 1].detach().numpy(), vectors().matrix[1])
    assert torch.equal(emb[0, 2], model.embedding.weight[6])  # no vector: its own trainable row


def test_a_word_outside_the_vocabulary_keeps_its_vector_through_vector_rows():
    model, _ = backbone()
    ids = torch.tensor([[1, 1, 0]])  # "berlin" and an unknown word, both <unk>; then padding
    rows = torch.tensor([[3, -1, -1]])
    emb = model.embed(ids, rows)
    unk = model.embedding.weight[1]
    np.testing.assert_allclose(emb[0, 0].detach().numpy(), vectors().matrix[3])  # its vector alone, as a new word with one starts
    assert torch.equal(emb[0, 1], unk)
    assert not torch.equal(model.embed(ids)[0, 0], emb[0, 0])  # without the rows it is plain <unk>


def test_frozen_vectors_get_no_gradient_and_ignore_the_trainable_row():
    model, _ = backbone(mode="frozen")
    with torch.no_grad():
        model.embedding.weight.fill_(5.0)
    emb = model.embed(torch.tensor([[3, 6]]))
    np.testing.assert_allclose(emb[0, 0].detach().numpy(), vectors().matrix[0])
    emb.sum().backward()
    grad = model.embedding.weight.grad
    assert grad[3].abs().sum() == 0 and grad[6].abs().sum() > 0


def test_fine_tuned_vectors_learn_a_correction():
    model, _ = backbone()
    model.embed(torch.tensor([[3]])).sum().backward()
    assert model.embedding.weight.grad[3].abs().sum() > 0


def test_vectors_of_another_width_are_projected_to_emb_size():
    model, _ = backbone(emb_size=7)
    assert model.vectors.projection is not None and model.vectors.projection.weight.shape == (7, 4)
    assert model.embed(torch.tensor([[3, 4]])).shape == (1, 2, 7)
    assert any(p is model.vectors.projection.weight for p in model.layer_groups()[0])


def test_a_table_of_another_width_is_refused_naming_both_sizes():
    layer = VectorEmbedding(3, 4, dim=4)
    with pytest.raises(ValueError, match="are 5-d.*built with 4-d"):
        layer.attach(WordVectors(keys=["a"], matrix=np.zeros((1, 5), np.float32), source="other"))


def test_the_vocabulary_vectors_are_saved_with_the_model_and_the_table_is_not():
    model, _ = backbone()
    state = model.state_dict()
    assert state["vectors.vocab_vectors"].shape == (len(WORDS), 4)
    assert "vectors.table" not in state and not any(v.shape[0] == len(TABLE) for v in state.values() if v.dim())
