"""Contextual string embeddings (Akbik et al. 2018): word features read off a character-level LM.

A sentence is joined with single spaces and framed by <eos> on both sides, as the char LM saw its
lines in training. The forward LM reads it left to right, the backward LM right to left; each word
takes one state of each, at positions `word_positions` picks. Frozen LMs (the default) give every
sentence the same features each time, so they are computed once and kept (`FeatureCache`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.nn.backbone import Backbone

Sentence = Sequence[str]  # one sentence's tokens


def word_positions(tokens: Sentence, whitespace: bool = True) -> tuple[list[int], list[int]]:
    """(forward, backward) index of each word's state in the framed string `<eos> w1 w2 ... <eos>`.

    whitespace=True (flair's default, the paper's choice): the forward state after the character that
    follows the word (its space, or the closing <eos>), the backward state after the character before
    it (reading right to left: its space, or the opening <eos>). False: the forward state after the
    word's last character, the backward state after its first.
    """
    forward, backward = [], []
    start = 1  # index 0 holds the opening <eos>
    for token in tokens:
        end = start + len(token)  # the word fills [start, end); `end` is the space after it
        forward.append(end if whitespace else end - 1)
        backward.append(start - 1 if whitespace else start)
        start = end + 1
    return forward, backward


def string_chars(tokens: Sentence, lowercase: bool = False) -> list[str]:
    """The characters of the tokens joined with single spaces, one per character (whitespace -> " ")."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        if i:
            out.append(" ")
        for c in token:
            if c.isspace():
                c = " "
            elif lowercase and len(c.lower()) == 1:  # a few characters lower-case to two; keep them as they are
                c = c.lower()
            out.append(c)
    return out


class FeatureCache:
    """Features of sentences by their tokens, up to `max_bytes` (then new sentences are not kept).

    Filling up and then keeping what is there suits epochs over a fixed corpus (an evicting cache
    would miss every time on a corpus larger than itself) and bounds a long-serving model's memory.
    """

    def __init__(self, max_bytes: int, dtype: torch.dtype = torch.float32):
        self.max_bytes, self.dtype = max_bytes, dtype
        self.store: dict[tuple[str, ...], torch.Tensor] = {}
        self.bytes = 0
        self.hits = self.misses = 0

    def get(self, key: tuple[str, ...]) -> torch.Tensor | None:
        found = self.store.get(key)
        self.hits += found is not None
        return found

    def put(self, key: tuple[str, ...], features: torch.Tensor) -> torch.Tensor:
        """Keep a computed sentence's `features` if there is room (`misses` counts them); returns what a
        later `get` gives (float16 rounds them)."""
        self.misses += 1
        size = features.numel() * self.dtype.itemsize
        if self.bytes + size > self.max_bytes:
            return features
        kept = self.store[key] = features.detach().to("cpu", self.dtype)
        self.bytes += size
        return kept

    def clear(self) -> None:
        self.store.clear()
        self.bytes = 0


class StringEmbedder(nn.Module):
    """Tokenised sentences -> [B, T, output_dim] states of a char LM's directions at each word, zeros on padding.

    `lm` is a Backbone over `chars` (a char-level vocabulary); output_dim = its top layer's width times its
    directions (forward first). Frozen, the LM stays in eval mode, runs without a graph and its features
    are cached (`cache_bytes` > 0); trainable, it follows the network's mode and nothing is cached.
    """

    def __init__(
        self,
        lm_cfg: BackboneConfig,
        chars: Vocab,
        lowercase: bool = False,
        trainable: bool = False,
        whitespace: bool = True,
        cache_bytes: int = 0,
        cache_dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        if chars.unit != "char":
            raise ValueError("a string embedder needs a character-level LM (its vocabulary reads words)")
        self.lm = Backbone(lm_cfg, len(chars), chars.pad_id)
        self.chars, self.lowercase, self.whitespace, self.trainable = chars, lowercase, whitespace, trainable
        self.output_dim = self.lm.top_size * len(self.lm.directions)
        self.cache = FeatureCache(cache_bytes, cache_dtype) if cache_bytes > 0 and not trainable else None
        self.lm.requires_grad_(trainable)
        self.lm.train(False)

    def train(self, mode: bool = True) -> StringEmbedder:
        """A frozen LM stays in eval mode (no dropout), so its features are the same in training and use."""
        super().train(mode)
        self.lm.train(mode and self.trainable)
        return self

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        if self.cache is not None:  # features of the old weights must not outlive them
            self.cache.clear()
        super()._load_from_state_dict(*args, **kwargs)

    def encode(self, tokens: Sentence) -> list[int]:
        """Char ids of the framed string `<eos> tokens joined by spaces <eos>`; unknown characters -> <unk>."""
        eos = self.chars.eos_id
        return [eos, *self.chars.encode(string_chars(tokens, self.lowercase)), eos]

    def compute(self, sentences: Sequence[Sentence]) -> list[torch.Tensor]:
        """Each sentence's [T_i, output_dim] features, the LM run once over the padded batch."""
        device = self.lm.embedding.weight.device
        encoded = [self.encode(s) for s in sentences]
        lengths = torch.tensor([len(e) for e in encoded])
        ids = torch.full((len(encoded), int(lengths.max())), self.chars.pad_id, dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = torch.tensor(e)
        with torch.set_grad_enabled(self.trainable and torch.is_grad_enabled()):
            top = self.lm(ids.to(device), lengths).layers[-1]  # [B, L, H * directions]: forward first
        width = self.lm.top_size
        out = []
        for row, tokens in enumerate(sentences):
            fwd, bwd = word_positions(tokens, self.whitespace)
            parts = []
            for k, direction in enumerate(self.lm.directions):
                pos = torch.tensor(fwd if direction == "forward" else bwd, device=device)
                parts.append(top[row, pos, k * width : (k + 1) * width])
            out.append(torch.cat(parts, dim=-1))
        return out

    def forward(self, sentences: Sequence[Sentence], steps: int | None = None) -> torch.Tensor:
        """[B, steps] words (steps: the batch's padded length, default its longest sentence) -> [B, steps, output_dim]."""
        device = self.lm.embedding.weight.device
        steps = steps if steps is not None else max((len(s) for s in sentences), default=0)
        found: list[torch.Tensor | None] = [None] * len(sentences)
        if self.cache is not None:
            found = [self.cache.get(tuple(s)) if len(s) else None for s in sentences]
        todo: dict[tuple[str, ...], list[int]] = {}  # each sentence to compute, once, and its rows
        for i, f in enumerate(found):
            if f is None and len(sentences[i]):
                todo.setdefault(tuple(sentences[i]), []).append(i)
        if todo:
            for key, features in zip(list(todo), self.compute(list(todo))):
                if self.cache is not None:
                    features = self.cache.put(key, features)
                for i in todo[key]:
                    found[i] = features
        blank = torch.zeros(steps, self.output_dim, device=device)
        padded = [blank if f is None else F.pad(f.to(device, torch.float32), (0, 0, 0, steps - f.size(0))) for f in found]
        return torch.stack(padded) if padded else blank.new_zeros(0, steps, self.output_dim)
