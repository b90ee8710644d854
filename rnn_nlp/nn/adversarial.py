"""Adversarial training on word embeddings (Miyato, Dai and Goodfellow 2017, "Adversarial Training Methods for
Semi-Supervised Text Classification"): each step adds to the loss the loss at the worst nearby embeddings.

The model runs once with a zero change added to every output of its backbone's `embed`; the loss gradient at
that change, L2-normalised per sequence and scaled to `eps` (`trainer.adversarial`), is the direction that raises
the loss fastest. The model runs again with the embeddings moved that far, and the step minimises the sum of
the two losses. The move is a constant (no gradient flows through it), as in the paper. It regularises: the
model learns to keep its prediction where a word's vector shifts a little, which dropout alone does not ask.
"""

from __future__ import annotations

from typing import Protocol

import torch

from rnn_nlp.nn.backbone import Backbone


class Network(Protocol):
    """What is moved and run: a task network's backbone and its forward."""

    backbone: Backbone

    def __call__(self, batch: dict) -> dict: ...


def adversarial_output(model: Network, batch: dict, eps: float) -> dict:
    """`model(batch)` with its loss plus the loss at embeddings moved `eps` along the gradient; `log_loss` keeps
    the first (clean) loss, so the training loss the run reports is the one without the adversarial term."""
    zeros: list[torch.Tensor] = []

    def track(emb: torch.Tensor) -> torch.Tensor:
        change = torch.zeros_like(emb, requires_grad=True)  # a leaf: its gradient is the loss gradient at emb
        zeros.append(change)
        return emb + change

    with model.backbone.changed_embeddings(track):
        out = model(batch)
    clean = out["loss"]
    if not zeros or not clean.requires_grad:  # no embedding read, or nothing to train in this step
        return out
    grads = torch.autograd.grad(clean, zeros, retain_graph=True, allow_unused=True)
    moves = [None if g is None else (eps * g / per_sequence_norm(g)).detach() for g in grads]
    calls = iter(moves)

    def move(emb: torch.Tensor) -> torch.Tensor:
        step = next(calls, None)
        return emb if step is None or step.shape != emb.shape else emb + step

    with model.backbone.changed_embeddings(move):
        adversarial = model(batch)["loss"]
    return {**out, "loss": clean + adversarial, "log_loss": out.get("log_loss", clean.detach())}


def per_sequence_norm(grad: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each sequence's gradient (dim 0 is the batch), shaped to divide `grad`; never zero."""
    norm = grad.flatten(1).norm(dim=1) if grad.dim() > 1 else grad.abs()
    return norm.clamp_min(1e-12).view(-1, *([1] * (grad.dim() - 1)))
