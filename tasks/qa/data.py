"""QA records as model input: tokens with character offsets, gold token spans, candidate mentions, windows.

A passage longer than `data.max_context_tokens` is read in overlapping windows (a new window every
`data.context_stride` tokens, as BERT's SQuAD recipe does), so memory is bounded by the window, not the
passage. Training uses the windows that hold a gold span (with a no-answer option, the others too, with
"no answer" as their target); prediction scores every window and keeps the best answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnn_nlp.data.batching import pad_batch
from rnn_nlp.nn.heads.span import find_mentions
from rnn_nlp.tasks.word_vectors import padded_rows


def char_span_to_tokens(spans: list[tuple[str, int, int]], start: int, end: int) -> tuple[int, int] | None:
    """(first, last) token overlapping characters [start, end), or None when no token does."""
    hit = [i for i, (_, s, e) in enumerate(spans) if s < end and e > start]
    return (hit[0], hit[-1]) if hit else None


def windows(n: int, size: int, stride: int) -> list[int]:
    """Start positions of windows of `size` tokens every `stride` tokens until the passage's end is covered."""
    starts = [0]
    while starts[-1] + size < n:
        starts.append(starts[-1] + stride)
    return starts


@dataclass
class Prepared:
    """One record, tokenized: context tokens (words as the vocabulary sees them) and their char spans."""

    words: list[str]
    spans: list[tuple[str, int, int]]
    c_ids: list[int]
    q_ids: list[int]
    gold: list[tuple[int, int]]  # token spans of the gold answers (empty: unanswerable)
    mentions: list[list[tuple[int, int]]] | None  # per candidate, the token spans of its mentions
    feats: torch.Tensor | None = None  # float32 [T, len(reader_features.FEATURES)] per passage token (head.token_features)
    c_rows: list[int] | None = None  # each passage token's row in backbone.vectors' table (-1: none), with vectors
    q_rows: list[int] | None = None  # the same for the question's tokens


@dataclass
class Example:
    """One window of one record."""

    record: int
    offset: int
    c_ids: list[int]
    q_ids: list[int]
    gold: list[tuple[int, int]]  # window-relative
    mentions: list[list[tuple[int, int]]] | None  # window-relative, spans wholly inside the window
    feats: torch.Tensor | None = None  # [window tokens, F]: a view of the passage's (computed over the whole passage)
    c_rows: list[int] | None = None  # the window's tokens' rows in backbone.vectors' table
    q_rows: list[int] | None = None


def window_examples(n_record: int, prep: Prepared, size: int, stride: int) -> list[Example]:
    """One record's windows as Examples; gold spans and mentions kept only where wholly inside a window."""
    out = []
    for off in windows(len(prep.c_ids), size, stride):
        end = off + size

        def inside(spans, off=off, end=end):
            return [(s - off, e - off) for s, e in spans if s >= off and e < end]

        mentions = [inside(m) for m in prep.mentions] if prep.mentions is not None else None
        feats = prep.feats[off:end] if prep.feats is not None else None
        rows = prep.c_rows[off:end] if prep.c_rows is not None else None
        out.append(Example(n_record, off, prep.c_ids[off:end], prep.q_ids, inside(prep.gold), mentions, feats, rows, prep.q_rows))
    return out


def candidate_mentions(words: list[str], candidates: list[list[str]]) -> list[list[tuple[int, int]]]:
    """Token spans of each candidate's occurrences (its normalised words) in the normalised passage words."""
    return [find_mentions(words, c) for c in candidates]


def make_batch(examples: list[Example], pad_id: int, device: torch.device, with_gold: bool, no_answer: bool) -> dict:
    """Padded question and passage ids (and their rows in backbone.vectors' table, where the examples have
    them); token features [B, T, F] where the examples have them; gold start/end
    multi-hots (column 0: no answer); for cloze, the allowed positions."""
    q_ids, q_len = pad_batch([e.q_ids for e in examples], pad_id)
    c_ids, c_len = pad_batch([e.c_ids for e in examples], pad_id)
    batch = {"q_ids": q_ids.to(device), "q_lengths": q_len, "c_ids": c_ids.to(device), "c_lengths": c_len}
    if examples and all(e.c_rows is not None and e.q_rows is not None for e in examples):  # backbone.vectors' rows, -1 at padding
        batch["c_vector_rows"] = padded_rows([e.c_rows or [] for e in examples], c_ids.size(1)).to(device)
        batch["q_vector_rows"] = padded_rows([e.q_rows or [] for e in examples], q_ids.size(1)).to(device)
    if examples and all(e.feats is not None for e in examples):  # token features, zero at padding
        feats = torch.zeros(len(examples), c_ids.size(1), examples[0].feats.size(1))
        for row, e in enumerate(examples):
            feats[row, : len(e.feats)] = e.feats
        batch["c_feats"] = feats.to(device)
    if with_gold:
        width = 1 + c_ids.size(1)
        start = torch.zeros(len(examples), width, dtype=torch.bool)
        end = torch.zeros(len(examples), width, dtype=torch.bool)
        for row, e in enumerate(examples):
            if e.gold:
                for s, t in e.gold:
                    start[row, 1 + s] = True
                    end[row, 1 + t] = True
            elif no_answer:
                start[row, 0] = end[row, 0] = True
        batch["start_gold"], batch["end_gold"] = start.to(device), end.to(device)
    if any(e.mentions is not None for e in examples):
        # cloze: the softmax runs over the first and last tokens of candidate mentions only
        width = 1 + c_ids.size(1)
        start_ok = torch.zeros(len(examples), width, dtype=torch.bool)
        end_ok = torch.zeros(len(examples), width, dtype=torch.bool)
        for row, e in enumerate(examples):
            if e.mentions is None:
                start_ok[row] = end_ok[row] = True
                continue
            for s, t in [span for spans in e.mentions for span in spans] + e.gold:
                start_ok[row, 1 + s] = end_ok[row, 1 + t] = True
            start_ok[row, 0] = end_ok[row, 0] = no_answer or not (start_ok[row, 1:].any())
        batch["start_allowed"], batch["end_allowed"] = start_ok.to(device), end_ok.to(device)
    return batch
