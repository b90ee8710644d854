"""AWD-LSTM's regularizers (Merity et al. 2017): embedding dropout, locked dropout, weight drop."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def embedding_dropout(
    embed: nn.Embedding, ids: torch.Tensor, p: float, training: bool, looked_up: torch.Tensor | None = None
) -> torch.Tensor:
    """Look up `ids`, dropping whole words (rows of the matrix) with probability p, rescaling the rest.

    `looked_up`: the lookup already made (an embedding with pretrained vectors added), to drop words from.
    """
    weight = embed.weight
    emb = F.embedding(ids, weight, embed.padding_idx) if looked_up is None else looked_up
    if training and p > 0:
        # one keep/drop draw per word type, looked up by id: the same as masking the whole
        # matrix, without touching all its rows every step
        keep = weight.new_empty((weight.size(0), 1)).bernoulli_(1 - p).div_(1 - p)
        emb = emb * F.embedding(ids, keep)
    return emb


class LockedDropout(nn.Module):
    """Variational dropout: one mask per sequence, the same at every time step. Input [B, T, H]."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty((x.size(0), 1, x.size(2))).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class WeightDrop(nn.Module):
    """DropConnect on a recurrent module's hidden-to-hidden matrices, resampled at every forward.

    The raw matrix is kept as `<name>_raw`; before each call the wrapped module receives a
    dropped-out copy, so the fused torch.nn kernel still runs (no Python loop over time).
    """

    def __init__(self, module: nn.RNNBase, p: float, names: tuple[str, ...] = ("weight_hh_l0",)):
        super().__init__()
        self.module = module
        self.p = p
        self.names = names
        for name in names:
            weight = getattr(module, name)
            del module._parameters[name]
            self.register_parameter(f"{name}_raw", nn.Parameter(weight.detach().clone()))
        self._set_weights(dropped=False)

    def _set_weights(self, dropped: bool = True) -> None:
        for name in self.names:
            raw = getattr(self, f"{name}_raw")
            if not dropped:
                weight = raw.detach()  # a leaf between calls, so the module can be deep-copied
            elif self.training and self.p > 0:
                weight = F.dropout(raw, p=self.p, training=True)
            else:
                weight = raw.clone()  # never the Parameter itself: the module would adopt it
            setattr(self.module, name, weight)

    def forward(self, *args, **kwargs):
        self._set_weights()
        try:
            return self.module(*args, **kwargs)
        finally:
            self._set_weights(dropped=False)

    def extra_repr(self) -> str:
        return f"p={self.p}, names={self.names}"
