"""The conditional language model: an RNN-LM decoder conditioned on an encoding of its input.

The encoder is the shared Backbone (one or both directions). The decoder is an RNN language
model (a forward Backbone with an LMHead) whose initial state comes from the encoder's final
states through a bridge (tanh of a linear map, one slice per decoder layer), and which may
attend over the encoder states at every step (dot, general or additive attention; Luong's
attentional vector tanh(W [h; context]) feeds the output layer). With `input_feeding` that
vector also enters the next step's input (Luong et al. 2015), which forces a step-by-step loop
in training; without it, teacher-forced training runs the decoder RNN fused over all steps.
Padding never enters the encoder, the attention or the loss. (In the input-feeding loop the
decoder's output dropout is drawn anew at every step, and padded target steps are computed and
then masked out of the loss.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import torch
from torch import nn

from rnn_nlp.config import BackboneConfig
from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.attention import Attention
from rnn_nlp.nn.backbone import Backbone, BackboneOutput, RNNStack, select_state
from rnn_nlp.nn.heads.lm import LMHead, LMHeadConfig
from rnn_nlp.nn.network import TaskNetwork


@dataclass
class Seq2SeqHeadConfig:
    """`head:` of a seq2seq run: the decoder LM, how it is conditioned, and decoding for evaluation."""

    decoder: BackboneConfig = field(default_factory=BackboneConfig)  # the decoder LM (always forward)
    output: LMHeadConfig = field(default_factory=LMHeadConfig)  # the decoder's softmax (tying, adaptive)
    attention: Literal["none", "dot", "general", "additive"] = "additive"
    attention_size: int = 128  # additive attention: the scorer's hidden width
    input_feeding: bool = False  # feed the attentional vector into the next step (slower training)
    bridge: Literal["linear", "none"] = "linear"  # initial decoder state from the encoder's final states, or zeros
    dropout: float = 0.0  # on the attentional vector before the softmax
    share_embeddings: bool = False  # one embedding matrix for encoder and decoder (needs data.shared_vocab)
    decoder_pretrained: str | None = None  # a target-language LM run to start the decoder from
    # decoding in `rnn-nlp evaluate` (and validation during training)
    beam: int = 1  # 1: greedy; more: beam search of this width
    length_penalty: float = 0.6  # beam search: GNMT alpha
    max_decode_tokens: int = 100  # at most this many target tokens per output
    eval_decode_examples: int | None = 200  # validation during training decodes only the first N (null: all)
    metrics: list[str] = field(default_factory=lambda: ["bleu", "chrf"])  # and/or "rouge"


class Memory(NamedTuple):
    """What the decoder attends to: encoder states [B, S, D], their key-side projection, the mask [B, S]."""

    keys: torch.Tensor
    projected: torch.Tensor
    mask: torch.Tensor


# The functional form keeps the field types real objects (not strings under `from __future__ import
# annotations`), so tools that read them (pdoc) need not evaluate them.
DecoderState = NamedTuple("DecoderState", [("rnn", list), ("memory", Memory | None), ("feed", torch.Tensor | None)])  # noqa: UP014

DecoderState.__doc__ = """A decoding row's state: the decoder RNN's per-layer state, its memory (None without attention) and
its attention feed ([B, H]: the last attentional vector with input feeding, else None)."""


def _final_top(enc: BackboneOutput, directions: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The top layer's final (h, c) over all directions concatenated, [1, B, E] each (c = h for GRU/Elman)."""
    hs, cs = [], []
    for d in directions:
        s = enc.state[d][-1]
        h, c = (s[0], s[1]) if isinstance(s, tuple) else (s, s)
        hs.append(h)
        cs.append(c)
    return torch.cat(hs, dim=-1), torch.cat(cs, dim=-1)


