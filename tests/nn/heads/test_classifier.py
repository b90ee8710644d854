"""The classifier head and network: widths from the parts, losses, chunked encoding of long documents."""

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
