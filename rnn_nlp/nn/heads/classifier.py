"""Sentence / document classifier head: pooled backbone states -> dropout -> (hidden) -> labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.network import TaskNetwork
from rnn_nlp.nn.pooling import Pooling


@dataclass
class ClassifierHeadConfig:
    pooling: list[str] = field(default_factory=lambda: ["last", "max", "mean"])  # ULMFiT's concat pooling
    hidden_size: int | None = None  # one hidden layer (ReLU) before the output layer
    dropout: float = 0.2
    multi_label: bool = False  # independent sigmoids instead of one softmax
    threshold: float = 0.5  # multi-label decision threshold
    chunk_len: int | None = 200  # documents longer than this run through the backbone in chunks
    grad_tokens: int | None = 1000  # gradients only through each document's last N tokens
    # ULMFiT stage 2, accepted shorthand of `stages: [{name: lm_finetune, epochs: N}, {name: task}]`, resolved when the config is built
    lm_finetune_epochs: int = 0


class ClassifierHead(nn.Module):
    """[B, T, D] states and mask -> [B, n_labels] logits; sized from the pooling's output width."""

    def __init__(self, input_dim: int, n_labels: int, cfg: ClassifierHeadConfig, directions: tuple[str, ...]):
        super().__init__()
        self.cfg = cfg
        self.pooling = Pooling(cfg.pooling, input_dim, directions)
        layers: list[nn.Module] = [nn.Dropout(cfg.dropout)]
        width = self.pooling.output_dim
        if cfg.hidden_size:
            layers += [nn.Linear(width, cfg.hidden_size), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = cfg.hidden_size
        layers.append(nn.Linear(width, n_labels))
        self.mlp = nn.Sequential(*layers)

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.mlp(self.pooling(states, mask))


class ClassifierNetwork(TaskNetwork):
    """Backbone + ClassifierHead. A batch is {"ids", "lengths"}, "vector_rows" where the backbone has
    word vectors, and, for training, "labels".

    Labels are class indices [B] (-1 for a label the model does not know: left out of the loss),
    or a multi-hot float matrix [B, n_labels] for multi-label data.
    """

    def __init__(self, backbone: Backbone, head: ClassifierHead):
        super().__init__(backbone, head)

    def logits(self, ids: torch.Tensor, lengths: torch.Tensor, vector_rows: torch.Tensor | None = None) -> torch.Tensor:
        """`vector_rows` [B, T]: each token's row in the backbone's whole vectors table (-1: none), or None."""
        cfg = self.head.cfg
        out = self.backbone(ids, lengths, chunk_len=cfg.chunk_len, grad_tokens=cfg.grad_tokens, vector_rows=vector_rows)
        return self.head(out.output, out.mask)

    def forward(self, batch: dict) -> dict:
        logits = self.logits(batch["ids"], batch["lengths"], batch.get("vector_rows"))
        result = {"logits": logits, "tokens": int(batch["lengths"].sum())}
        labels = batch.get("labels")
        if labels is not None:
            if self.head.cfg.multi_label:
                result["loss"] = F.binary_cross_entropy_with_logits(logits, labels)
            elif bool((labels >= 0).any()):
                result["loss"] = F.cross_entropy(logits, labels, ignore_index=-1)
            else:
                result["loss"] = logits.sum() * 0.0
        return result

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits) if self.head.cfg.multi_label else logits.softmax(-1)
