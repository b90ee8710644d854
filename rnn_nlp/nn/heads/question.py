"""The question encoder: backbone states of a question pooled into one vector (last, max, mean, attention).

Used by the reader, and alone (`rnn_nlp.encode`) for question similarity and retrieval.
"""

from __future__ import annotations

import torch
from torch import nn

from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.pooling import Pooling


class QuestionEncoder(nn.Module):
    """[B, T, D] question states + mask -> [B, output_dim]; owns only the pooling (and its attention)."""

    def __init__(self, input_dim: int, pooling: list[str] | tuple[str, ...], directions: tuple[str, ...]):
        super().__init__()
        self.pooling = Pooling(pooling, input_dim, directions)

    @property
    def input_dim(self) -> int:
        return self.pooling.input_dim

    @property
    def output_dim(self) -> int:
        return self.pooling.output_dim

    @property
    def kinds(self) -> tuple[str, ...]:
        """The pooling kinds, as Pooling names them."""
        return self.pooling.kinds

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pool question states [B, T, D] under their mask into [B, output_dim]."""
        return self.pooling(states, mask)

    def encode(self, backbone: Backbone, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Token ids [B, T] and lengths [B] -> question vectors [B, output_dim]."""
        out = backbone(ids, lengths)
        return self(out.output, out.mask)
