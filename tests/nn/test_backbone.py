"""Backbone: shapes for every RNN kind and direction, padding invariance, state, residuals, freezing, init."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnn_nlp.config import BackboneConfig
from rnn_nlp.nn.backbone import Backbone, BackboneOutput, detach_state, reverse_padded
from rnn_nlp.nn.regularization import WeightDrop

V = 30
KINDS = ["lstm", "gru", "elman_tanh", "elman_relu"]
DIRECTIONS = {"forward": 1, "backward": 1, "both": 2}


def make(seed: int = 0, **kw) -> Backbone:
    torch.manual_seed(seed)
    cfg = BackboneConfig(**{"emb_size": 6, "hidden_size": 5, "layers": 2, **kw})
    return Backbone(cfg, V, pad_id=0)


def first(state):
    """h of an LSTM (h, c) pair, or the state itself."""
    return state[0] if isinstance(state, tuple) else state


# ---- shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize("direction", sorted(DIRECTIONS))
@pytest.mark.parametrize("kind", KINDS)
def test_output_shapes(kind, direction):
    bb = make(rnn=kind, direction=direction, layers=3, top_size=4).eval()
    ndir = DIRECTIONS[direction]
    ids = torch.randint(1, V, (3, 7))
    out = bb(ids)
    assert isinstance(out, BackboneOutput)
    assert bb.top_size == 4
    assert bb.output_dim == 4 * ndir
    assert bb.input_dim == 6
    assert out.output.shape == (3, 7, bb.output_dim)
    assert [tuple(layer.shape) for layer in out.layers] == [(3, 7, 5 * ndir), (3, 7, 5 * ndir), (3, 7, 4 * ndir)]
    assert out.mask is None
    expected_dirs = {"forward": ["forward"], "backward": ["backward"], "both": ["forward", "backward"]}[direction]
    assert list(out.state) == expected_dirs
    assert bb.directions == tuple(expected_dirs)
    for d in expected_dirs:
        states = out.state[d]
        assert len(states) == 3
        for state, width in zip(states, (5, 5, 4)):
            if kind == "lstm":
                assert isinstance(state, tuple) and len(state) == 2
                assert all(s.shape == (1, 3, width) for s in state)
            else:
                assert isinstance(state, torch.Tensor)
                assert state.shape == (1, 3, width)
    # in eval, with no dropout, the output is the top layer
    assert torch.equal(out.output, out.layers[-1])


@pytest.mark.parametrize("kind", KINDS)
def test_kind_selects_the_torch_module(kind):
    bb = make(rnn=kind)
    rnn = bb.stack("forward").layers[0]
    expected = {"lstm": nn.LSTM, "gru": nn.GRU, "elman_tanh": nn.RNN, "elman_relu": nn.RNN}[kind]
    assert type(rnn) is expected
    if kind.startswith("elman"):
        assert rnn.nonlinearity == kind.split("_")[1]
    assert rnn.num_layers == 1 and rnn.batch_first


def test_forward_final_state_is_last_step_output():
    bb = make(rnn="gru").eval()
    ids = torch.randint(1, V, (2, 6))
    out = bb(ids)
    top = out.state["forward"][-1]
    assert torch.allclose(top[0], out.layers[-1][:, -1], atol=1e-6)


# ---- padding, directions, masks ----------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_padding_invariance_both_directions(kind):
    bb = make(rnn=kind, direction="both", layers=2).eval()
    short = torch.tensor([4, 9, 2, 17])
    long = torch.tensor([3, 5, 8, 13, 21, 7])
    batch = torch.zeros(2, 6, dtype=torch.long)
    batch[0, :4] = short
    batch[1] = long
    lengths = torch.tensor([4, 6])
    with torch.no_grad():
        padded = bb(batch, lengths)
        alone_short = bb(short.unsqueeze(0))
        alone_long = bb(long.unsqueeze(0))
    assert torch.allclose(padded.output[0, :4], alone_short.output[0], atol=1e-5)
    assert torch.allclose(padded.output[1], alone_long.output[0], atol=1e-5)
    for layer_p, layer_s in zip(padded.layers, alone_short.layers):
        assert torch.allclose(layer_p[0, :4], layer_s[0], atol=1e-5)
        # padding never enters: states at padded positions are zero
        assert torch.equal(layer_p[0, 4:], torch.zeros_like(layer_p[0, 4:]))
    # final states of the short sentence are taken at its own end, in both directions
    for d in ("forward", "backward"):
        for sp, ss in zip(padded.state[d], alone_short.state[d]):
            assert torch.allclose(first(sp)[:, 0], first(ss)[:, 0], atol=1e-5)


def test_padding_invariance_with_unsorted_lengths_and_padding_on_several_rows():
    bb = make(rnn="lstm", direction="both", layers=2).eval()
    torch.manual_seed(5)
    sents = [torch.randint(1, V, (n,)) for n in (2, 5, 3)]
    batch = torch.zeros(3, 5, dtype=torch.long)
    for i, s in enumerate(sents):
        batch[i, : len(s)] = s
    lengths = torch.tensor([2, 5, 3])
    with torch.no_grad():
        padded = bb(batch, lengths)
        for i, s in enumerate(sents):
            alone = bb(s.unsqueeze(0))
            assert torch.allclose(padded.output[i, : len(s)], alone.output[0], atol=1e-5)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_backward_direction_is_its_stack_on_the_reversed_sentence(kind):
    bb = make(rnn=kind, direction="both", layers=2).eval()
    ids = torch.tensor([[3, 1, 4, 15, 9, 26]])
    with torch.no_grad():
        out = bb(ids)
        fwd_layers, _ = bb.stack("forward")(bb.embed(ids))
        bwd_layers, _ = bb.stack("backward")(bb.embed(ids.flip(1)))
    width = bb.top_size
    assert torch.allclose(out.output[..., :width], fwd_layers[-1], atol=1e-6)
    assert torch.allclose(out.output[..., width:], bwd_layers[-1].flip(1), atol=1e-6)
    # the backward state at position t summarises ids[t:], so it differs from the forward one
    assert not torch.allclose(out.output[..., :width], out.output[..., width:])


def test_backward_only_direction_matches_reversed_reading():
    bb = make(rnn="gru", direction="backward").eval()
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        out = bb(ids)
        top, _, _ = bb.run_direction("backward", ids.flip(1))
    assert torch.allclose(out.output, top.flip(1), atol=1e-6)


def test_backward_direction_in_padded_batch_reads_only_real_tokens():
    bb = make(rnn="lstm", direction="backward").eval()
    sent = torch.tensor([7, 8, 9])
    batch = torch.tensor([[7, 8, 9, 0, 0], [1, 2, 3, 4, 5]])
    with torch.no_grad():
        padded = bb(batch, torch.tensor([3, 5]))
        top, _, _ = bb.run_direction("backward", sent.flip(0).unsqueeze(0))
    assert torch.allclose(padded.output[0, :3], top[0].flip(0), atol=1e-5)


def test_mask_marks_real_tokens():
    bb = make().eval()
    ids = torch.tensor([[1, 2, 3, 0], [4, 0, 0, 0], [5, 6, 7, 8]])
    out = bb(ids, torch.tensor([3, 1, 4]))
    assert out.mask.dtype == torch.bool
    assert out.mask.tolist() == [
        [True, True, True, False],
        [True, False, False, False],
        [True, True, True, True],
    ]


def test_reverse_padded():
    x = torch.tensor([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    assert reverse_padded(x, torch.tensor([3, 5])).tolist() == [[3, 2, 1, 0, 0], [8, 7, 6, 5, 4]]
    assert reverse_padded(x, None).tolist() == [[0, 0, 3, 2, 1], [8, 7, 6, 5, 4]]
    x3 = torch.arange(12.0).view(1, 4, 3)
    r = reverse_padded(x3, torch.tensor([2]))
    assert r[0].tolist() == [[3, 4, 5], [0, 1, 2], [6, 7, 8], [9, 10, 11]]
    # reversing twice is the identity
    assert torch.equal(reverse_padded(reverse_padded(x, torch.tensor([3, 5])), torch.tensor([3, 5])), x)


def test_detach_state_keeps_structure():
    a = torch.ones(1, 2, 3, requires_grad=True) * 2
    b = torch.ones(1, 2, 3, requires_grad=True) * 3
    state = {"forward": [(a, b), a], "backward": [b]}
    out = detach_state(state)
    assert isinstance(out["forward"], list) and isinstance(out["forward"][0], tuple)
    assert not out["forward"][0][0].requires_grad and not out["backward"][0].requires_grad
    assert torch.equal(out["forward"][0][1], b)
    assert detach_state(None) is None


# ---- carried state ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_run_direction_carries_state(kind, direction):
    bb = make(rnn=kind, direction="both", layers=2).eval()
    ids = torch.randint(1, V, (2, 10))
    with torch.no_grad():
        whole, whole_layers, whole_state = bb.run_direction(direction, ids)
        top1, _, state1 = bb.run_direction(direction, ids[:, :4])
        top2, _, state2 = bb.run_direction(direction, ids[:, 4:], state1)
        fresh2, _, _ = bb.run_direction(direction, ids[:, 4:])
    assert whole.shape == (2, 10, bb.top_size)
    assert len(whole_layers) == 2
    assert torch.allclose(torch.cat([top1, top2], 1), whole, atol=1e-5)
    for s_half, s_whole in zip(state2, whole_state):
        assert torch.allclose(first(s_half), first(s_whole), atol=1e-5)
    assert not torch.allclose(fresh2, top2, atol=1e-5)  # the state matters


def test_forward_accepts_carried_state_per_direction():
    bb = make(rnn="lstm", direction="both").eval()
    ids = torch.randint(1, V, (2, 8))
    with torch.no_grad():
        first_half = bb(ids[:, :3])
        carried = bb(ids[:, 3:], state={"forward": first_half.state["forward"]})
        whole_fwd, _, _ = bb.run_direction("forward", ids)
    assert torch.allclose(carried.output[..., : bb.top_size], whole_fwd[:, 3:], atol=1e-5)


# ---- residual, top size ------------------------------------------------------------------


def test_residual_adds_input_where_widths_match():
    bb = make(rnn="gru", emb_size=5, hidden_size=5, layers=3, residual=True).eval()
    plain = make(rnn="gru", emb_size=5, hidden_size=5, layers=3, residual=False).eval()
    plain.load_state_dict(bb.state_dict())
    ids = torch.randint(1, V, (2, 6))
    with torch.no_grad():
        out = bb(ids)
        emb = bb.embed(ids)
        rnns = bb.stack("forward").layers
        l0, _ = rnns[0](emb)  # the bottom layer has no residual
        l1 = rnns[1](l0)[0] + l0
        l2 = rnns[2](l1)[0] + l1
        no_res = plain(ids)
    assert torch.allclose(out.layers[0], l0, atol=1e-6)
    assert torch.allclose(out.layers[1], l1, atol=1e-6)
    assert torch.allclose(out.layers[2], l2, atol=1e-6)
    assert torch.allclose(out.layers[0], no_res.layers[0], atol=1e-6)
    assert not torch.allclose(out.layers[1], no_res.layers[1])


def test_residual_skipped_where_widths_differ():
    bb = make(rnn="lstm", emb_size=5, hidden_size=5, layers=2, top_size=3, residual=True).eval()
    plain = make(rnn="lstm", emb_size=5, hidden_size=5, layers=2, top_size=3, residual=False).eval()
    plain.load_state_dict(bb.state_dict())
    ids = torch.randint(1, V, (2, 4))
    with torch.no_grad():
        a, b = bb(ids), plain(ids)
    assert a.output.shape[-1] == 3
    assert torch.allclose(a.output, b.output, atol=1e-6)


def test_top_size_changes_output_width():
    bb = make(hidden_size=7, layers=2, top_size=3, direction="both").eval()
    out = bb(torch.randint(1, V, (1, 4)))
    assert bb.top_size == 3
    assert bb.output_dim == 6
    assert out.output.shape == (1, 4, 6)
    assert out.layers[0].shape[-1] == 14
    assert bb.stack("forward").sizes == [7, 3]
    assert make(hidden_size=7, top_size=None).output_dim == 7


# ---- groups, freezing ------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["forward", "both"])
def test_layer_groups(direction):
    bb = make(rnn="lstm", layers=3, direction=direction)
    groups = bb.layer_groups()
    assert len(groups) == 4
    assert groups[0] == [bb.embedding.weight]
    ndir = DIRECTIONS[direction]
    for i, group in enumerate(groups[1:]):
        assert len(group) == 4 * ndir  # weight_ih, weight_hh, bias_ih, bias_hh per direction
        expected = {id(p) for d in bb.directions for p in bb.stack(d).layers[i].parameters()}
        assert {id(p) for p in group} == expected
    # every parameter belongs to exactly one group
    all_ids = [id(p) for g in groups for p in g]
    assert len(all_ids) == len(set(all_ids))
    assert set(all_ids) == {id(p) for p in bb.parameters()}


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_freeze_leaves_exactly_top_k_groups_trainable(k):
    bb = make(layers=3, direction="both")
    bb.freeze(k)
    groups = bb.layer_groups()
    for i, group in enumerate(groups):
        trainable = i >= len(groups) - k
        assert all(p.requires_grad == trainable for p in group), (i, k)


def test_unfreeze_again():
    bb = make(layers=2)
    bb.freeze(0)
    assert not any(p.requires_grad for p in bb.parameters())
    bb.freeze(len(bb.layer_groups()))
    assert all(p.requires_grad for p in bb.parameters())


def test_frozen_layers_get_no_gradient():
    bb = make(layers=2)
    bb.freeze(1)
    bb(torch.randint(1, V, (2, 3))).output.sum().backward()
    groups = bb.layer_groups()
    assert all(p.grad is None for g in groups[:2] for p in g)
    assert all(p.grad is not None for p in groups[2])


# ---- init, embeddings --------------------------------------------------------------------


def test_uniform_init_range_and_zero_padding_row():
    bb = make(init="uniform", init_range=0.05, layers=2, direction="both")
    for name, p in bb.named_parameters():
        assert p.abs().max() <= 0.05, name
    assert torch.equal(bb.embedding.weight[0], torch.zeros(6))
    assert bb.embedding.weight[1:].abs().max() > 0.03  # really drawn from the range, not left at zero


def test_xavier_init():
    bb = make(init="xavier", init_range=0.1, rnn="lstm", emb_size=6, hidden_size=5)
    for name, p in bb.named_parameters():
        if "bias" in name:
            assert torch.equal(p, torch.zeros_like(p)), name
        else:
            fan_out, fan_in = p.shape
            bound = math.sqrt(6 / (fan_in + fan_out))
            assert p.abs().max() <= bound + 1e-6, name
            assert p.abs().max() > bound / 2, name
    assert torch.equal(bb.embedding.weight[0], torch.zeros(6))


def test_default_init_leaves_torch_defaults():
    bb = make(init="default", hidden_size=5)
    # nn.Embedding draws N(0, 1): far outside any small uniform range
    assert bb.embedding.weight.abs().max() > 1.0
    bound = 1 / math.sqrt(5)
    for name, p in bb.stack("forward").named_parameters():
        assert p.abs().max() <= bound + 1e-6, name


def test_padding_embedding_gets_no_gradient():
    bb = make()
    bb(torch.tensor([[1, 2, 0, 0]]), torch.tensor([2])).output.sum().backward()
    assert torch.equal(bb.embedding.weight.grad[0], torch.zeros(6))


# ---- regularization inside the backbone ----------------------------------------------------


def test_weight_drop_wraps_each_layer_and_state_dict_uses_raw_names():
    bb = make(rnn="lstm", layers=2, direction="both", weight_drop=0.5)
    for d in bb.directions:
        assert all(isinstance(layer, WeightDrop) for layer in bb.stack(d).layers)
    keys = set(bb.state_dict())
    assert "stacks.fwd.layers.0.weight_hh_l0_raw" in keys
    assert "stacks.bwd.layers.1.weight_hh_l0_raw" in keys
    assert not any(k.endswith("module.weight_hh_l0") for k in keys)


def test_dropouts_random_in_train_deterministic_in_eval():
    bb = make(
        rnn="lstm",
        layers=2,
        embed_dropout=0.1,
        input_dropout=0.2,
        hidden_dropout=0.2,
        output_dropout=0.3,
        weight_drop=0.3,
    )
    ids = torch.randint(1, V, (2, 6))
    bb.train()
    torch.manual_seed(1)
    a = bb(ids).output
    b = bb(ids).output
    assert not torch.allclose(a, b)
    bb.eval()
    c = bb(ids).output
    d = bb(ids).output
    assert torch.equal(c, d)
    # eval output = a dropout-free backbone with the same weights (WeightDrop's raw -> plain names)
    plain = make(rnn="lstm", layers=2).eval()
    sd = {}
    for k, v in bb.state_dict().items():
        if k.endswith("weight_hh_l0_raw"):
            sd[k.replace("weight_hh_l0_raw", "weight_hh_l0")] = v
        else:
            sd[k.replace(".module.", ".")] = v
    plain.load_state_dict(sd)
    assert torch.allclose(plain(ids).output, c, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_autocast_keeps_the_rnn_in_float32_even_with_a_bfloat16_state(kind):
    """Under bf16 autocast (trainer.amp) the RNN runs in float32; a state computed under autocast
    (a seq2seq bridge's Linear gives bfloat16) is cast too instead of failing on a dtype mismatch."""
    net = make(rnn=kind)
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    h = torch.zeros(1, 2, 5, dtype=torch.bfloat16)
    state = [(h, h) if kind == "lstm" else h for _ in range(2)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layers, new_state = net.stack("forward")(net.embed(ids), state)
    assert all(out.dtype == torch.float32 for out in layers)
    assert first(new_state[0]).dtype == torch.float32
