"""Chunk tag schemes IOB1, IOB2 and BIOES: conversion between them, and the transitions each allows.

IOB1 (CoNLL-2003's original files): I-X inside a chunk, B-X only to start a chunk that directly
follows another chunk of the same type. IOB2: every chunk starts with B-X. BIOES (also called
IOBES): single-token chunks are S-X, a chunk's last token is E-X. Conversions go through chunk
spans, so any scheme converts to any other. Tags without a prefix (POS tags, "O") pass through.
"""

from __future__ import annotations

import numpy as np

from rnn_nlp.results import Entity, TaggedText

SCHEMES = ("iob1", "iob2", "bioes")
PREFIXES = {"iob1": "IB", "iob2": "IB", "bioes": "BIES"}


def split_tag(tag: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER"; ("O", "") for "O"; ("", tag) for a tag with no chunk prefix."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIES":
        return tag[0], tag[2:]
    return "", tag


def is_chunk_tagset(tags: set[str]) -> bool:
    """True when every tag is O or prefixed B-/I-/E-/S- (a NER-style tag set)."""
    return bool(tags) and all(split_tag(t)[0] for t in tags) and any(t != "O" for t in tags)


def spans(tags: list[str], scheme: str = "iob2") -> list[tuple[int, int, str]]:
    """Chunks as (start, end exclusive, type). Lenient like conlleval: an I-X after O starts a chunk."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
    out: list[tuple[int, int, str]] = []
    start: int | None = None
    kind = ""
    for i, tag in enumerate(tags):
        prefix, label = split_tag(tag)
        if prefix in ("O", ""):
            begins, inside = False, False
        elif scheme == "bioes":
            begins = prefix in "BS" or label != kind or start is None
            inside = True
        else:  # IOB1 and IOB2 differ only in when B- is used; reading them is the same
            begins = prefix == "B" or label != kind or start is None
            inside = True
        if start is not None and (begins or not inside):
            out.append((start, i, kind))
            start = None
        if inside and start is None:
            start, kind = i, label
        if scheme == "bioes" and prefix in "ES" and start is not None:
            out.append((start, i + 1, kind))
            start = None
    if start is not None:
        out.append((start, len(tags), kind))
    return out


def from_spans(n: int, chunks: list[tuple[int, int, str]], scheme: str) -> list[str]:
    """Tags of length `n` in `scheme` for non-overlapping chunks."""
    tags = ["O"] * n
    previous_end, previous_kind = -1, None
    for start, end, kind in sorted(chunks):
        for i in range(start, end):
            tags[i] = f"I-{kind}"
        if scheme == "iob2":
            tags[start] = f"B-{kind}"
        elif scheme == "iob1":
            if previous_end == start and previous_kind == kind:
                tags[start] = f"B-{kind}"
        else:
            if end - start == 1:
                tags[start] = f"S-{kind}"
            else:
                tags[start] = f"B-{kind}"
                tags[end - 1] = f"E-{kind}"
        previous_end, previous_kind = end, kind
    return tags


def convert(tags: list[str], source: str, target: str) -> list[str]:
    """Re-tag one sentence from scheme `source` to scheme `target`."""
    if target not in SCHEMES:
        raise ValueError(f"unknown tag scheme {target!r}; use one of {', '.join(SCHEMES)}")
    if source == target:
        return list(tags)
    return from_spans(len(tags), spans(tags, source), target)


def detect_scheme(sentences: list[list[str]]) -> str:
    """bioes if any E-/S- tag occurs; iob1 if a chunk starts with I- (after O or another type); else iob2."""
    for tags in sentences:
        previous = "O"
        for tag in tags:
            prefix, label = split_tag(tag)
            if prefix in ("E", "S"):
                return "bioes"
            prev_prefix, prev_label = split_tag(previous)
            if prefix == "I" and (prev_prefix in ("O", "") or prev_label != label):
                return "iob1"
            previous = tag
    return "iob2"


def allowed_transitions(tags: list[str], scheme: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start [n], transitions [n, n], end [n]) numpy booleans: which tags may open, follow, close a sentence.

    For IOB2, I-X may only follow B-X or I-X; for BIOES, after B-X or I-X only I-X or E-X, and a
    sentence cannot end inside a chunk. Other schemes (and plain tag sets) allow everything.
    (numpy, not torch: the torch-free ONNX predictor reads this module too; the CRF takes them as tensors.)
    """
    n = len(tags)
    start = np.ones(n, dtype=bool)
    trans = np.ones((n, n), dtype=bool)
    end = np.ones(n, dtype=bool)
    if scheme not in ("iob2", "bioes"):
        return start, trans, end
    parts = [split_tag(t) for t in tags]
    for j, (pj, lj) in enumerate(parts):
        continues = pj in ("I", "E")  # tags that must continue an open chunk of their type
        if continues:
            start[j] = False
        for i, (pi, li) in enumerate(parts):
            open_before = pi in ("B", "I")
            if scheme == "iob2":
                trans[i, j] = not continues or (open_before and li == lj)
            else:
                trans[i, j] = (continues and li == lj) if open_before else not continues
    if scheme == "bioes":
        for i, (pi, _) in enumerate(parts):
            end[i] = pi not in ("B", "I")
    return start, trans, end


def tagged_text(text: str, tokens: list, tags: list[str], probs: list[float], chunked: bool) -> TaggedText:
    """One text's TaggedText from its spaCy tokens (with character offsets), tags and each tag's probability;
    for chunk tags (IOB2) also its entities, each scored by its tokens' mean probability. Shared by the
    PyTorch tagger and the torch-free ONNX predictor."""
    entities = None
    if chunked:
        entities = []
        for s, e, label in spans(tags, "iob2"):
            start, end = tokens[s].idx, tokens[e - 1].idx + len(tokens[e - 1].text)
            entities.append(Entity(text[start:end], label, start, end, s, e, sum(probs[s:e]) / (e - s)))
    return TaggedText(text, [t.text for t in tokens], tags, entities, None if tokens else "no tokens in this text")
