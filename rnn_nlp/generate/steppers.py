"""The step interface the generation code (rnn_nlp.generate) decodes through.

A stepper reads the prompts once (`prime`), then advances every row by one token at a time
(`step`); `select` picks, repeats or reorders rows of its state (beam search does this every
step) and `log_probs` turns a step's top output into next-token log-probabilities. The state
is opaque to the decoding algorithms: a plain LM carries its RNN states, a conditional model
also carries its encoder memory and attention feed, so greedy decoding, sampling and beam
search are written once for both.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.backbone import select_state


class Stepper(Protocol):
    """What greedy decoding, sampling and beam search need of a model (`model` for its device and
    train/eval mode, `vocab_size` to check prompt ids; None: unchecked)."""

    model: torch.nn.Module
    vocab_size: int | None

    def prime(self, prompts_ids: list[list[int]], device: torch.device) -> tuple[torch.Tensor, Any]:
        """Read the prompts -> the top output at each one's last id [B, D] and the state of the B rows."""
        ...

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """Feed one id per row [N] -> the top output [N, D] and the new state."""
        ...

    def select(self, state: Any, rows: torch.Tensor) -> Any:
        """The state of rows `rows` (a row may repeat): beams are copied, dropped and reordered by this."""
        ...

    def log_probs(self, top: torch.Tensor) -> torch.Tensor:
        """Top outputs [N, D] -> next-id log-probabilities [N, V]."""
        ...


def cat_states(states: list[list]) -> list:
    """Per-layer states of several batches -> one state, the batches one after another."""
    merged = []
    for layer in zip(*states):
        if isinstance(layer[0], tuple):
            merged.append(tuple(torch.cat(parts, dim=1) for parts in zip(*layer)))
        else:
            merged.append(torch.cat(layer, dim=1))
    return merged


class LMStepper:
    """A forward language model (Backbone + LMHead): the state is the backbone's per-layer state."""

    def __init__(self, model: torch.nn.Module):
        if "forward" not in model.backbone.directions:
            raise ConfigError("generation needs a forward language model (backbone.direction forward or both)")
        self.model = model
        self.vocab_size = getattr(model.head, "vocab_size", None)

    def prime(self, prompts_ids: list[list[int]], device: torch.device) -> tuple[torch.Tensor, list]:
        """Read every prompt: -> the top output at each prompt's last token [B, D] and the state for B rows.

        Each distinct prompt runs once; prompts of one length run as one batch (no padding enters).
        """
        unique: dict[tuple, int] = {}
        for ids in prompts_ids:
            unique.setdefault(tuple(ids), len(unique))
        by_length: dict[int, list[tuple]] = {}
        for key in unique:
            by_length.setdefault(len(key), []).append(key)
        tops, states, row_of = [], [], {}
        for keys in by_length.values():
            ids = torch.tensor(keys, dtype=torch.long, device=device)
            top, _, state = self.model.backbone.run_direction("forward", ids)
            tops.append(top[:, -1])
            states.append(state)
            for key in keys:
                row_of[key] = len(row_of)
        rows = torch.tensor([row_of[tuple(ids)] for ids in prompts_ids], device=device)
        top = torch.cat(tops) if len(tops) > 1 else tops[0]
        state = cat_states(states) if len(states) > 1 else states[0]
        return top.index_select(0, rows), select_state(state, rows)

    def step(self, tokens: torch.Tensor, state: list) -> tuple[torch.Tensor, list]:
        """Feed one token per row [N] -> top output [N, D], new state."""
        top, _, state = self.model.backbone.run_direction("forward", tokens.view(-1, 1), state)
        return top[:, -1], state

    def select(self, state: list, rows: torch.Tensor) -> list:
        """The per-layer states of `rows` (index_select on the batch dimension)."""
        return select_state(state, rows)

    def log_probs(self, top: torch.Tensor) -> torch.Tensor:
        """The LM head's next-token log-probabilities."""
        return self.model.head.log_probs(top)


def as_stepper(model: Any) -> Stepper:
    """A stepper as it is; a language model wrapped in an LMStepper."""
    if hasattr(model, "prime") and hasattr(model, "step"):
        return model
    return LMStepper(model)


class ConstrainedStepper:
    """A stepper whose next-id distribution never offers `banned` ids (e.g. <unk> in shown text) and
    offers `stop_id` only after `min_tokens` new ids, renormalised so scores stay log-probabilities.

    Without the minimum, beam search over an LM often ranks the empty continuation (an immediate
    <eos>) first: one likely id beats any longer sequence. Decoding calls `log_probs` once per step
    after `prime`, which is how the step count is kept.
    """

    def __init__(self, inner: Stepper, banned: tuple[int, ...] = (), stop_id: int | None = None, min_tokens: int = 0):
        self.inner = inner
        self.model = inner.model
        self.vocab_size = inner.vocab_size
        self.banned = tuple(banned)
        self.stop_id = stop_id
        self.min_tokens = min_tokens
        self.steps = 0

    def prime(self, prompts_ids: list[list[int]], device: torch.device) -> tuple[torch.Tensor, Any]:
        self.steps = 0
        return self.inner.prime(prompts_ids, device)

    def step(self, tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        return self.inner.step(tokens, state)

    def select(self, state: Any, rows: torch.Tensor) -> Any:
        return self.inner.select(state, rows)

    def log_probs(self, top: torch.Tensor) -> torch.Tensor:
        logp = self.inner.log_probs(top)
        blocked = list(self.banned)
        if self.stop_id is not None and self.steps < self.min_tokens:
            blocked.append(self.stop_id)
        self.steps += 1
        blocked = [i for i in blocked if 0 <= i < logp.size(-1)]
        if not blocked or len(blocked) >= logp.size(-1):
            return logp
        return logp.index_fill(-1, torch.tensor(blocked, device=logp.device), float("-inf")).log_softmax(-1)