class Seq2SeqHead(nn.Module):
    """Decoder LM + bridge + attention + output layer, sized from the encoder it is given."""

    def __init__(self, encoder: Backbone, vocab_size: int, cfg: Seq2SeqHeadConfig, pad_id: int = 0):
        super().__init__()
        if cfg.decoder.direction != "forward":
            raise ConfigError(f"head.decoder.direction: the decoder is a forward LM, got {cfg.decoder.direction!r}")
        if cfg.attention == "none" and cfg.bridge == "none":
            raise ConfigError("head.bridge: with head.attention none the bridge is the only link to the source; use linear")
        if cfg.input_feeding and cfg.attention == "none":
            raise ConfigError("head.input_feeding needs attention (head.attention dot, general or additive)")
        self.cfg = cfg
        self.decoder = Backbone(cfg.decoder, vocab_size, pad_id)
        self.hidden = self.decoder.top_size
        if cfg.input_feeding:  # the first layer reads [embedding; last attentional vector]
            self.decoder.stacks["fwd"] = RNNStack(cfg.decoder, cfg.decoder.emb_size + self.hidden)
            self.decoder.reset_parameters()
        if cfg.share_embeddings:
            if encoder.embedding.weight.shape != self.decoder.embedding.weight.shape:
                raise ConfigError(
                    "head.share_embeddings: the encoder and decoder embeddings differ in shape "
                    f"({tuple(encoder.embedding.weight.shape)} vs {tuple(self.decoder.embedding.weight.shape)}); "
                    "share the vocabulary (data.shared_vocab) and use one emb_size"
                )
            self.decoder.embedding = encoder.embedding
        self.enc_dim = encoder.output_dim
        self.encoder_directions = encoder.directions
        self.attention = None
        if cfg.attention != "none":
            self.attention = Attention(cfg.attention, self.hidden, self.enc_dim, cfg.attention_size)
            self.combine = nn.Linear(self.hidden + self.enc_dim, self.hidden)
        self.sizes = self.decoder.stack("forward").sizes
        self.lstm = cfg.decoder.rnn == "lstm"
        if cfg.bridge == "linear":
            state_dim = encoder.top_size * len(encoder.directions)
            self.bridge_h = nn.Linear(state_dim, sum(self.sizes))
            self.bridge_c = nn.Linear(state_dim, sum(self.sizes)) if self.lstm else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.output = LMHead(self.hidden, vocab_size, cfg.output, self.decoder.embedding)
        self.vocab_size = vocab_size

    def init_state(self, enc: BackboneOutput) -> list | None:
        """The decoder's initial per-layer state from the encoder's final states (None: zeros)."""
        if self.cfg.bridge == "none":
            return None
        h, c = _final_top(enc, self.encoder_directions)
        hs = torch.tanh(self.bridge_h(h)).split(self.sizes, dim=-1)
        if not self.lstm:
            return [x.contiguous() for x in hs]
        cs = self.bridge_c(c).split(self.sizes, dim=-1)
        return [(a.contiguous(), b.contiguous()) for a, b in zip(hs, cs)]

    def memory(self, enc: BackboneOutput) -> Memory | None:
        """What attention reads (None without attention); a batch with no padding gets an all-true mask."""
        if self.attention is None:
            return None
        mask = enc.mask if enc.mask is not None else enc.output.new_ones(enc.output.shape[:2], dtype=torch.bool)
        return Memory(enc.output, self.attention.precompute(enc.output), mask)

    def start(self, enc: BackboneOutput) -> DecoderState:
        """The decoder's state before its first input: bridged initial state, memory, a zero feed."""
        feed = enc.output.new_zeros(enc.output.size(0), self.hidden) if self.cfg.input_feeding else None
        return DecoderState(self.init_state(enc), self.memory(enc), feed)

    def _attend(self, h: torch.Tensor, memory: Memory | None) -> torch.Tensor:
        if memory is None:
            return h
        context, _ = self.attention(h, memory.keys, memory.mask, memory.projected)
        return torch.tanh(self.combine(torch.cat([h, context], dim=-1)))

    def decode(self, ids: torch.Tensor, state: DecoderState, lengths: torch.Tensor | None = None) -> tuple[torch.Tensor, DecoderState]:
        """Target ids [B, T] (teacher forcing, or one step) -> top outputs [B, T, H] and the new state."""
        stack = self.decoder.stack("forward")
        emb = self.decoder.embed(ids)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
            if not self.cfg.input_feeding:
                layers, rnn = stack(emb, state.rnn, lengths)
                top = self._attend(self.decoder.output_dropout(layers[-1]), state.memory)
                return self.dropout(top), DecoderState(rnn, state.memory, None)
            rnn, feed, tops = state.rnn, state.feed, []
            for t in range(ids.size(1)):  # input feeding: each step needs the last step's output
                layers, rnn = stack(torch.cat([emb[:, t : t + 1], feed.unsqueeze(1)], dim=-1), rnn)
                feed = self._attend(self.decoder.output_dropout(layers[-1])[:, 0], state.memory)
                tops.append(feed)
            return self.dropout(torch.stack(tops, dim=1)), DecoderState(rnn, state.memory, feed)


