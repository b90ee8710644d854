"""Pretrained word vectors inside the backbone's embedding.

A word's input is its trainable embedding row plus its pretrained vector (projected when the widths
differ). Rows of words that have a vector start at zero, so training starts from the vectors and
learns a correction (`fine_tune`), or never moves them (`frozen`: the row is masked out). Words never
seen in training read `<unk>`, unless the vectors know them and the batch gives each token's row in the
whole table (`vector_rows`): then they read their vector alone, as Lample et al. (2016) keep every
pretrained word. The 400k-row table stays memory-mapped outside the model, and no softmax grows with it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.data.vectors import RULES, WordVectors

FROZEN, FINE_TUNE = "frozen", "fine_tune"


class VectorEmbedding(nn.Module):
    """Adds pretrained vectors to embedding lookups: [B, T] ids (+ table rows) -> [B, T, emb_size].

    `vocab_vectors` holds the vectors of the vocabulary's words (saved with the model, so a loaded
    model predicts without the table for every word it was trained on); `table` is the whole
    memory-mapped matrix, attached at build time and never saved.
    """

    vocab_vectors: torch.Tensor  # [V, dim] buffer
    has_vector: torch.Tensor  # [V] bool buffer

    def __init__(self, vocab_size: int, emb_size: int, dim: int, mode: str = FINE_TUNE, unk_id: int = 1):
        super().__init__()
        if mode not in (FROZEN, FINE_TUNE):
            raise ValueError(f"vectors mode {mode!r}: use {FINE_TUNE} or {FROZEN}")
        self.mode, self.unk_id, self.dim = mode, unk_id, dim
        self.register_buffer("vocab_vectors", torch.zeros(vocab_size, dim))
        self.register_buffer("has_vector", torch.zeros(vocab_size, dtype=torch.bool))
        self.projection = nn.Linear(dim, emb_size, bias=False) if dim != emb_size else None
        self.table: np.ndarray | None = None

    def fill(self, vectors: WordVectors, words: Iterable[str], skip: Iterable[str] = ()) -> dict[str, int]:
        """Copy the vectors of the vocabulary `words` (id order) in; returns how many each lookup rule found."""
        skipped = set(skip)
        counts = dict.fromkeys((*RULES, "missing", "skipped"), 0)
        rows, ids = [], []
        for i, word in enumerate(words):
            found = None if word in skipped else vectors.find(word)
            if found is None:
                counts["skipped" if word in skipped else "missing"] += 1
                continue
            rows.append(found[0])
            ids.append(i)
            counts[found[1]] += 1
        with torch.no_grad():
            self.vocab_vectors.zero_()
            self.has_vector.zero_()
            if ids:
                index = torch.tensor(ids)
                self.vocab_vectors[index] = torch.from_numpy(np.asarray(vectors.matrix[np.asarray(rows)], dtype=np.float32))
                self.has_vector[index] = True
        self.attach(vectors)
        return counts

    def attach(self, vectors: WordVectors) -> None:
        """Keep the whole table (memory-mapped) for words outside the vocabulary."""
        if vectors.dim != self.dim:
            raise ValueError(f"word vectors {vectors.source} are {vectors.dim}-d, but this model was built with {self.dim}-d vectors")
        self.table = vectors.matrix

    def forward(self, ids: torch.Tensor, embedded: torch.Tensor, vector_rows: torch.Tensor | None = None) -> torch.Tensor:
        """`embedded` (the trainable rows of `ids`) with each word's vector added.

        `vector_rows` [B, T]: each token's row in the whole table (-1: none); used where the id is
        `<unk>`, so a word outside the vocabulary still gets its vector.
        """
        if vector_rows is not None and self.table is not None:
            outside = (ids == self.unk_id) & (vector_rows >= 0)
            if bool(outside.any()):
                rows = vector_rows[outside].cpu().numpy()
                found = torch.from_numpy(np.asarray(self.table[rows], dtype=np.float32)).to(self.vocab_vectors)
                read = self.vocab_vectors.new_zeros(*ids.shape, self.dim).masked_scatter(outside.unsqueeze(-1), found)
                return self.combine(ids, embedded, read, outside)
        return self.combine(ids, embedded)

    def combine(
        self, ids: torch.Tensor, embedded: torch.Tensor, outside_vectors: torch.Tensor | None = None, outside: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`embedded` plus each word's vector: its vocabulary row's, or where `outside` [B, T] (a word outside the
        vocabulary that the vectors know) `outside_vectors` [B, T, dim] instead, with no trainable row beneath it.

        The ONNX graph (rnn_nlp/onnx/graphs.py, FoldedEmbedding) computes this sum once for every vocabulary id
        with this very code and reads outside words from two graph inputs, filled by the predictor from the same
        table, as this reads them.
        """
        vectors = F.embedding(ids, self.vocab_vectors)
        if outside is not None and outside_vectors is not None:
            mask = outside.unsqueeze(-1)
            vectors = torch.where(mask, outside_vectors, vectors)
            # a word new to the model but not to the vectors: its vector alone, as a vocabulary word
            # with a vector starts (its correction at zero), not <unk>'s row on top
            embedded = embedded.masked_fill(mask, 0.0)
        if self.mode == FROZEN:
            embedded = embedded.masked_fill(self.has_vector[ids].unsqueeze(-1), 0.0)
        return embedded + (self.projection(vectors) if self.projection is not None else vectors)
