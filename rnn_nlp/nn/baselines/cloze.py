"""Two non-neural answers to a cloze question, the baselines readers are compared with (Hermann et al. 2015).

- most frequent: the candidate entity mentioned most often in the passage (ties: the earlier candidate;
  cloze candidates come in order of first mention);
- word overlap: the candidate with the most distinct question words (lower-cased; the placeholder,
  punctuation and spaCy's English stop words left out) within WINDOW tokens either side of one of its
  mentions (best mention counts; ties: the more frequent candidate, then the earlier one).
Passages and questions are split on whitespace (the cloze text is already tokenized).
"""

from __future__ import annotations

import string
from functools import lru_cache

from rnn_nlp.data.cloze import PLACEHOLDER, normalize_entity
from rnn_nlp.nn.heads.span import find_mentions

WINDOW = 10


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's English stop words (loaded once)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def is_content_word(word: str) -> bool:
    """A question word that counts for overlap: not the placeholder, not a stop word, not punctuation alone."""
    return word != PLACEHOLDER and word not in stop_words() and not all(ch in string.punctuation for ch in word)


def words_near(words: list[str], start: int, end: int, window: int) -> set[str]:
    """The distinct words within `window` tokens before `start` or after `end` (inclusive span), the span left out."""
    return set(words[max(0, start - window) : start]) | set(words[end + 1 : end + 1 + window])


def mention_spans(context: str, candidates: list[str]) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """The passage's lower-cased words and each candidate's (start, end inclusive) mentions in them."""
    words = context.lower().split()
    return words, [find_mentions(words, normalize_entity(c).split()) for c in candidates]


def most_frequent(context: str, candidates: list[str]) -> str:
    """The candidate mentioned most often in the passage (ties: the earlier candidate)."""
    _, mentions = mention_spans(context, candidates)
    counts = [len(m) for m in mentions]
    return candidates[max(range(len(candidates)), key=lambda i: (counts[i], -i))]


def word_overlap(question: str, context: str, candidates: list[str], window: int = WINDOW) -> str:
    """The candidate with the most question content words near one of its mentions (ties: more mentions, then earlier)."""
    words, mentions = mention_spans(context, candidates)
    asked = {w for w in question.lower().split() if is_content_word(w)}

    def overlap(spans: list[tuple[int, int]]) -> int:
        best = 0
        for s, e in spans:
            best = max(best, len(asked & words_near(words, s, e, window)))
        return best

    scores = [(overlap(m), len(m), -i) for i, m in enumerate(mentions)]
    return candidates[max(range(len(candidates)), key=lambda i: scores[i])]
