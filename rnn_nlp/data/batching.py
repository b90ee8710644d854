"""Batching for language models: a corpus laid out as parallel streams, cut into BPTT chunks."""

from __future__ import annotations

import random

import torch

from rnn_nlp.errors import DataError


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """[N] token ids -> [batch_size, N // batch_size]: each row a contiguous stretch of the corpus."""
    per_row = ids.numel() // batch_size
    if per_row < 2:
        raise DataError(
            f"{ids.numel()} tokens cannot fill {batch_size} streams of at least 2 tokens; use more text or a smaller batch size"
        )
    return ids[: per_row * batch_size].view(batch_size, per_row).contiguous()


def bptt_schedule(length: int, bptt: int, variation: bool = False, seed: int = 0) -> list[tuple[int, int]]:
    """(start, size) of each chunk over a stream of `length` tokens; inputs [s, s+size), targets shifted by one.

    With `variation`, AWD-LSTM's rule: the base length is `bptt` with probability 0.95, else
    half of it, and each chunk's size is drawn from N(base, 5), at least 5. The draw is seeded so
    that a resumed run replays the very same chunks.
    """
    rng = random.Random(seed)
    chunks = []
    start = 0
    while start < length - 1:
        size = bptt
        if variation:
            base = bptt if rng.random() < 0.95 else bptt / 2
            size = max(5, int(rng.gauss(base, 5)))
        size = min(size, length - 1 - start)
        chunks.append((start, size))
        start += size
    return chunks


class BPTTStream:
    """Iterates (inputs, targets) chunks of one batchified stream, from any chunk index onwards."""

    def __init__(self, data: torch.Tensor, bptt: int, variation: bool = False):
        self.data = data
        self.bptt = bptt
        self.variation = variation

    def schedule(self, seed: int) -> list[tuple[int, int]]:
        return bptt_schedule(self.data.size(1), self.bptt, self.variation, seed)

    def chunk(self, start: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = self.data[:, start : start + size]
        targets = self.data[:, start + 1 : start + 1 + size]
        return inputs.contiguous(), targets.contiguous()

    @property
    def tokens(self) -> int:
        """Number of predicted tokens in one pass over the stream."""
        return self.data.size(0) * (self.data.size(1) - 1)


def length_buckets(lengths: list[int], batch_size: int, seed: int | None = None, pool: int = 50) -> list[list[int]]:
    """Indices grouped into batches of similar length, so little compute goes to padding.

    With a seed (training), examples are shuffled, sorted by length within pools of `pool`
    batches, and the batches themselves shuffled; without one (evaluation), the order is
    sorted by length, deterministic.
    """
    order = list(range(len(lengths)))
    if seed is None:
        order.sort(key=lambda i: lengths[i])
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng = random.Random(seed)
    rng.shuffle(order)
    span = batch_size * pool
    batches = []
    for p in range(0, len(order), span):
        chunk = sorted(order[p : p + span], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def pad_batch(sequences: list[list[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-aligned [B, T] ids padded with `pad_id`, and the [B] lengths."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    ids = torch.full((len(sequences), int(lengths.max())), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return ids, lengths
