"""Attention over encoder states: shapes, masks and each scoring variant."""

from __future__ import annotations

import pytest
import torch

from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.attention import Attention

KINDS = ["dot", "general", "additive"]


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_for_one_step_and_for_a_sequence(kind):
    torch.manual_seed(0)
    att = Attention(kind, 6, 6, attention_size=5)
    keys, mask = torch.randn(3, 4, 6), torch.ones(3, 4, dtype=torch.bool)
    context, weights = att(torch.randn(3, 6), keys, mask)
    assert context.shape == (3, 6) and weights.shape == (3, 4)
    context, weights = att(torch.randn(3, 7, 6), keys, mask)
    assert context.shape == (3, 7, 6) and weights.shape == (3, 7, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 7))


@pytest.mark.parametrize("kind", KINDS)
def test_padded_positions_get_zero_weight_and_change_nothing(kind):
    torch.manual_seed(1)
    att = Attention(kind, 6, 6, attention_size=5)
    keys = torch.randn(2, 5, 6)
    mask = torch.tensor([[True, True, True, False, False], [True, True, True, True, True]])
    query = torch.randn(2, 3, 6)
    context, weights = att(query, keys, mask)
    assert torch.all(weights[0, :, 3:] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    noisy = keys.clone()
    noisy[0, 3:] = 100.0  # garbage in the padding
    context2, weights2 = att(query, noisy, mask)
    torch.testing.assert_close(context2, context)
    torch.testing.assert_close(weights2, weights)
    # row 0 attends as if its source were only 3 long
    short_context, _ = att(query[:1], keys[:1, :3], mask[:1, :3])
    torch.testing.assert_close(short_context, context[:1])


def test_scores_match_their_formulas():
    torch.manual_seed(2)
    q, k = torch.randn(1, 4), torch.randn(1, 3, 4)
    dot = Attention("dot", 4, 4)
    _, w = dot(q, k)
    torch.testing.assert_close(w, torch.softmax(k[0] @ q[0], -1).unsqueeze(0))
    general = Attention("general", 4, 4)
    _, w = general(q, k)
    torch.testing.assert_close(w, torch.softmax(k[0] @ general.bilinear.weight.T @ q[0], -1).unsqueeze(0))
    add = Attention("additive", 4, 4, attention_size=3)
    _, w = add(q, k)
    hidden = torch.tanh(add.query_proj(q) + add.key_proj(k[0]))  # [3, A]
    torch.testing.assert_close(w, torch.softmax(add.v(hidden).squeeze(-1), -1).unsqueeze(0))


def test_fully_masked_row_gives_zeros_not_nan():
    att = Attention("general", 4, 6)
    context, weights = att(torch.randn(2, 4), torch.randn(2, 3, 6), torch.tensor([[False] * 3, [True] * 3]))
    assert torch.all(weights[0] == 0) and torch.all(context[0] == 0)
    assert torch.isfinite(context).all()


def test_dot_needs_equal_widths_and_unknown_kinds_fail():
    with pytest.raises(ConfigError, match="dot attention needs the decoder width"):
        Attention("dot", 4, 8)
    with pytest.raises(ConfigError, match="unknown kind"):
        Attention("cosine", 4, 4)
    assert Attention("general", 4, 8).output_dim() == 8
