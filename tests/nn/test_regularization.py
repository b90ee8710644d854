"""AWD-LSTM regularizers: locked dropout, embedding dropout, weight drop."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from rnn_nlp.nn.regularization import LockedDropout, WeightDrop, embedding_dropout

# ---- locked dropout ------------------------------------------------------------------


def test_locked_dropout_same_mask_at_every_time_step():
    torch.manual_seed(0)
    drop = LockedDropout(0.5).train()
    x = torch.ones(3, 7, 16)
    y = drop(x)
    # each (sequence, feature) is either 0 at every step or 1/(1-p) at every step
    assert torch.equal(y, y[:, :1, :].expand_as(y))
    assert set(y.unique().tolist()) == {0.0, 2.0}
    # the mask differs across sequences of the batch (one mask per sequence)
    assert not torch.equal(y[0, 0], y[1, 0])


def test_locked_dropout_applies_mask_multiplicatively():
    torch.manual_seed(1)
    drop = LockedDropout(0.25).train()
    x = torch.randn(2, 5, 8)
    y = drop(x)
    mask = (y[:, :1, :] != 0).float()  # x has no exact zeros
    assert torch.allclose(y, x * mask / 0.75)


def test_locked_dropout_identity_in_eval_and_at_zero():
    x = torch.randn(2, 4, 3)
    assert LockedDropout(0.5).eval()(x) is x
    assert LockedDropout(0.0).train()(x) is x


def test_locked_dropout_repr():
    assert "p=0.3" in repr(LockedDropout(0.3))


def test_locked_dropout_keeps_about_1_minus_p():
    torch.manual_seed(2)
    y = LockedDropout(0.3).train()(torch.ones(50, 2, 200))
    kept = (y[:, 0, :] != 0).float().mean().item()
    assert 0.65 < kept < 0.75


# ---- embedding dropout ---------------------------------------------------------------


def test_embedding_dropout_zeroes_whole_words_and_rescales():
    torch.manual_seed(0)
    embed = nn.Embedding(20, 6)
    nn.init.uniform_(embed.weight, 0.5, 1.0)  # no zeros in the matrix
    ids = torch.tensor([[1, 2, 3, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 6, 7, 8]])
    p = 0.5
    out = embedding_dropout(embed, ids, p, training=True)
    assert out.shape == (2, 8, 6)
    dropped = set()
    kept = set()
    for b in range(ids.size(0)):
        for t in range(ids.size(1)):
            word = ids[b, t].item()
            vec = out[b, t]
            if torch.all(vec == 0):
                dropped.add(word)
            else:
                kept.add(word)
                assert torch.allclose(vec, embed.weight[word] / (1 - p))
    # a word is dropped everywhere or nowhere: the same decision at every position
    assert not (dropped & kept)
    assert dropped and kept  # with this seed both happen


def test_embedding_dropout_identity_in_eval_or_at_zero():
    embed = nn.Embedding(10, 4)
    ids = torch.tensor([[1, 2, 3]])
    expected = embed(ids)
    assert torch.equal(embedding_dropout(embed, ids, 0.5, training=False), expected)
    assert torch.equal(embedding_dropout(embed, ids, 0.0, training=True), expected)


def test_embedding_dropout_gradient_reaches_embedding():
    torch.manual_seed(3)
    embed = nn.Embedding(10, 4)
    ids = torch.tensor([[1, 2, 3, 4]])
    embedding_dropout(embed, ids, 0.3, training=True).sum().backward()
    assert embed.weight.grad is not None
    assert embed.weight.grad[0].abs().sum() == 0  # word 0 not looked up


def test_embedding_dropout_keeps_padding_row_without_gradient():
    embed = nn.Embedding(10, 4, padding_idx=0)
    ids = torch.tensor([[0, 1, 0]])
    out = embedding_dropout(embed, ids, 0.2, training=True)
    assert torch.equal(out[0, 0], torch.zeros(4))
    out.sum().backward()
    assert torch.equal(embed.weight.grad[0], torch.zeros(4))


# ---- weight drop ---------------------------------------------------------------------

RNNS = {"lstm": nn.LSTM, "gru": nn.GRU, "elman": nn.RNN}


@pytest.mark.parametrize("kind", sorted(RNNS))
def test_weight_drop_train_resamples_eval_matches_plain_module(kind):
    torch.manual_seed(0)
    plain = RNNS[kind](3, 5, batch_first=True)
    reference = copy.deepcopy(plain)
    wd = WeightDrop(plain, 0.5)
    x = torch.randn(2, 6, 3)

    wd.train()
    a, _ = wd(x)
    b, _ = wd(x)
    assert not torch.allclose(a, b)

    wd.eval()
    c, hc = wd(x)
    d, _ = wd(x)
    assert torch.equal(c, d)
    expected, h_expected = reference(x)
    assert torch.allclose(c, expected, atol=1e-6)
    first = lambda h: h[0] if isinstance(h, tuple) else h  # noqa: E731
    assert torch.allclose(first(hc), first(h_expected), atol=1e-6)


def test_weight_drop_with_p_zero_equals_plain_module_in_train():
    torch.manual_seed(0)
    plain = nn.LSTM(3, 4, batch_first=True)
    reference = copy.deepcopy(plain)
    wd = WeightDrop(plain, 0.0).train()
    x = torch.randn(2, 5, 3)
    assert torch.allclose(wd(x)[0], reference(x)[0], atol=1e-6)


def test_weight_drop_drops_entries_of_the_hidden_matrix_only():
    torch.manual_seed(4)
    wd = WeightDrop(nn.GRU(3, 8, batch_first=True), 0.5).train()
    seen = {}

    def record(module, args):  # the weight the fused kernel is given in this call
        seen["w"] = module.weight_hh_l0.detach().clone()

    wd.module.register_forward_pre_hook(record)
    wd(torch.randn(1, 2, 3))
    used = seen["w"]
    raw = wd.weight_hh_l0_raw
    zeros = used == 0
    assert zeros.any() and (~zeros).any()
    assert torch.allclose(used[~zeros], raw[~zeros] * 2)  # kept entries rescaled by 1/(1-p)
    # the input-to-hidden matrix is still an ordinary parameter, untouched
    assert isinstance(wd.module.weight_ih_l0, nn.Parameter)


def test_weight_drop_raw_weight_is_a_parameter_that_gets_gradients():
    torch.manual_seed(0)
    wd = WeightDrop(nn.LSTM(3, 4, batch_first=True), 0.3)
    raw = wd.weight_hh_l0_raw
    assert isinstance(raw, nn.Parameter)
    assert raw.requires_grad
    for mode in (True, False):
        wd.train(mode)
        wd.zero_grad()
        out, _ = wd(torch.randn(2, 5, 3))
        out.pow(2).sum().backward()
        assert raw.grad is not None and raw.grad.abs().sum() > 0


def test_weight_drop_parameters_and_state_dict_names():
    wd = WeightDrop(nn.LSTM(3, 4, batch_first=True), 0.3)
    names = [n for n, _ in wd.named_parameters()]
    assert names == ["weight_hh_l0_raw", "module.weight_ih_l0", "module.bias_ih_l0", "module.bias_hh_l0"]
    keys = set(wd.state_dict())
    assert "weight_hh_l0_raw" in keys
    assert "module.weight_hh_l0" not in keys
    assert wd.state_dict()["weight_hh_l0_raw"].shape == (16, 4)
    assert "p=0.3" in repr(wd)


def test_weight_drop_state_dict_roundtrip_and_optimizer_step_is_seen():
    torch.manual_seed(0)
    wd = WeightDrop(nn.GRU(3, 4, batch_first=True), 0.5).eval()
    other = WeightDrop(nn.GRU(3, 4, batch_first=True), 0.5).eval()
    other.load_state_dict(wd.state_dict())
    x = torch.randn(1, 4, 3)
    assert torch.equal(wd(x)[0], other(x)[0])
    # an update of the raw weight shows in the next forward (the module's copy is refreshed)
    with torch.no_grad():
        wd.weight_hh_l0_raw.add_(0.5)
    assert not torch.allclose(wd(x)[0], other(x)[0])


def test_weight_drop_several_names():
    plain = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    wd = WeightDrop(plain, 0.2, names=("weight_hh_l0", "weight_hh_l1"))
    assert {"weight_hh_l0_raw", "weight_hh_l1_raw"} <= {n for n, _ in wd.named_parameters()}
    out, _ = wd(torch.randn(2, 3, 3))
    assert out.shape == (2, 3, 4)


def test_weight_drop_with_packed_sequence():
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    torch.manual_seed(0)
    wd = WeightDrop(nn.LSTM(3, 4, batch_first=True), 0.5).eval()
    x = torch.randn(2, 5, 3)
    packed = pack_padded_sequence(x, torch.tensor([5, 3]), batch_first=True, enforce_sorted=False)
    out, _ = wd(packed)
    out, _ = pad_packed_sequence(out, batch_first=True)
    assert out.shape == (2, 5, 4)
    alone, _ = wd(x[1:, :3])
    assert torch.allclose(out[1, :3], alone[0], atol=1e-6)


def test_weight_drop_module_can_be_deep_copied():
    wd = WeightDrop(nn.LSTM(3, 4, batch_first=True), 0.5)
    clone = copy.deepcopy(wd)
    x = torch.randn(1, 3, 3)
    wd.eval()
    clone.eval()
    assert torch.equal(wd(x)[0], clone(x)[0])
