"""Ensembles of taggers (several seeds of one recipe): a chunk or a tag is kept when most members predict it.

Voting needs no common score scale, so members with their own CRFs, or a CRF and a softmax tagger, combine.
For chunk tags (NER) the vote is over whole chunks (start, end, type): a chunk more than half the members
predict is kept. Two such chunks cannot overlap (some member would have predicted both), so the result is
always well-formed IOB2. For plain tags (POS) each token takes its most voted tag (a tie goes to the tag the
earliest member gave).
"""

from __future__ import annotations

from collections import Counter

from rnn_nlp.data.tag_schemes import from_spans, spans


def vote_tags(members: list[list[list[str]]], chunked: bool) -> list[list[str]]:
    """The ensemble's tags: `members[m][s]` is member m's IOB2 (or plain) tags of sentence s; every member tags
    the same sentences, each sentence the same length."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    if len({len(m) for m in members}) != 1:
        raise ValueError(f"ensemble members tagged different numbers of sentences: {sorted({len(m) for m in members})}")
    out = []
    for s, row in enumerate(zip(*members)):
        lengths = {len(tags) for tags in row}
        if len(lengths) != 1:
            raise ValueError(f"sentence {s + 1}: ensemble members gave tag sequences of lengths {sorted(lengths)}")
        (n,) = lengths
        if chunked:
            votes = Counter(chunk for tags in row for chunk in spans(tags, "iob2"))
            kept = [chunk for chunk, count in votes.items() if 2 * count > len(members)]
            out.append(from_spans(n, kept, "iob2"))
        else:
            out.append([Counter(column).most_common(1)[0][0] for column in zip(*row)])
    return out
