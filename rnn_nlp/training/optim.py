"""Optimisers, parameter groups with discriminative learning rates, and learning-rate schedules."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch
from torch import nn

from rnn_nlp.config import TrainerConfig

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "nadam": torch.optim.NAdam,
}


def param_groups(groups: list[list[nn.Parameter]], lr: float, ratio: float) -> list[dict]:
    """One optimiser group per layer group, bottom to top; group i gets lr / ratio**(top - i)."""
    seen: set[int] = set()
    out = []
    top = len(groups) - 1
    for i, params in enumerate(groups):
        unique = [p for p in params if id(p) not in seen]
        seen.update(id(p) for p in unique)
        if unique:
            out.append({"params": unique, "lr": lr / ratio ** (top - i)})
    return out


def build_optimizer(groups: list[list[nn.Parameter]], cfg: TrainerConfig) -> torch.optim.Optimizer:
    cls = OPTIMIZERS[cfg.optimizer]
    kwargs: dict = {}
    if cfg.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = cfg.momentum
    # L2 goes through the optimiser's own weight_decay (added to the gradient); decoupled decay
    # is applied by `decoupled_weight_decay` before each step. AdamW decouples by itself.
    if cfg.optimizer == "adamw" or cfg.weight_decay_mode == "l2":
        kwargs["weight_decay"] = cfg.weight_decay
    else:
        kwargs["weight_decay"] = 0.0
    return cls(param_groups(groups, cfg.lr, cfg.discriminative_lr), lr=cfg.lr, **kwargs)


@torch.no_grad()
def decoupled_weight_decay(optimizer: torch.optim.Optimizer, cfg: TrainerConfig) -> None:
    """Shrink weights by lr * weight_decay (Loshchilov & Hutter), independent of the gradient."""
    if cfg.weight_decay_mode != "decoupled" or cfg.optimizer == "adamw" or cfg.weight_decay == 0:
        return
    for group in optimizer.param_groups:
        factor = 1.0 - group["lr"] * cfg.weight_decay
        for p in group["params"]:
            if p.grad is not None:
                p.mul_(factor)


@contextmanager
def lr_scaled(optimizer: torch.optim.Optimizer, scale: float) -> Iterator[None]:
    """Every group's lr times `scale` inside the block (one optimiser step), then exactly as before.

    The trainer's side of the model output's `lr_scale` contract (see `TaskNetwork`): a batch may
    ask for a larger or smaller update than the schedule's, as AWD-LSTM does for its variable
    BPTT lengths (lr x seq_len / bptt). The saved lrs are put back, not divided, so no rounding
    drifts into the schedule.
    """
    if scale == 1.0:
        yield
        return
    saved = [group["lr"] for group in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["lr"] *= scale
    try:
        yield
    finally:
        for group, lr in zip(optimizer.param_groups, saved):
            group["lr"] = lr


def lower_lr(optimizer: torch.optim.Optimizer, scheduler, factor: float) -> None:
    """Multiply every learning rate by `factor`, the schedule's base rates too (per-step schedules
    recompute the rate from them), so the lowered rate holds for the rest of the run."""
    for group in optimizer.param_groups:
        group["lr"] *= factor
    if hasattr(scheduler, "base_lrs"):
        scheduler.base_lrs = [lr * factor for lr in scheduler.base_lrs]


def _cosine(step: int, total: int, floor: float) -> float:
    t = min(step, total) / max(1, total)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))


def _one_cycle(step: int, total: int, warmup_frac: float, floor: float) -> float:
    """Cosine warm-up from lr/25 to lr, then cosine annealing to lr/1e4 (Smith 2018)."""
    up = max(1, int(total * warmup_frac))
    if step < up:
        return 1 / 25 + (1 - 1 / 25) * 0.5 * (1 - math.cos(math.pi * step / up))
    return max(floor, 1e-4) + (1 - max(floor, 1e-4)) * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - up) / max(1, total - up))))


def _slanted_triangular(step: int, total: int, cut_frac: float, ratio: float) -> float:
    """Howard & Ruder (2018), eq. 3: a short linear rise, then a long linear decay."""
    cut = max(1, math.floor(total * cut_frac))
    if step < cut:
        p = step / cut
    else:
        p = max(0.0, 1 - (step - cut) / max(1, cut * (1 / cut_frac - 1)))
    return (1 + p * (ratio - 1)) / ratio


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainerConfig, total_steps: int):
    """A per-step LambdaLR (cosine, one-cycle, slanted triangular), or a per-epoch ReduceLROnPlateau.

    Returns (scheduler or None, "step" | "epoch").
    """
    floor = cfg.min_lr / cfg.lr
    if cfg.schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience, min_lr=cfg.min_lr
        )
        return sched, "epoch"
    if cfg.schedule == "none":
        return None, "step"
    if cfg.schedule == "cosine":
        fn = partial(_cosine, total=total_steps, floor=floor)
    elif cfg.schedule == "onecycle":
        fn = partial(_one_cycle, total=total_steps, warmup_frac=cfg.warmup_frac, floor=floor)
    else:
        fn = partial(_slanted_triangular, total=total_steps, cut_frac=cfg.warmup_frac, ratio=cfg.stlr_ratio)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn), "step"
