"""Optimisers, discriminative learning rates and schedules."""

import math

import pytest
import torch

from rnn_nlp.config import TrainerConfig
from rnn_nlp.training.optim import (
    OPTIMIZERS,
    build_optimizer,
    build_scheduler,
    decoupled_weight_decay,
    param_groups,
)


def _params(n=3):
    return [[torch.nn.Parameter(torch.ones(2))] for _ in range(n)]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_steps(name):
    p = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    opt = build_optimizer([[p]], TrainerConfig(optimizer=name, lr=0.1))
    (p**2).sum().backward()
    opt.step()
    assert torch.all(p.abs() < 1.0)


def test_discriminative_learning_rates():
    groups = param_groups(_params(3), lr=1.0, ratio=2.6)
    assert [g["lr"] for g in groups] == pytest.approx([1 / 2.6**2, 1 / 2.6, 1.0])


def test_shared_parameters_appear_once():
    shared = torch.nn.Parameter(torch.ones(1))
    groups = param_groups([[shared], [shared, torch.nn.Parameter(torch.ones(1))]], 1.0, 1.0)
    assert sum(len(g["params"]) for g in groups) == 2


def test_l2_versus_decoupled_decay():
    # With a zero gradient, L2 through SGD shrinks by lr*wd*w; decoupled does the same for SGD, but
    # for Adam only the decoupled form shrinks the weight by exactly lr*wd.
    p = torch.nn.Parameter(torch.tensor([2.0]))
    cfg = TrainerConfig(optimizer="adam", lr=0.1, weight_decay=0.5, weight_decay_mode="decoupled")
    opt = build_optimizer([[p]], cfg)
    assert opt.param_groups[0]["weight_decay"] == 0.0
    p.grad = torch.zeros(1)
    decoupled_weight_decay(opt, cfg)
    assert p.item() == pytest.approx(2.0 * (1 - 0.1 * 0.5))
    cfg_l2 = TrainerConfig(optimizer="adam", lr=0.1, weight_decay=0.5, weight_decay_mode="l2")
    assert build_optimizer([[p]], cfg_l2).param_groups[0]["weight_decay"] == 0.5


def _lrs(schedule, total=100, **kw):
    p = torch.nn.Parameter(torch.ones(1))
    cfg = TrainerConfig(optimizer="sgd", lr=1.0, schedule=schedule, **kw)
    opt = build_optimizer([[p]], cfg)
    sched, unit = build_scheduler(opt, cfg, total)
    assert unit == "step"
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_slanted_triangular_matches_howard_and_ruder():
    lrs = _lrs("slanted_triangular", total=100, warmup_frac=0.1, stlr_ratio=32.0)
    assert lrs[0] == pytest.approx(1 / 32)
    assert max(lrs) == pytest.approx(1.0) and lrs.index(max(lrs)) == 10
    # eq. 3: p = 1 - (t - cut) / (cut * (1/cut_frac - 1)) at t = 55 -> 0.5
    assert lrs[55] == pytest.approx((1 + 0.5 * 31) / 32)


def test_cosine_and_one_cycle_shapes():
    cos = _lrs("cosine", total=100, min_lr=0.0)
    assert cos[0] == pytest.approx(1.0) and cos[50] == pytest.approx(0.5) and cos[-1] < 0.01
    one = _lrs("onecycle", total=100, warmup_frac=0.3)
    assert one[0] == pytest.approx(1 / 25)
    assert max(one) == pytest.approx(1.0) and one.index(max(one)) == 30
    assert one[-1] < 0.01


def test_plateau_divides_on_no_improvement():
    p = torch.nn.Parameter(torch.ones(1))
    cfg = TrainerConfig(lr=20.0, schedule="plateau", plateau_factor=0.25)
    opt = build_optimizer([[p]], cfg)
    sched, unit = build_scheduler(opt, cfg, 10)
    assert unit == "epoch"
    sched.step(5.0)
    sched.step(5.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(5.0)
    assert not math.isnan(opt.param_groups[0]["lr"])
