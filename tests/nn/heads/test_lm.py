"""LMHead (full and adaptive softmax, tying) and LanguageModelNetwork (streaming state per direction)."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.config import BackboneConfig
from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.lm import LanguageModelNetwork, LMHead, LMHeadConfig, state_batch

V = 40
D = 16  # adaptive tail widths 16 // 4 = 4 and 16 // 16 = 1: no empty projection


def full_head(tie=False, embedding=None, seed=0):
    torch.manual_seed(seed)
    return LMHead(D, V, LMHeadConfig(softmax="full", tie_weights=tie), embedding)


def adaptive_head(cutoffs=(10, 25), seed=0):
    torch.manual_seed(seed)
    return LMHead(D, V, LMHeadConfig(softmax="adaptive", cutoffs=list(cutoffs), tie_weights=False))


def make_lm(rnn="lstm", direction="forward", softmax="full", tie=True, emb=8, hidden=7, layers=2, seed=0, **kw):
    torch.manual_seed(seed)
    kw.setdefault("init_range", 0.5)  # large enough weights for the carried state to matter visibly
    cfg = BackboneConfig(rnn=rnn, emb_size=emb, hidden_size=hidden, layers=layers, direction=direction, top_size=emb, **kw)
    backbone = Backbone(cfg, V)
    head_cfg = LMHeadConfig(softmax=softmax, tie_weights=tie, cutoffs=[10, 25], div_value=2.0)
    head = LMHead(backbone.top_size, V, head_cfg, backbone.embedding)
    return LanguageModelNetwork(backbone, head)


def lm_batch(model, batch_size=3, T=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    batch = {}
    for d in model.backbone.directions:
        seq = torch.randint(0, V, (batch_size, T + 1), generator=g)
        batch[d] = (seq[:, :-1], seq[:, 1:])
    return batch


# ---- LMHead ------------------------------------------------------------------------------


def test_full_softmax_nll_is_summed_cross_entropy():
    head = full_head()
    hidden = torch.randn(3, 4, D)
    targets = torch.randint(0, V, (3, 4))
    logits = hidden @ head.decoder.weight.t() + head.decoder.bias
    expected = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), reduction="sum")
    got = head.nll(hidden, targets)
    assert got.dim() == 0
    assert torch.allclose(got, expected, atol=1e-4)
    # and by hand: -sum log softmax at the targets
    by_hand = -F.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).sum()
    assert torch.allclose(got, by_hand, atol=1e-4)


def test_full_softmax_bias_starts_at_zero_and_weights_small_when_untied():
    head = full_head()
    assert torch.equal(head.decoder.bias, torch.zeros(V))
    assert head.decoder.weight.abs().max() <= 0.1
    assert head.adaptive is None


def test_adaptive_nll_is_minus_sum_of_log_prob_at_targets():
    head = adaptive_head()
    hidden = torch.randn(2, 6, D)
    targets = torch.randint(0, V, (2, 6))
    targets[0, 0], targets[0, 1], targets[0, 2] = 0, 15, 39  # head, first tail, second tail clusters
    logp = head.log_probs(hidden)
    expected = -logp.gather(-1, targets.unsqueeze(-1)).sum()
    got = head.nll(hidden, targets)
    assert got.dim() == 0
    assert torch.allclose(got, expected, atol=1e-4)
    assert head.decoder is None
    assert head.adaptive.cutoffs == [10, 25, V]


@pytest.mark.parametrize("kind", ["full", "adaptive"])
def test_log_probs_are_normalised(kind):
    head = full_head() if kind == "full" else adaptive_head()
    hidden = torch.randn(2, 3, D)
    logp = head.log_probs(hidden)
    assert logp.shape == (2, 3, V)
    assert logp.dtype == torch.float32
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 3), atol=1e-5)
    # works on any leading shape
    assert head.log_probs(torch.randn(D)).shape == (V,)
    assert head.log_probs(torch.randn(5, D)).shape == (5, V)


def test_full_log_probs_agree_with_nll():
    head = full_head()
    hidden = torch.randn(2, 3, D)
    targets = torch.randint(0, V, (2, 3))
    logp = head.log_probs(hidden)
    assert torch.allclose(head.nll(hidden, targets), -logp.gather(-1, targets.unsqueeze(-1)).sum(), atol=1e-4)


def test_tie_weights_shares_the_embedding_parameter():
    embedding = nn.Embedding(V, D)
    head = full_head(tie=True, embedding=embedding)
    assert head.decoder.weight is embedding.weight
    hidden = torch.randn(1, 2, D)
    head.nll(hidden, torch.tensor([[1, 2]])).backward()
    assert embedding.weight.grad is not None
    with torch.no_grad():
        embedding.weight[3].fill_(7.0)
    assert torch.equal(head.decoder.weight[3], torch.full((D,), 7.0))


def test_tie_with_mismatched_widths_is_a_config_error():
    with pytest.raises(ConfigError, match=r"backbone\.emb_size") as info:
        full_head(tie=True, embedding=nn.Embedding(V, D + 1))
    assert f"({D})" in str(info.value) and f"({D + 1})" in str(info.value)


def test_tie_without_embedding_is_a_config_error():
    with pytest.raises(ConfigError, match="tie_weights"):
        full_head(tie=True, embedding=None)


def test_tie_with_adaptive_softmax_is_a_config_error():
    with pytest.raises(ConfigError, match="tie_weights.*adaptive"):
        LMHead(D, V, LMHeadConfig(softmax="adaptive", tie_weights=True), nn.Embedding(V, D))


def test_adaptive_cutoffs_trimmed_to_vocabulary(caplog):
    with caplog.at_level(logging.WARNING, logger="rnn_nlp.nn.heads.lm"):
        head = LMHead(D, V, LMHeadConfig(softmax="adaptive", cutoffs=[10, 2000, 10000], tie_weights=False))
    assert head.adaptive.cutoffs == [10, V]
    assert "trimmed" in caplog.text


def test_adaptive_no_usable_cutoff_is_a_config_error():
    with pytest.raises(ConfigError, match="head.cutoffs"):
        LMHead(D, V, LMHeadConfig(softmax="adaptive", cutoffs=[2000, 10000], tie_weights=False))


@pytest.mark.parametrize("cutoffs", [[25, 10], [10, 10, 25]])
def test_adaptive_unsorted_or_duplicate_cutoffs(cutoffs):
    try:
        head = LMHead(D, V, LMHeadConfig(softmax="adaptive", cutoffs=cutoffs, tie_weights=False))
    except ConfigError:
        return
    assert head.adaptive.cutoffs == [10, 25, V]


# ---- LanguageModelNetwork -------------------------------------------------------------------------


@pytest.mark.parametrize("softmax,tie", [("full", True), ("full", False), ("adaptive", False)])
def test_forward_loss_is_mean_nll(softmax, tie):
    model = make_lm(softmax=softmax, tie=tie).eval()
    batch = lm_batch(model)
    out = model(batch)
    inputs, targets = batch["forward"]
    top, _, _ = make_lm(softmax=softmax, tie=tie).eval().backbone.run_direction("forward", inputs)
    expected = model.head.nll(top, targets)
    assert torch.allclose(out["nll"]["forward"], expected, atol=1e-4)
    assert torch.allclose(out["loss"], expected / targets.numel(), atol=1e-6)
    assert torch.allclose(out["log_loss"], out["loss"])
    assert not out["log_loss"].requires_grad
    assert out["tokens"] == targets.numel()
    out["loss"].backward()


def test_forward_passes_the_chunk_scale_on_as_an_lr_scale():
    # AWD-LSTM scales the learning rate (after clipping), not the loss, by seq_len / bptt
    model = make_lm().eval()
    batch = lm_batch(model)
    plain = model(batch)
    model.reset_runtime_state()
    scaled = model({**batch, "scale": 0.5})
    assert torch.allclose(scaled["loss"], plain["loss"])
    assert scaled["lr_scale"] == 0.5 and plain["lr_scale"] == 1.0


def test_both_directions_give_nll_per_direction_and_carry_detached_state():
    model = make_lm(direction="both", rnn="gru").eval()
    batch = lm_batch(model, batch_size=2, T=4)
    out = model(batch)
    assert set(out["nll"]) == {"forward", "backward"}
    assert out["tokens"] == 2 * 4  # per direction
    total = out["nll"]["forward"] + out["nll"]["backward"]
    assert torch.allclose(out["loss"], total / 16, atol=1e-6)
    assert torch.allclose(out["log_loss"], total / 16, atol=1e-6)
    # each direction's nll is its own stream through its own stack
    for d in ("forward", "backward"):
        inputs, targets = batch[d]
        fresh = make_lm(direction="both", rnn="gru").eval()
        top, _, _ = fresh.backbone.run_direction(d, inputs)
        assert torch.allclose(out["nll"][d], fresh.head.nll(top, targets), atol=1e-4)
    # state carried per direction, detached (truncated BPTT)
    assert set(model.state) == {"forward", "backward"}
    for layers in model.state.values():
        assert len(layers) == 2
        for s in layers:
            assert isinstance(s, torch.Tensor) and not s.requires_grad and s.grad_fn is None


def test_state_is_carried_between_batches():
    model = make_lm(rnn="lstm").eval()
    g = torch.Generator().manual_seed(3)
    seq = torch.randint(0, V, (2, 11), generator=g)
    first = {"forward": (seq[:, :5], seq[:, 1:6])}
    second = {"forward": (seq[:, 5:10], seq[:, 6:11])}
    model(first)
    carried = model(second)["nll"]["forward"]
    # the same as one pass over the whole stream
    whole = make_lm(rnn="lstm").eval()
    top, _, _ = whole.backbone.run_direction("forward", seq[:, :10])
    expected = whole.head.nll(top[:, 5:], seq[:, 6:11])
    assert torch.allclose(carried, expected, atol=1e-4)
    # and not the same as starting afresh
    model.reset_runtime_state()
    assert model.state == {}
    assert not torch.allclose(model(second)["nll"]["forward"], carried, atol=1e-4)


def test_backward_through_two_batches_does_not_reach_the_first():
    model = make_lm(rnn="lstm").train()
    batch = lm_batch(model, seed=4)
    model(batch)["loss"].backward()
    model.zero_grad()
    # the carried state is detached: a second backward does not fail on a freed graph
    model(lm_batch(model, seed=5))["loss"].backward()


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
@pytest.mark.parametrize("direction", ["forward", "both"])
def test_runtime_state_roundtrip_reproduces_next_output(rnn, direction):
    model = make_lm(rnn=rnn, direction=direction).eval()
    model(lm_batch(model, seed=1))
    before = {d: list(layers) for d, layers in model.state.items()}
    saved = model.runtime_state()
    n_parts = 2 if rnn == "lstm" else 1
    ndir = 2 if direction == "both" else 1
    assert len(saved) == ndir * 2 * n_parts
    assert "forward.0.0" in saved and "forward.1.0" in saved
    if rnn == "lstm":
        assert "forward.1.1" in saved
    assert all(isinstance(t, torch.Tensor) and not t.requires_grad for t in saved.values())
    expected = model(lm_batch(model, seed=2))["nll"]

    other = make_lm(rnn=rnn, direction=direction).eval()
    other.load_runtime_state(saved)
    for d in model.backbone.directions:
        assert len(other.state[d]) == len(before[d])
        for a, b in zip(other.state[d], before[d]):
            assert type(a) is type(b)
            for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
                assert torch.equal(x, y)
        if rnn == "lstm":
            assert all(isinstance(s, tuple) and len(s) == 2 for s in other.state[d])
        else:
            assert all(isinstance(s, torch.Tensor) for s in other.state[d])
    got = other(lm_batch(model, seed=2))["nll"]
    for d in expected:
        assert torch.allclose(got[d], expected[d], atol=1e-5)
    # without the state the next output differs
    bare = make_lm(rnn=rnn, direction=direction).eval()
    assert not torch.allclose(bare(lm_batch(model, seed=2))["nll"]["forward"], expected["forward"], atol=1e-4)


def test_runtime_state_roundtrip_with_many_layers_keeps_layer_order():
    model = make_lm(rnn="gru", layers=11, hidden=3, emb=3).eval()
    model(lm_batch(model))
    saved = model.runtime_state()
    other = make_lm(rnn="gru", layers=11, hidden=3, emb=3).eval()
    other.load_runtime_state(saved)
    assert len(other.state["forward"]) == 11
    for a, b in zip(other.state["forward"], model.state["forward"]):
        assert torch.equal(a, b)


def test_empty_runtime_state():
    model = make_lm()
    assert model.runtime_state() == {}
    model.load_runtime_state({})
    assert model.state == {}


def test_batch_size_change_resets_state():
    model = make_lm(rnn="lstm", direction="both").eval()
    model(lm_batch(model, batch_size=4))
    assert state_batch(model.state["forward"]) == 4
    smaller = lm_batch(model, batch_size=2, seed=7)
    out = model(smaller)  # must not crash on a [1, 4, H] state for a batch of 2
    assert state_batch(model.state["forward"]) == 2
    assert state_batch(model.state["backward"]) == 2
    fresh = make_lm(rnn="lstm", direction="both").eval()
    expected = fresh(smaller)
    for d in ("forward", "backward"):
        assert torch.allclose(out["nll"][d], expected["nll"][d], atol=1e-5)


def test_state_batch_helper():
    h = torch.zeros(1, 5, 3)
    assert state_batch([h]) == 5
    assert state_batch([(h, h)]) == 5


def test_parameter_groups_put_untied_head_last_and_skip_tied_weights():
    tied = make_lm(tie=True)
    groups = tied.parameter_groups()
    assert len(groups) == len(tied.backbone.layer_groups()) + 1
    assert [id(p) for p in groups[-1]] == [id(tied.head.decoder.bias)]
    untied = make_lm(tie=False)
    assert {id(p) for p in untied.parameter_groups()[-1]} == {id(untied.head.decoder.weight), id(untied.head.decoder.bias)}
