"""A task model is a backbone plus a head; the trainer only ever calls `model(batch)`."""

from __future__ import annotations

import torch
from torch import nn

from rnn_nlp.nn.backbone import Backbone


class TaskModel(nn.Module):
    """Backbone + head. `forward(batch)` returns a dict with at least `loss`.

    Optional keys: `log_loss` (the loss to report when `loss` is rescaled for optimisation).
    Models that carry state between batches (streaming LMs) expose it through
    `runtime_state` / `load_runtime_state` so a checkpoint can resume mid-epoch.
    """

    def __init__(self, backbone: Backbone, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, batch: dict) -> dict:
        raise NotImplementedError

    def parameter_groups(self) -> list[list[nn.Parameter]]:
        """Bottom-up groups: backbone groups, then the head (for discriminative learning rates)."""
        backbone_ids = {id(p) for p in self.backbone.parameters()}
        head = [p for p in self.head.parameters() if id(p) not in backbone_ids]
        return self.backbone.layer_groups() + [head]

    def runtime_state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_runtime_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def reset_runtime_state(self) -> None:
        pass
