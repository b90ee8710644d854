"""The shared backbone: word embeddings feeding stacked Elman/GRU/LSTM layers, one or two directions.

It knows nothing of tasks. Given token ids (and lengths, for padded sentence batches) it
returns every layer's states, the top output and the final recurrent states. Every RNN
kind runs through the fused torch.nn modules: no Python loop over time steps.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.vectors import WordVectors
from rnn_nlp.nn.embedders.word_vectors import VectorEmbedding
from rnn_nlp.nn.regularization import LockedDropout, WeightDrop, embedding_dropout

RNN_KINDS = {
    "lstm": (nn.LSTM, {}),
    "gru": (nn.GRU, {}),
    "elman_tanh": (nn.RNN, {"nonlinearity": "tanh"}),
    "elman_relu": (nn.RNN, {"nonlinearity": "relu"}),
}
DIRECTIONS = {"forward": ("forward",), "backward": ("backward",), "both": ("forward", "backward")}
STACK_NAMES = {"forward": "fwd", "backward": "bwd"}  # "forward" cannot name a submodule

State = Any  # per layer: a tensor [1, B, H], or an (h, c) pair for LSTMs


@dataclass
class BackboneOutput:
    """What the backbone hands to a head. Widths are per direction times the number of directions."""

    output: torch.Tensor  # [B, T, output_dim]: top layer, output dropout applied
    layers: list[torch.Tensor]  # per layer [B, T, width * directions], before dropout
    state: dict[str, list[State]]  # final states per direction, per layer
    mask: torch.Tensor | None  # [B, T] True on real tokens; None when nothing is padded


def detach_state(state: Any) -> Any:
    """Cut the graph behind carried hidden states (truncated BPTT)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return type(state)(detach_state(s) for s in state)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each sequence of [B, T, ...] within its own length; padding stays at the end."""
    if lengths is None:
        return x.flip(1)
    steps = torch.arange(x.size(1), device=x.device).unsqueeze(0)
    lengths = lengths.to(x.device).unsqueeze(1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    if x.dim() == 3:
        index = index.unsqueeze(2).expand_as(x)
    return x.gather(1, index)


def float_state(state: list[State] | None) -> list[State] | None:
    """A per-layer state in float32 (each tensor, or each of an LSTM's (h, c) pair)."""
    if state is None:
        return None
    return [tuple(t.float() for t in s) if isinstance(s, tuple) else s.float() for s in state]


def select_state(state: list[State], rows: torch.Tensor) -> list[State]:
    """Pick (and repeat, or reorder) batch rows of a per-layer state: index_select on dim 1."""
    return [tuple(t.index_select(1, rows) for t in s) if isinstance(s, tuple) else s.index_select(1, rows) for s in state]


def _merge_state(state: list[State] | None, rows: torch.Tensor, new: list[State], batch: int) -> list[State]:
    """Write the states of `rows` into the full-batch state (out of place, so autograd is happy)."""

    def put(old: torch.Tensor | None, part: torch.Tensor) -> torch.Tensor:
        if old is None:
            old = part.new_zeros(part.size(0), batch, part.size(2))
        return old.index_copy(1, rows, part)

    if state is None:
        state = [None] * len(new)
    merged = []
    for old, part in zip(state, new):
        if isinstance(part, tuple):
            merged.append(tuple(put(o, p) for o, p in zip(old or (None,) * len(part), part)))
        else:
            merged.append(put(old, part))
    return merged


def train_top_groups(groups: list[list[nn.Parameter]], trainable: int) -> None:
    """Make only the top `trainable` of bottom-up parameter groups trainable; freeze the rest."""
    cut = len(groups) - trainable
    for i, group in enumerate(groups):
        for p in group:
            p.requires_grad_(i >= cut)


class RNNStack(nn.Module):
    """One direction: single-layer fused RNNs stacked, with locked dropout and optional residuals."""

    def __init__(self, cfg: BackboneConfig, input_size: int):
        super().__init__()
        cls, kwargs = RNN_KINDS[cfg.rnn]
        self.sizes = [cfg.hidden_size] * (cfg.layers - 1) + [cfg.top_size or cfg.hidden_size]
        layers = []
        in_size = input_size
        for size in self.sizes:
            rnn = cls(in_size, size, num_layers=1, batch_first=True, **kwargs)
            layers.append(WeightDrop(rnn, cfg.weight_drop) if cfg.weight_drop > 0 else rnn)
            in_size = size
        self.layers = nn.ModuleList(layers)
        self.hidden_dropout = LockedDropout(cfg.hidden_dropout)
        self.residual = cfg.residual
        self.input_size = input_size

    def forward(
        self, x: torch.Tensor, state: list[State] | None = None, lengths: torch.Tensor | None = None
    ) -> tuple[list[torch.Tensor], list[State]]:
        outputs, new_state = [], []
        total = x.size(1)
        if torch.is_autocast_enabled(x.device.type):
            # autocast would run cuDNN RNNs in float16 without loss scaling: keep them float32, the
            # carried state too (a seq2seq bridge computes the decoder's first state under autocast)
            with torch.autocast(x.device.type, enabled=False):
                return self.forward(x.float(), float_state(state), lengths)
        for i, layer in enumerate(self.layers):
            layer_state = state[i] if state is not None else None
            if lengths is not None:
                packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
                out, h = layer(packed, layer_state)
                out, _ = pad_packed_sequence(out, batch_first=True, total_length=total)
            else:
                out, h = layer(x, layer_state)
            if self.residual and out.size(-1) == x.size(-1) and i > 0:
                out = out + x
            outputs.append(out)
            new_state.append(h)
            x = self.hidden_dropout(out) if i < len(self.layers) - 1 else out
        return outputs, new_state

    def forward_chunked(
        self, x: torch.Tensor, lengths: torch.Tensor, chunk_len: int, grad_tokens: int | None = None
    ) -> tuple[list[torch.Tensor], list[State]]:
        """Long padded sequences in chunks of `chunk_len` steps, the state carried between chunks.

        Gradients flow only through each sequence's last `grad_tokens` positions (all of them when
        None); earlier chunks run without a graph, so training memory is bounded by the chunk and
        `grad_tokens`, not by the document's length (ULMFiT's classifier encoder does the same).
        """
        batch, total = x.shape[:2]
        lengths = lengths.to(x.device)
        state: list[State] | None = None
        chunks = []
        for start in range(0, total, chunk_len):
            end = min(start + chunk_len, total)
            seg_len = (lengths - start).clamp(0, end - start)
            active = seg_len > 0
            needs_grad = active & (lengths - grad_tokens < end) if grad_tokens else active
            outs = [x.new_zeros(batch, end - start, size) for size in self.sizes]
            for rows_mask, grad in ((active & ~needs_grad, False), (needs_grad, True)):
                rows = rows_mask.nonzero().squeeze(1)
                if rows.numel() == 0:
                    continue
                sub_state = select_state(state, rows) if state is not None else None
                with torch.set_grad_enabled(grad and torch.is_grad_enabled()):
                    part, new = self.forward(x[rows, start:end], sub_state, seg_len[rows])
                outs = [o.index_copy(0, rows, p.to(o.dtype)) for o, p in zip(outs, part)]
                state = _merge_state(state, rows, new, batch)
            chunks.append(outs)
        return [torch.cat(parts, dim=1) for parts in zip(*chunks)], state


class Backbone(nn.Module):
    """Embedding -> stacked RNN per direction. `output_dim` sizes the heads built on top."""

    def __init__(self, cfg: BackboneConfig, vocab_size: int, pad_id: int = 0):
        super().__init__()
        self.cfg = cfg
        self.directions = DIRECTIONS[cfg.direction]
        self.embedding = nn.Embedding(vocab_size, cfg.emb_size, padding_idx=pad_id)
        self.vectors: VectorEmbedding | None = None  # pretrained word vectors, once attach_vectors adds them
        self.stacks = nn.ModuleDict({STACK_NAMES[d]: RNNStack(cfg, cfg.emb_size) for d in self.directions})
        self.input_dropout = LockedDropout(cfg.input_dropout)
        self.output_dropout = LockedDropout(cfg.output_dropout)
        self._embedding_change: Callable[[torch.Tensor], torch.Tensor] | None = None  # see changed_embeddings
        self.reset_parameters()

    @property
    def top_size(self) -> int:
        """Width of the top layer in one direction."""
        return self.cfg.top_size or self.cfg.hidden_size

    @property
    def output_dim(self) -> int:
        """Width of `BackboneOutput.output`: the top layer of every direction, concatenated."""
        return self.top_size * len(self.directions)

    @property
    def input_dim(self) -> int:
        return self.cfg.emb_size

    def reset_parameters(self) -> None:
        init, r = self.cfg.init, self.cfg.init_range
        if init == "default":
            return
        for name, param in self.named_parameters():
            if init == "uniform" or param.dim() < 2:
                if "bias" in name and init == "xavier":
                    nn.init.zeros_(param)
                else:
                    nn.init.uniform_(param, -r, r)
            else:
                nn.init.xavier_uniform_(param)
        if self.embedding.padding_idx is not None:
            with torch.no_grad():
                self.embedding.weight[self.embedding.padding_idx].zero_()

    def stack(self, direction: str) -> RNNStack:
        return self.stacks[STACK_NAMES[direction]]

    def attach_vectors(
        self, vectors: WordVectors | None, words: list[str], skip: tuple[str, ...] = (), unk_id: int = 1, width: int = 0
    ) -> dict[str, int]:
        """Add pretrained vectors to the embedding (backbone.vectors): rows of words that have one start at
        zero, so each such word starts as its vector. Returns how many words each lookup rule found.

        `vectors` None: a saved model whose vectors source is gone; `width` wide, its vocabulary's
        vectors come with its weights, and words outside the vocabulary read <unk>.
        """
        dim = width if vectors is None else vectors.dim
        self.vectors = VectorEmbedding(len(words), self.cfg.emb_size, dim, self.cfg.vectors_mode, unk_id)
        if vectors is None:
            return {}
        counts = self.vectors.fill(vectors, words, skip)
        with torch.no_grad():
            self.embedding.weight[self.vectors.has_vector] = 0.0
        return counts

    def embed(self, ids: torch.Tensor, vector_rows: torch.Tensor | None = None) -> torch.Tensor:
        """Embedding lookup (+ pretrained vectors), embedding dropout, input dropout.

        `vector_rows` [B, T]: each token's row in the whole vectors table, so that words outside the
        vocabulary keep their pretrained vector (ignored without backbone.vectors).
        """
        if self.vectors is None:
            emb = embedding_dropout(self.embedding, ids, self.cfg.embed_dropout, self.training)
        else:
            emb = embedding_dropout(self.embedding, ids, self.cfg.embed_dropout, self.training, self.lookup(ids, vector_rows))
        emb = self.input_dropout(emb)
        return emb if self._embedding_change is None else self._embedding_change(emb)

    @contextmanager
    def changed_embeddings(self, change: Callable[[torch.Tensor], torch.Tensor]) -> Iterator[None]:
        """While inside, every `embed` output (after dropout) passes through `change`: adversarial training reads the
        loss gradient at the word embeddings and moves them (rnn_nlp.nn.adversarial)."""
        before, self._embedding_change = self._embedding_change, change
        try:
            yield
        finally:
            self._embedding_change = before

    def lookup(self, ids: torch.Tensor, vector_rows: torch.Tensor | None = None) -> torch.Tensor:
        """Each word's input vector, no dropout: its embedding row, plus its pretrained vector with backbone.vectors."""
        emb = self.embedding(ids)
        return emb if self.vectors is None else self.vectors(ids, emb, vector_rows)

    def run_direction(
        self, direction: str, ids: torch.Tensor, state: list[State] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[State]]:
        """One direction over an unpadded stream chunk given in that direction's reading order.

        Language models use this: the backward LM reads the reversed corpus, so its state carries
        from chunk to chunk exactly as the forward one does. Returns (top output with dropout,
        per-layer outputs, final state).
        """
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
            layers, new_state = self.stack(direction)(self.embed(ids), state)
        return self.output_dropout(layers[-1]), layers, new_state

    def forward(
        self,
        ids: torch.Tensor,
        lengths: torch.Tensor | None = None,
        state: dict[str, list[State]] | None = None,
        chunk_len: int | None = None,
        grad_tokens: int | None = None,
        vector_rows: torch.Tensor | None = None,
    ) -> BackboneOutput:
        """Padded sentence batch [B, T] (left-aligned) -> BackboneOutput; padding never enters the RNN.

        Batches longer than `chunk_len` run in chunks (see RNNStack.forward_chunked).
        """
        chunked = chunk_len is not None and lengths is not None and ids.size(1) > chunk_len
        if chunked and state is not None:
            raise ValueError("chunked encoding starts from zero states")
        emb = self.embed(ids, vector_rows)
        per_direction, final = [], {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
            for d in self.directions:
                x = emb if d == "forward" else reverse_padded(emb, lengths)
                if chunked:
                    outs, final[d] = self.stack(d).forward_chunked(x, lengths, chunk_len, grad_tokens)
                else:
                    outs, final[d] = self.stack(d)(x, state.get(d) if state else None, lengths)
                if d == "backward":
                    outs = [reverse_padded(o, lengths) for o in outs]
                per_direction.append(outs)
        layers = [torch.cat(group, dim=-1) for group in zip(*per_direction)]
        mask = None
        if lengths is not None:
            steps = torch.arange(ids.size(1), device=ids.device).unsqueeze(0)
            mask = steps < lengths.to(ids.device).unsqueeze(1)
        return BackboneOutput(self.output_dropout(layers[-1]), layers, final, mask)

    def layer_groups(self) -> list[list[nn.Parameter]]:
        """Parameters from the bottom up: embeddings, then each layer across directions.

        Used for discriminative learning rates and gradual unfreezing.
        """
        groups = [list(self.embedding.parameters()) + (list(self.vectors.parameters()) if self.vectors is not None else [])]
        for i in range(self.cfg.layers):
            groups.append([p for d in self.directions for p in self.stack(d).layers[i].parameters()])
        return groups

    def freeze(self, trainable_top_groups: int = 0) -> None:
        """Freeze every layer group except the top `trainable_top_groups` ones (0 freezes all)."""
        train_top_groups(self.layer_groups(), trainable_top_groups)
