"""Language-model head (full or adaptive softmax, optional weight tying) and the streaming LM model."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.backbone import Backbone, detach_state
from rnn_nlp.nn.network import TaskNetwork

log = logging.getLogger(__name__)


@dataclass
class LMHeadConfig:
    softmax: Literal["full", "adaptive"] = "full"
    cutoffs: list[int] = field(default_factory=lambda: [2000, 10000])  # adaptive softmax cluster edges
    div_value: float = 4.0  # adaptive softmax: each tail cluster's width shrinks by this factor
    tie_weights: bool = True  # share the embedding matrix with the output layer (full softmax)


class LMHead(nn.Module):
    """Hidden states [B, T, D] -> next-token log-probabilities over the vocabulary.

    One output layer serves both directions, as in ELMo; with weight tying it is the embedding.
    """

    def __init__(self, in_dim: int, vocab_size: int, cfg: LMHeadConfig, embedding: nn.Embedding | None = None):
        super().__init__()
        self.cfg = cfg
        self.in_dim = in_dim
        self.vocab_size = vocab_size
        if cfg.softmax == "adaptive":
            if cfg.tie_weights:
                raise ConfigError("head.tie_weights: not available with head.softmax=adaptive; set it to false")
            cutoffs = sorted({c for c in cfg.cutoffs if 0 < c < vocab_size - 1})
            if cutoffs != cfg.cutoffs:
                log.warning("adaptive softmax: cutoffs %s trimmed to %s for a vocabulary of %d", cfg.cutoffs, cutoffs, vocab_size)
            if not cutoffs:
                raise ConfigError(f"head.cutoffs: none of {cfg.cutoffs} is below the vocabulary size {vocab_size}")
            if in_dim // int(cfg.div_value ** len(cutoffs)) < 1:
                raise ConfigError(
                    f"head.div_value: {cfg.div_value} ** {len(cutoffs)} clusters leaves the last tail cluster "
                    f"no width from {in_dim} inputs; use fewer cutoffs or a smaller div_value"
                )
            self.adaptive = nn.AdaptiveLogSoftmaxWithLoss(in_dim, vocab_size, cutoffs, div_value=cfg.div_value)
            self.decoder = None
        else:
            self.adaptive = None
            self.decoder = nn.Linear(in_dim, vocab_size)
            nn.init.zeros_(self.decoder.bias)
            if cfg.tie_weights:
                if embedding is None or embedding.weight.size(1) != in_dim:
                    width = None if embedding is None else embedding.weight.size(1)
                    raise ConfigError(
                        f"head.tie_weights: the top layer width ({in_dim}) must equal backbone.emb_size ({width}); "
                        "set backbone.top_size to the embedding size or turn tying off"
                    )
                self.decoder.weight = embedding.weight
            else:
                nn.init.uniform_(self.decoder.weight, -0.1, 0.1)

    def nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Summed negative log-likelihood of `targets` [B, T] under `hidden` [B, T, D]."""
        flat = hidden.reshape(-1, self.in_dim)
        if self.adaptive is not None:
            with torch.autocast(flat.device.type, enabled=False):  # its index_copy_ wants one dtype
                out = self.adaptive(flat.float(), targets.reshape(-1))
            return out.loss * targets.numel()
        logits = self.decoder(flat)
        return F.cross_entropy(logits.float(), targets.reshape(-1), reduction="sum")

    def log_probs(self, hidden: torch.Tensor) -> torch.Tensor:
        """[..., D] -> [..., V] log-probabilities."""
        flat = hidden.reshape(-1, self.in_dim)
        if self.adaptive is not None:
            with torch.autocast(flat.device.type, enabled=False):
                out = self.adaptive.log_prob(flat.float())
        else:
            out = F.log_softmax(self.decoder(flat).float(), dim=-1)
        return out.view(*hidden.shape[:-1], self.vocab_size)


class LanguageModelNetwork(TaskNetwork):
    """Backbone + LMHead over BPTT stream chunks, carrying each direction's state between batches.

    A batch is {"forward": (inputs, targets), "backward": (inputs, targets), "scale": float}, one
    entry per trained direction; the backward direction reads the reversed corpus.
    """

    def __init__(self, backbone: Backbone, head: LMHead):
        super().__init__(backbone, head)
        self.state: dict = {}

    def forward(self, batch: dict) -> dict:
        nll, tokens, per_direction = 0.0, 0, {}
        for d in self.backbone.directions:
            inputs, targets = batch[d]
            state = self.state.get(d)
            if state is not None and state_batch(state) != inputs.size(0):
                state = None
            top, _, new_state = self.backbone.run_direction(d, inputs, state)
            self.state[d] = detach_state(new_state)
            d_nll = self.head.nll(top, targets)
            per_direction[d] = d_nll.detach()
            nll = nll + d_nll
            tokens += targets.numel()
        mean = nll / tokens
        return {
            "loss": mean,
            "lr_scale": batch.get("scale", 1.0),
            "log_loss": mean.detach(),
            "nll": per_direction,
            "tokens": tokens // len(self.backbone.directions),
        }

    def runtime_state(self) -> dict[str, torch.Tensor]:
        flat = {}
        for d, layers in self.state.items():
            for i, s in enumerate(layers):
                for j, t in enumerate(s if isinstance(s, tuple) else (s,)):
                    flat[f"{d}.{i}.{j}"] = t.detach().cpu()
        return flat

    def load_runtime_state(self, state: dict[str, torch.Tensor]) -> None:
        device = next(self.parameters()).device
        rebuilt: dict = {}
        for key in sorted(state):
            d, i, j = key.split(".")
            rebuilt.setdefault(d, {}).setdefault(int(i), {})[int(j)] = state[key].to(device)
        self.state = {
            d: [tuple(parts[j] for j in sorted(parts)) if len(parts) > 1 else parts[0] for _, parts in sorted(layers.items())]
            for d, layers in rebuilt.items()
        }

    def reset_runtime_state(self) -> None:
        self.state = {}


def state_batch(state: list) -> int:
    first = state[0][0] if isinstance(state[0], tuple) else state[0]
    return first.size(1)
