"""A task network: a backbone plus a head, one nn.Module; the trainer calls `network(batch)` (or, with
trainer.adversarial, `network.adversarial_forward(batch, eps)`)."""

from __future__ import annotations

import torch
from torch import nn

from rnn_nlp.nn.adversarial import adversarial_output
from rnn_nlp.nn.backbone import Backbone


class TaskNetwork(nn.Module):
    """Backbone + head. `forward(batch)` returns a dict with at least `loss`.

    Optional keys the trainer reads:
    - `log_loss`: the loss to report when `loss` is rescaled for optimisation;
    - `tokens`: how many tokens the batch trained (for tokens/s);
    - `lr_scale`: a factor for this batch's learning rate, every group's, for this one optimiser
      step only (after clipping). AWD-LSTM's variable BPTT uses it (lr x seq_len / bptt, so a short
      chunk moves the weights less); 1.0 when absent.

    Models that carry state between batches (streaming LMs: the hidden state of the previous
    BPTT chunk) expose it through `runtime_state` / `load_runtime_state` / `reset_runtime_state`.
    It is a model capability, not a callback's, because it lives inside `forward` (which reads
    and replaces it every batch) and only the model knows its shape; the trainer treats it as
    opaque tensors: saved in each checkpoint (one per process) so a run resumes mid-epoch exactly,
    and reset at the start of every epoch.
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

    def adversarial_forward(self, batch: dict, eps: float) -> dict:
        """`forward(batch)` whose loss adds the loss at word embeddings moved `eps` along its gradient
        (trainer.adversarial; rnn_nlp.nn.adversarial)."""
        return adversarial_output(self, batch, eps)

    def runtime_state(self) -> dict[str, torch.Tensor]:
        return {}

    def load_runtime_state(self, state: dict[str, torch.Tensor]) -> None:
        pass

    def reset_runtime_state(self) -> None:
        pass
