"""Sentence vectors from a sequence of states: last, max, mean, attention, and concatenations.

Masks travel with the states: padding never enters a max, a mean or an attention. With two
directions, "last" takes the forward direction's state at the last real token and the
backward direction's state at the first (where the backward reading ends).
"""

from __future__ import annotations

import torch
from torch import nn

from rnn_nlp.errors import ConfigError

POOLINGS = ("last", "max", "mean", "attention")


class AttentionPooling(nn.Module):
    """Additive self-attention: score_t = v . tanh(W h_t); a softmax over real tokens weights the sum."""

    def __init__(self, input_dim: int, attention_dim: int | None = None):
        super().__init__()
        self.proj = nn.Linear(input_dim, attention_dim or input_dim)
        self.score = nn.Linear(attention_dim or input_dim, 1, bias=False)
        self.last_weights: torch.Tensor | None = None  # [B, T], kept for inspection

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(torch.tanh(self.proj(states))).squeeze(-1)
        weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
        self.last_weights = weights.detach()
        return torch.bmm(weights.unsqueeze(1), states).squeeze(1)


class Pooling(nn.Module):
    """[B, T, D] states + [B, T] mask -> [B, output_dim], one block of D per pooling kind."""

    def __init__(self, kinds: list[str] | tuple[str, ...], input_dim: int, directions: tuple[str, ...] = ("forward",)):
        super().__init__()
        if not kinds:
            raise ConfigError(f"head.pooling: choose at least one of {', '.join(POOLINGS)}")
        unknown = [k for k in kinds if k not in POOLINGS]
        if unknown:
            raise ConfigError(f"head.pooling: unknown {', '.join(unknown)}; choose from {', '.join(POOLINGS)}")
        if input_dim % len(directions):
            raise ConfigError(f"pooling: input width {input_dim} does not split over directions {directions}")
        self.kinds = tuple(kinds)
        self.directions = tuple(directions)
        self.input_dim = input_dim
        self.attention = AttentionPooling(input_dim) if "attention" in kinds else None

    @property
    def output_dim(self) -> int:
        return self.input_dim * len(self.kinds)

    def _last(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        width = self.input_dim // len(self.directions)
        last_index = mask.sum(1).clamp(min=1) - 1
        rows = torch.arange(states.size(0), device=states.device)
        parts = []
        for i, d in enumerate(self.directions):
            block = states[..., i * width : (i + 1) * width]
            parts.append(block[rows, last_index] if d == "forward" else block[:, 0])
        return torch.cat(parts, dim=-1)

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if states.size(-1) != self.input_dim:
            raise ValueError(f"pooling built for width {self.input_dim}, got states of width {states.size(-1)}")
        if mask is None:
            mask = torch.ones(states.shape[:2], dtype=torch.bool, device=states.device)
        out = []
        for kind in self.kinds:
            if kind == "last":
                out.append(self._last(states, mask))
            elif kind == "max":
                out.append(states.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(1).values)
            elif kind == "mean":
                m = mask.unsqueeze(-1).to(states.dtype)
                out.append((states * m).sum(1) / m.sum(1).clamp(min=1))
            else:
                out.append(self.attention(states, mask))
        return torch.cat(out, dim=-1)