class Seq2SeqNetwork(TaskNetwork):
    """Encoder (the backbone) + Seq2SeqHead. A batch holds `src` [B, S], `src_lengths`, the decoder
    inputs `tgt_in` (<eos> then the target) and outputs `tgt_out` (the target then <eos>), `tgt_lengths`."""

    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> DecoderState:
        """Padded source ids [B, S] and their lengths -> the decoder's starting state."""
        return self.head.start(self.backbone(src, lengths))

    def forward(self, batch: dict) -> dict:
        """Teacher forcing: mean cross-entropy over the real target tokens (<eos> in, padding out)."""
        state = self.encode(batch["src"], batch["src_lengths"])
        top, _ = self.head.decode(batch["tgt_in"], state, batch["tgt_lengths"])
        steps = torch.arange(top.size(1), device=top.device).unsqueeze(0)
        mask = steps < batch["tgt_lengths"].to(top.device).unsqueeze(1)
        tokens = int(mask.sum())
        nll = self.head.output.nll(top[mask].unsqueeze(0), batch["tgt_out"][mask].unsqueeze(0))
        mean = nll / max(1, tokens)
        return {"loss": mean, "log_loss": mean.detach(), "nll": nll.detach(), "tokens": tokens}


class Seq2SeqStepper:
    """rnn_nlp.generate's step interface for a Seq2SeqNetwork and a batch of sources (id lists).

    Row i of the prompts is decoded conditioned on source i; every prompt must have one length
    (usually just <eos>, the sentence start; longer ones force a target prefix).
    """

    def __init__(self, model: Seq2SeqNetwork, sources_ids: list[list[int]]):
        self.model = model
        self.sources = sources_ids
        self.vocab_size = model.head.vocab_size

    def prime(self, prompts_ids: list[list[int]], device: torch.device) -> tuple[torch.Tensor, DecoderState]:
        from rnn_nlp.data.batching import pad_batch

        if len(prompts_ids) != len(self.sources):
            raise ValueError(f"{len(prompts_ids)} prompts for {len(self.sources)} sources")
        if len({len(p) for p in prompts_ids}) > 1:
            raise ValueError("the prompts of one conditional decoding call must have one length")
        src, lengths = pad_batch(self.sources, self.model.backbone.embedding.padding_idx or 0)
        state = self.model.encode(src.to(device), lengths)
        ids = torch.tensor(prompts_ids, dtype=torch.long, device=device)
        top, state = self.model.head.decode(ids, state)
        return top[:, -1], state

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        top, state = self.model.head.decode(tokens.view(-1, 1), state)
        return top[:, -1], state

    def select(self, state: DecoderState, rows: torch.Tensor) -> DecoderState:
        memory = None if state.memory is None else Memory(*(t.index_select(0, rows) for t in state.memory))
        feed = None if state.feed is None else state.feed.index_select(0, rows)
        rnn = None if state.rnn is None else select_state(state.rnn, rows)
        return DecoderState(rnn, memory, feed)

    def log_probs(self, top: torch.Tensor) -> torch.Tensor:
        return self.model.head.output.log_probs(top)
