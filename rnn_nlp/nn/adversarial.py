"""Adversarial training on word embeddings (Miyato, Dai and Goodfellow 2017, "Adversarial Training Methods for
Semi-Supervised Text Classification"): each step adds to the loss the loss at the worst nearby embeddings.

The model runs once with a zero change added to every output of its backbone's `embed`; the loss gradient at
that change, L2-normalised per sequence and scaled to `eps` (`trainer.adversarial`), is the direction that raises
the loss fastest. The model runs again with the embeddings moved that far, and the step minimises the sum of
the two losses. The move is a constant (no gradient flows through it), as in the paper. It regularises: the
model learns to keep its prediction where a word's vector shifts a little, which dropout alone does not ask.

Where this differs from the paper: `eps` is a length on the embeddings as they are (GloVe's 50-d rows are about
5 long), not on embeddings normalised by their frequency-weighted mean and variance; and the second pass draws
its own dropout masks (a second noisy sample of the same batch), where the paper's code reuses the embedding
dropout of the first. What moves is the backbone's `embed` output: a seq2seq decoder's own embeddings and the
QA reader's aligned-question features (read from `Backbone.lookup`) do not move, and a network that embeds two
sequences per example (the QA reader's passage and question) moves each by `eps`. A step costs two forward
passes and the backward through both, about 2-3 times a plain step, holding both graphs at once.
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
    if all(m is None for m in moves):  # the loss does not depend on the embeddings: nothing to move
        return out
    calls = iter(moves)

    def move(emb: torch.Tensor) -> torch.Tensor:
        step = next(calls, None)
        if step is not None and step.shape != emb.shape:  # the second pass must embed what the first did, in order
            shapes = f"{tuple(emb.shape)} where the first had {tuple(step.shape)}"
            raise RuntimeError(f"adversarial training: the second pass embedded {shapes}")
        return emb if step is None else emb + step

    with model.backbone.changed_embeddings(move):
        adversarial = model(batch)["loss"]
    return {**out, "loss": clean + adversarial, "log_loss": out.get("log_loss", clean.detach())}


def per_sequence_norm(grad: torch.Tensor) -> torch.Tensor:
    """The L2 norm of each sequence's gradient ([batch, ...], dim 0 the batch), shaped to divide `grad`; never zero."""
    return grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (grad.dim() - 1)))
