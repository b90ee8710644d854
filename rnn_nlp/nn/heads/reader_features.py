"""Hand-made features of each passage token for the reader (DrQA's and Chen, Bolton & Manning 2016's).

Chen et al.'s entity-centric classifier reached most of the attentive reader's accuracy on CNN with a
few features of each candidate: how often it occurs, where it first occurs, how many question words
stand near its mentions, whether its neighbours match the placeholder's. DrQA feeds normalised term
frequency with exact match into its passage encoder. Here they are computed per passage token, so the
same features serve SQuAD: a token inside a mention of a candidate (cloze sets) stands for that
candidate, any other token for its word ("unit" below). Where mentions of two candidates overlap
(CoNLL's "Chicago White Sox" and "White Sox": 831 of the 1,093 cloze test questions have such a pair,
317 with the answer in it), a token stands for the candidate listed later, so a long mention's last
tokens may carry a nested candidate's features. With FEATURES' order:

- log_count: log(1 + occurrences of the unit in the passage) / 3;
- count_share: occurrences of the unit / those of the most frequent unit of its kind (candidate or word);
- first_position: the unit's first occurrence, as a fraction of the passage (0 = its first token);
- is_first: this is the unit's first occurrence;
- local_overlap: share of the question's distinct content words (rnn_nlp.nn.baselines.cloze's rule)
  within `window` tokens either side of this occurrence (a mention's window is around the whole mention);
- best_local_overlap: local_overlap's maximum over the unit's occurrences (the word-overlap baseline's score);
- sentence_overlap: share of the question's content words in this token's sentence;
- left_match, right_match: the word before (after) this occurrence is the word before (after) the
  question's @placeholder (0 without a placeholder: SQuAD);
- in_question: the unit occurs in the question (a candidate as its word sequence), a negative cue for cloze.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rnn_nlp.data.cloze import PLACEHOLDER
from rnn_nlp.nn.baselines.cloze import is_content_word, words_near
from rnn_nlp.nn.heads.span import find_mentions

FEATURES = (
    "log_count",
    "count_share",
    "first_position",
    "is_first",
    "local_overlap",
    "best_local_overlap",
    "sentence_overlap",
    "left_match",
    "right_match",
    "in_question",
)
SENTENCE_END = frozenset({".", "!", "?"})


def sentence_breaks(words: Sequence[str], spans: Sequence[tuple[str, int, int]], context: str) -> list[bool]:
    """Whether a sentence ends after each token: a line break before the next token, or . ! ? as the token."""
    out = []
    for i, (_, _, end) in enumerate(spans):
        gap = context[end : spans[i + 1][1]] if i + 1 < len(spans) else ""
        out.append(words[i] in SENTENCE_END or "\n" in gap)
    return out


def token_features(
    words: Sequence[str],
    question: Sequence[str],
    breaks: Sequence[bool],
    mentions: Sequence[Sequence[tuple[int, int]]] | None = None,
    window: int = 5,
) -> list[list[float]]:
    """[len(words)][len(FEATURES)] features of the passage `words` for the question `question` (both as the
    vocabulary sees them); `breaks` from sentence_breaks; `mentions` the (start, end inclusive) spans of
    each candidate (cloze), or None."""
    n = len(words)
    if n == 0:
        return []
    # each token's unit and the span of its occurrence (a mention, or the token alone)
    unit: list[tuple] = [("word", w) for w in words]
    occurrence = [(i, i) for i in range(n)]
    for c, spans in enumerate(mentions or []):
        for s, e in spans:
            for i in range(s, e + 1):
                unit[i], occurrence[i] = ("candidate", c), (s, e)
    starts: dict[tuple, list[tuple[int, int]]] = {}  # unit -> its occurrences in passage order
    for i in range(n):
        spans = starts.setdefault(unit[i], [])
        if not spans or spans[-1] != occurrence[i]:
            spans.append(occurrence[i])
    most = {kind: max(len(v) for u, v in starts.items() if u[0] == kind) for kind in {u[0] for u in starts}}

    asked = {w for w in question if is_content_word(w)}
    share = 1.0 / max(1, len(asked))

    def near(s: int, e: int) -> float:
        return len(asked & words_near(words, s, e, window)) * share

    local = {span: near(*span) for spans in starts.values() for span in spans}
    best = {u: max(local[span] for span in spans) for u, spans in starts.items()}
    sentence_of, k = [], 0
    for i in range(n):
        sentence_of.append(k)
        k += int(breaks[i])
    sentence_words: dict[int, set[str]] = {}
    for i, w in enumerate(words):
        sentence_words.setdefault(sentence_of[i], set()).add(w)
    sentence_overlap = {s: len(asked & ws) * share for s, ws in sentence_words.items()}

    q = list(question)
    hole = q.index(PLACEHOLDER) if PLACEHOLDER in q else None
    left = q[hole - 1] if hole is not None and hole > 0 else None
    right = q[hole + 1] if hole is not None and hole + 1 < len(q) else None
    asked_words = set(q)
    in_question: dict[tuple, float] = {}
    for u, spans in starts.items():
        if u[0] == "word":
            in_question[u] = float(u[1] in asked_words)
        else:
            s, e = spans[0]
            in_question[u] = float(bool(find_mentions(q, list(words[s : e + 1]))))

    out = []
    for i in range(n):
        u, (s, e) = unit[i], occurrence[i]
        spans = starts[u]
        count = len(spans)
        out.append(
            [
                math.log1p(count) / 3.0,
                count / most[u[0]],
                spans[0][0] / n,
                float(spans[0] == (s, e)),
                local[(s, e)],
                best[u],
                sentence_overlap[sentence_of[i]],
                float(left is not None and s > 0 and words[s - 1] == left),
                float(right is not None and e + 1 < n and words[e + 1] == right),
                in_question[u],
            ]
        )
    return out
