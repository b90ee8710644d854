"""The reader head: shapes, masks (padding never counts), the no-answer column, the loss, the question encoder."""

import pytest
import torch

from rnn_nlp.config import BackboneConfig
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.reader import ReaderHead, ReaderHeadConfig, ReaderNetwork, gold_nll


def reader(no_answer=False, **head):
    torch.manual_seed(0)
    backbone = Backbone(BackboneConfig(emb_size=8, hidden_size=6, layers=1, direction="both"), 30)
    cfg = ReaderHeadConfig(**{"dropout": 0.0, "context_size": 5, **head})
    return ReaderNetwork(backbone, ReaderHead(backbone.output_dim, backbone.input_dim, cfg, backbone.directions, no_answer)).eval()


def batch(c_rows, q_rows):
    def pad(rows):
        width = max(len(r) for r in rows)
        return torch.tensor([r + [0] * (width - len(r)) for r in rows]), torch.tensor([len(r) for r in rows])

    c, cl = pad(c_rows)
    q, ql = pad(q_rows)
    return {"c_ids": c, "c_lengths": cl, "q_ids": q, "q_lengths": ql}


@pytest.mark.parametrize(
    "head", [{}, {"context_size": None, "exact_match": False, "aligned_question": False}, {"question_pooling": ["last", "max", "mean"]}]
)
def test_shapes_and_padding_masked(head):
    model = reader(**head)
    b = batch([[3, 4, 5, 6, 7], [8, 9]], [[4, 5], [9, 10, 11]])
    out = model(b)
    assert out["start_logits"].shape == (2, 6) and out["end_logits"].shape == (2, 6)
    assert torch.isinf(out["start_logits"][:, 0]).all()  # no no-answer option
    assert torch.isinf(out["start_logits"][1, 3:]).all() and torch.isfinite(out["start_logits"][1, 1:3]).all()
    # padding content never changes a real position's score (question or passage padding)
    alone = model(batch([[8, 9]], [[9, 10, 11]]))
    torch.testing.assert_close(alone["start_logits"][0, 1:3], out["start_logits"][1, 1:3])
    torch.testing.assert_close(alone["end_logits"][0, 1:3], out["end_logits"][1, 1:3])


def test_no_answer_column_and_loss():
    model = reader(no_answer=True)
    b = batch([[3, 4, 5]], [[4]])
    b["start_gold"] = torch.tensor([[True, False, False, False]])
    b["end_gold"] = torch.tensor([[True, False, False, False]])
    out = model(b)
    s, e = out["start_logits"], out["end_logits"]
    assert torch.isfinite(s[:, 0]).all()
    expected = -(s.log_softmax(-1)[0, 0] + e.log_softmax(-1)[0, 0])
    torch.testing.assert_close(out["loss"], expected)
    out["loss"].backward()
    assert model.head.null.weight.grad.abs().sum() > 0


def test_gold_nll_sums_over_gold_positions():
    logits = torch.tensor([[0.0, 1.0, 2.0, float("-inf")]])
    gold = torch.tensor([[False, True, True, False]])
    p = logits.softmax(-1)
    torch.testing.assert_close(gold_nll(logits, gold), -torch.log(p[:, 1] + p[:, 2]))


def test_question_encoder_alone():
    model = reader(question_pooling=["max", "mean"])
    vec = model.encode_question(torch.tensor([[3, 4, 5], [6, 7, 0]]), torch.tensor([3, 2]))
    assert vec.shape == (2, 2 * model.backbone.output_dim)
    assert model.head.question.output_dim == vec.size(1)
    single = model.encode_question(torch.tensor([[6, 7]]), torch.tensor([2]))
    torch.testing.assert_close(vec[1:], single)


def test_candidate_positions_restrict_the_softmax():
    from rnn_nlp.tasks.qa.data import Example, make_batch

    examples = [Example(0, 0, [3, 4, 5, 6], [4], gold=[(2, 3)], mentions=[[(0, 0)], [(2, 3)]])]
    b = make_batch(examples, 0, torch.device("cpu"), with_gold=True, no_answer=False)
    assert b["start_allowed"].tolist() == [[False, True, False, True, False]]
    assert b["end_allowed"].tolist() == [[False, True, False, False, True]]
    out = reader()(b)
    assert torch.isinf(out["start_logits"][0, [0, 2, 4]]).all() and torch.isfinite(out["start_logits"][0, [1, 3]]).all()
    s, e = out["start_logits"][0], out["end_logits"][0]
    torch.testing.assert_close(out["loss"], -(s.log_softmax(-1)[3] + e.log_softmax(-1)[4]))


def test_token_features_join_the_states_and_bias_the_logits():
    from rnn_nlp.nn.heads.reader_features import FEATURES

    model = reader(token_features=True)
    b = batch([[3, 4, 5, 6, 7], [8, 9]], [[4, 5], [9, 10, 11]])
    with pytest.raises(ValueError, match="c_feats"):
        model(b)
    torch.manual_seed(1)
    b["c_feats"] = torch.rand(2, 5, len(FEATURES))
    assert model.head.context.input_size == 2 * 6 + 1 + 8 + len(FEATURES)
    base = model(b)
    with torch.no_grad():  # the direct path: start/end logits move by exactly feats @ W
        model.head.feature_bias.weight.add_(torch.arange(2 * len(FEATURES), dtype=torch.float).view(2, -1) / 10)
    moved = model(b)
    shift = b["c_feats"] @ (torch.arange(2 * len(FEATURES), dtype=torch.float).view(2, -1) / 10).T
    torch.testing.assert_close(moved["start_logits"][0, 1:] - base["start_logits"][0, 1:], shift[0, :, 0])
    torch.testing.assert_close(moved["end_logits"][1, 1:3] - base["end_logits"][1, 1:3], shift[1, :2, 1])
    assert torch.isinf(moved["start_logits"][1, 3:]).all()  # padding stays masked
    without = reader(token_features=True, feature_bias=False)
    assert without.head.feature_bias is None and torch.isfinite(without(b)["start_logits"][0, 1:]).all()
