"""Decoding answer spans from start and end scores: the best span under a length limit, and the
score of each candidate entity from its mentions (for cloze sets)."""

from __future__ import annotations

import torch


def best_span(start: torch.Tensor, end: torch.Tensor, max_len: int) -> tuple[int, int, float]:
    """(i, j, start[i] + end[j]) maximal over i <= j < i + max_len, for 1-D scores of real tokens only."""
    n = start.numel()
    if n == 0:
        raise ValueError("no tokens to choose a span from")
    scores = start.unsqueeze(1) + end.unsqueeze(0)  # [n, n]: row = start, column = end
    band = torch.ones(n, n, dtype=torch.bool, device=start.device).triu().tril(max_len - 1)
    flat = scores.masked_fill(~band, float("-inf")).flatten()
    k = int(flat.argmax())
    return k // n, k % n, float(flat[k])


def span_scores(start: torch.Tensor, end: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
    """start[i] + end[j] of each (i, j) span (inclusive token indices)."""
    if not spans:
        return start.new_empty(0)
    index = torch.tensor(spans, dtype=torch.long, device=start.device)
    return start[index[:, 0]] + end[index[:, 1]]


def candidate_scores(start: torch.Tensor, end: torch.Tensor, mentions: list[list[tuple[int, int]]], mode: str = "sum") -> torch.Tensor:
    """One score a candidate from the spans of its mentions: the best one ("max"), or all of them
    summed in probability space ("sum": log-sum-exp, as the attentive sum reader adds up a word's
    attention over its occurrences). A candidate without a mention scores -inf."""
    out = start.new_full((len(mentions),), float("-inf"))
    for c, spans in enumerate(mentions):
        if spans:
            s = span_scores(start, end, spans)
            out[c] = s.max() if mode == "max" else torch.logsumexp(s, 0)
    return out


def find_mentions(tokens: list[str], phrase: list[str]) -> list[tuple[int, int]]:
    """(start, end inclusive) of every occurrence of the token sequence `phrase` in `tokens`."""
    m = len(phrase)
    if m == 0:
        return []
    first = phrase[0]
    return [(i, i + m - 1) for i in range(len(tokens) - m + 1) if tokens[i] == first and tokens[i : i + m] == phrase]
