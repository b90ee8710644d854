"""Pooling: padding never enters last/max/mean/attention; widths are declared up front."""

import pytest
import torch

from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.pooling import Pooling


def _batch():
    # two sequences, lengths 3 and 1; padding filled with huge values that must never leak
    states = torch.tensor(
        [
            [[1.0, -1.0], [3.0, -3.0], [2.0, -2.0]],
            [[5.0, -5.0], [1e6, 1e6], [1e6, 1e6]],
        ]
    )
    mask = torch.tensor([[True, True, True], [True, False, False]])
    return states, mask


def test_last_max_mean_respect_the_mask():
    states, mask = _batch()
    pool = Pooling(["last", "max", "mean"], input_dim=2)
    out = pool(states, mask)
    assert pool.output_dim == 6 and out.shape == (2, 6)
    assert out[0].tolist() == [2.0, -2.0, 3.0, -1.0, 2.0, -2.0]
    assert out[1].tolist() == [5.0, -5.0, 5.0, -5.0, 5.0, -5.0]


def test_last_of_two_directions_takes_the_backward_state_at_the_start():
    states, mask = _batch()  # width 2 = forward 1 + backward 1
    out = Pooling(["last"], input_dim=2, directions=("forward", "backward"))(states, mask)
    assert out.tolist() == [[2.0, -1.0], [5.0, -5.0]]


def test_attention_weights_ignore_padding_and_sum_to_one():
    torch.manual_seed(0)
    states, mask = _batch()
    pool = Pooling(["attention"], input_dim=2)
    out = pool(states, mask)
    w = pool.attention.last_weights
    assert torch.allclose(w.sum(1), torch.ones(2))
    assert w[1, 1:].abs().sum() == 0
    assert torch.allclose(out[1], states[1, 0])
    assert torch.allclose(out[0], (w[0].unsqueeze(1) * states[0]).sum(0))


def test_padding_values_do_not_change_any_pooling():
    torch.manual_seed(1)
    states, mask = _batch()
    pool = Pooling(["last", "max", "mean", "attention"], input_dim=2)
    other = states.clone()
    other[1, 1:] = -7.0
    assert torch.allclose(pool(states, mask), pool(other, mask))


def test_bad_configurations_fail_at_construction():
    with pytest.raises(ConfigError, match="head.pooling: unknown median"):
        Pooling(["median"], input_dim=4)
    with pytest.raises(ConfigError, match="at least one"):
        Pooling([], input_dim=4)
    with pytest.raises(ValueError, match="width 4"):
        Pooling(["max"], input_dim=4)(torch.zeros(1, 2, 3))
