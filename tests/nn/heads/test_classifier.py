"""The classifier head and network: widths from the parts, losses, chunked encoding of long documents."""

import pytest
import torch
import torch.nn.functional as F

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.batching import pad_batch
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.classifier import ClassifierHead, ClassifierHeadConfig, ClassifierNetwork


def _model(direction="forward", **head):
    torch.manual_seed(0)
    backbone = Backbone(BackboneConfig(emb_size=8, hidden_size=6, layers=2, direction=direction), 30)
    cfg = ClassifierHeadConfig(**{"dropout": 0.0, **head})
    return ClassifierNetwork(backbone, ClassifierHead(backbone.output_dim, 3, cfg, backbone.directions))


def test_head_is_sized_from_the_backbone_and_pooling():
    model = _model("both", pooling=["last", "max", "mean", "attention"], hidden_size=5)
    assert model.head.pooling.output_dim == 4 * 12
    assert model.head.mlp[1].in_features == 48 and model.head.mlp[-1].out_features == 3


def test_cross_entropy_ignores_unknown_labels():
    model = _model()
    ids, lengths = pad_batch([[3, 4, 5], [6, 7]])
    out = model({"ids": ids, "lengths": lengths, "labels": torch.tensor([2, -1])})
    assert out["logits"].shape == (2, 3)
    expected = F.cross_entropy(out["logits"][:1], torch.tensor([2]))
    assert torch.allclose(out["loss"], expected)


def test_multi_label_uses_independent_sigmoids():
    model = _model(multi_label=True)
    ids, lengths = pad_batch([[3, 4, 5], [6, 7]])
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    out = model({"ids": ids, "lengths": lengths, "labels": labels})
    assert torch.allclose(out["loss"], F.binary_cross_entropy_with_logits(out["logits"], labels))
    probs = model.probabilities(out["logits"])
    assert ((probs > 0) & (probs < 1)).all() and not torch.allclose(probs.sum(1), torch.ones(2))


def test_chunked_encoding_of_long_documents_matches_whole_sequences():
    model = _model("both", chunk_len=None).eval()
    docs = [list(range(3, 30)) * 3, [5, 6, 7], list(range(4, 25))]
    ids, lengths = pad_batch(docs)
    whole = model.logits(ids, lengths)
    model.head.cfg.chunk_len = 7
    chunked = model.logits(ids, lengths)
    assert torch.allclose(whole, chunked, atol=1e-5)


def test_gradients_reach_only_the_last_tokens_of_long_documents():
    model = _model(chunk_len=5, grad_tokens=5)
    ids, lengths = pad_batch([list(range(3, 23))])
    emb = model.backbone.embedding.weight
    out = model({"ids": ids, "lengths": lengths, "labels": torch.tensor([1])})
    out["loss"].backward()
    touched = set((emb.grad.abs().sum(1) > 0).nonzero().squeeze(1).tolist())
    # only tokens in the chunks overlapping the last 5 positions (ids 13..22) get gradients
    assert touched and touched <= set(range(13, 23))


def _ngram_model(**head):
    torch.manual_seed(0)
    backbone = Backbone(BackboneConfig(emb_size=8, hidden_size=6, layers=1), 30)
    cfg = ClassifierHeadConfig(**{"dropout": 0.0, "ngrams": 2, "ngram_dropout": 0.0, **head})
    return ClassifierNetwork(backbone, ClassifierHead(backbone.output_dim, 3, cfg, backbone.directions, n_ngrams=10))


def test_the_ngram_path_adds_its_scores_over_the_square_root_of_the_count():
    model = _ngram_model().eval()
    with torch.no_grad():
        model.head.ngrams.weights.weight.copy_(torch.arange(30, dtype=torch.float).view(10, 3))
    ids, lengths = pad_batch([[3, 4, 5], [6, 7]])
    grams = torch.tensor([[4, 5, 9, 3], [7, 0, 0, 0]])
    out = model.backbone(ids, lengths)
    neural = model.head.mlp(model.head.pooling(out.output, out.mask))
    logits = model.logits(ids, lengths, ngram_ids=grams)
    w = model.head.ngrams.weights.weight
    expected = torch.stack([(w[4] + w[5] + w[9] + w[3]) / 2.0, w[7]])
    assert logits.shape == (2, 3)
    torch.testing.assert_close(logits - neural, expected)
    # padding only (a text with no known n-gram): the recurrent logits alone
    torch.testing.assert_close(model.logits(ids, lengths, ngram_ids=torch.zeros(2, 1, dtype=torch.long)), neural)


def test_the_ngram_path_starts_at_zero_and_needs_its_ids():
    model = _ngram_model()
    assert model.head.ngrams.weights.weight.abs().sum() == 0
    ids, lengths = pad_batch([[3, 4, 5]])
    with pytest.raises(ValueError, match="ngram_ids"):
        model.logits(ids, lengths)


def test_ngram_dropout_drops_whole_ngrams_and_keeps_the_scale():
    model = _ngram_model(ngram_dropout=0.5)
    with torch.no_grad():
        model.head.ngrams.weights.weight.fill_(1.0)
    grams = torch.arange(1, 10).repeat(4000, 1)  # 9 n-grams a text
    torch.manual_seed(1)
    with torch.no_grad():
        dropped = model.head.ngrams(grams)
    assert torch.equal(dropped[:, 0], dropped[:, 1])  # a whole n-gram goes, every label's score with it
    assert set((dropped[:, 0] * 3 / 2).round().unique().tolist()) <= set(range(0, 19))  # kept ones scaled by 2
    assert abs(float(dropped.mean()) - 3.0) < 0.05  # 9 / sqrt(9), as at evaluation
    model.eval()
    torch.testing.assert_close(model.head.ngrams(grams[:1]), torch.full((1, 3), 3.0))


def test_a_chunked_long_document_adds_its_ngram_scores_once():
    model = _ngram_model(chunk_len=None).eval()
    with torch.no_grad():
        model.head.ngrams.weights.weight.normal_(generator=torch.Generator().manual_seed(0))
    docs = [list(range(3, 30)) * 3, [5, 6, 7]]
    ids, lengths = pad_batch(docs)
    grams = torch.tensor([[1, 2, 3], [4, 0, 0]])
    whole = model.logits(ids, lengths, ngram_ids=grams)
    model.head.cfg.chunk_len = 7  # the 81-token document is read in 12 chunks
    chunked = model.logits(ids, lengths, ngram_ids=grams)
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-5)
    # the n-gram scores are in the chunked logits exactly once: without them what is left is the recurrent part
    recurrent = model.logits(ids, lengths, ngram_ids=torch.zeros_like(grams))
    torch.testing.assert_close(chunked - recurrent, model.head.ngrams(grams), atol=1e-5, rtol=1e-5)
    assert float(model.head.ngrams(grams).detach().abs().min()) > 1e-3  # the scores are not zero, so "once" is tested
