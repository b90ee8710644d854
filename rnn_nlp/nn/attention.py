"""Attention of decoder states over encoder states: dot, general (bilinear) and additive (Bahdanau).

Scores (Luong et al. 2015; Bahdanau et al. 2015), for a query q and a key (encoder state) k:
  dot       q . k                       (q and k must have the same width)
  general   q . W k                     (bilinear)
  additive  v . tanh(W q + U k)         (a one-hidden-layer scorer of width `attention_size`)
The weights are a softmax over the source positions; padded positions (mask False) get exactly
zero weight. Queries may be one step [B, Dq] or a whole target sequence [B, T, Dq].
"""

from __future__ import annotations

import torch
from torch import nn

from rnn_nlp.errors import ConfigError

KINDS = ("dot", "general", "additive")


class Attention(nn.Module):
    """query [B, (T,) Dq], keys [B, S, Dk], mask [B, S] -> (context [B, (T,) Dk], weights [B, (T,) S])."""

    def __init__(self, kind: str, query_dim: int, key_dim: int, attention_size: int = 128):
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"head.attention: unknown kind {kind!r}; use one of {', '.join(KINDS)} or none")
        if kind == "dot" and query_dim != key_dim:
            raise ConfigError(
                f"head.attention: dot attention needs the decoder width ({query_dim}) to equal the encoder "
                f"output width ({key_dim}); use general or additive attention, or match the sizes"
            )
        self.kind = kind
        self.query_dim = query_dim
        self.key_dim = key_dim
        if kind == "general":
            self.bilinear = nn.Linear(key_dim, query_dim, bias=False)
        elif kind == "additive":
            self.query_proj = nn.Linear(query_dim, attention_size, bias=False)
            self.key_proj = nn.Linear(key_dim, attention_size)
            self.v = nn.Linear(attention_size, 1, bias=False)

    def output_dim(self) -> int:
        """Width of the context vectors: that of the keys."""
        return self.key_dim

    def precompute(self, keys: torch.Tensor) -> torch.Tensor:
        """The key-side part of the scores, computed once per source batch and reused at every step."""
        if self.kind == "general":
            return self.bilinear(keys)  # [B, S, Dq]
        if self.kind == "additive":
            return self.key_proj(keys)  # [B, S, A]
        return keys

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor | None = None,
        projected: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Context vectors and weights; `projected` is `precompute(keys)` when the caller kept it."""
        single = query.dim() == 2
        q = query.unsqueeze(1) if single else query  # [B, T, Dq]
        pk = self.precompute(keys) if projected is None else projected
        if self.kind == "additive":
            hidden = torch.tanh(self.query_proj(q).unsqueeze(2) + pk.unsqueeze(1))  # [B, T, S, A]
            scores = self.v(hidden).squeeze(-1)
        else:
            scores = torch.bmm(q, pk.transpose(1, 2))  # [B, T, S]
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores.float(), dim=-1).to(keys.dtype)
        if mask is not None:  # a row with no real position at all: zero weights, not NaN
            weights = weights.masked_fill(~mask.unsqueeze(1), 0.0)
        context = torch.bmm(weights, keys)  # [B, T, Dk]
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights
