"""A cloze reading-comprehension set built from CoNLL-2003 documents (Hermann et al. 2015's construction).

For every sentence of a document that mentions a gold entity (a PER/LOC/ORG/MISC chunk of the NER
tags) also mentioned elsewhere in the document (matched on the lower-cased surface string), one
question: that sentence with the mention replaced by `@placeholder`. The passage is the rest of
the document (that sentence removed), one sentence a line, tokens joined by single spaces. The
answer is the entity; `answers` lists every mention of it in the passage with its character
offset (SQuAD's fields), `candidates` the distinct entities of the passage in order of first
mention. Rules (counted in the log):
- a sentence that mentions the answer entity twice gives no question for that entity (the other
  mention would give the answer away);
- a question keeps at least MIN_QUESTION_WORDS tokens besides the placeholder (no bare datelines);
- a passage offers at least two candidates (else there is nothing to choose);
- at most MAX_PER_DOCUMENT questions per document (a seeded sample) in the valid and test splits, so
  long documents (sports results) do not dominate the scores; the train split keeps every question
  (TRAIN_CAP, None, since version 2 of the set: 8,545 -> 11,566 training questions). The sample is drawn
  for every document of every split whatever TRAIN_CAP is, so valid and test hold exactly the
  questions of version 1.
All documents of the standard train/valid/test files are pooled and split by document (never by
question) with a seeded shuffle, 80/10/10. `conll2003-cloze-anon` replaces every entity by
`@entityN`, numbered per question in a seeded random order (Hermann et al.'s anonymisation).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass

from rnn_nlp.data.splits import split_documents

log = logging.getLogger(__name__)

PLACEHOLDER = "@placeholder"
MIN_QUESTION_WORDS = 4
MAX_PER_DOCUMENT = 15
TRAIN_CAP: int | None = None  # the train split's per-document cap (version 1 of the set: MAX_PER_DOCUMENT)
CLOZE_VERSION = 2  # 1: train capped at 15 a document as valid/test; 2: train uncapped (the fetch cache keeps versions apart)
CLOZE_SEED = 13
COLUMNS = ("id", "question", "context", "answers", "candidates", "document", "answer_type")


@dataclass(frozen=True)
class Mention:
    """An entity chunk: sentence index, token start, token end (exclusive), type and surface text."""

    sentence: int
    start: int
    end: int
    type: str
    text: str

    @property
    def key(self) -> str:
        """The entity this mention names (normalize_entity of its text)."""
        return normalize_entity(self.text)


def normalize_entity(text: str) -> str:
    """The string entities are matched on: lower case, single spaces."""
    return " ".join(text.lower().split())


def entity_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end exclusive, type) of the chunks of IOB2 (or IOB1) tags; an I- after O or another type opens a chunk."""
    spans, start, kind = [], None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and kind == label
        if start is not None and not continues:
            spans.append((start, i, kind))
            start, kind = None, None
        if prefix in ("B", "I") and not continues:
            start, kind = i, label
    return spans


def document_mentions(sentences: list[list[str]], tags: list[list[str]]) -> list[Mention]:
    """Every entity chunk of a document, sentence by sentence."""
    out = []
    for n, (tokens, sent_tags) in enumerate(zip(sentences, tags)):
        for start, end, kind in entity_spans(sent_tags):
            out.append(Mention(n, start, end, kind, " ".join(tokens[start:end])))
    return out


def _words(tokens: list[str], n: int, rename: dict[tuple[int, int], tuple[str, int]]) -> list[tuple[int, str]]:
    """(token index, word) of sentence n; an anonymised entity's tokens become one word."""
    words, i = [], 0
    while i < len(tokens):
        if (n, i) in rename:
            words.append((i, rename[(n, i)][0]))
            i = rename[(n, i)][1]
        else:
            words.append((i, tokens[i]))
            i += 1
    return words


def _passage(
    sentences: list[list[str]], skip: int, rename: dict[tuple[int, int], tuple[str, int]]
) -> tuple[str, dict[tuple[int, int], int]]:
    """The document without sentence `skip`; the character offset of each (sentence, token) kept."""
    lines, offsets, pos = [], {}, 0
    for n, tokens in enumerate(sentences):
        if n == skip:
            continue
        for i, word in _words(tokens, n, rename):
            offsets[(n, i)] = pos
            pos += len(word) + 1
        lines.append(" ".join(w for _, w in _words(tokens, n, rename)))
    return "\n".join(lines), offsets


def document_questions(
    doc_id: str,
    sentences: list[list[str]],
    tags: list[list[str]],
    anonymize: bool = False,
    rng: random.Random | None = None,
    stats: Counter | None = None,
) -> list[dict]:
    """Every cloze question of one document (before the per-document cap), as rows of COLUMNS."""
    stats = stats if stats is not None else Counter()
    rng = rng or random.Random(CLOZE_SEED)
    mentions = document_mentions(sentences, tags)
    by_sentence: dict[int, list[Mention]] = {}
    for m in mentions:
        by_sentence.setdefault(m.sentence, []).append(m)
    rows = []
    for n, tokens in enumerate(sentences):
        here = by_sentence.get(n, [])
        counts = Counter(m.key for m in here)
        for m in here:
            rest = [o for o in mentions if o.sentence != n]
            if not any(o.key == m.key for o in rest):
                continue
            if counts[m.key] > 1:
                stats["answer twice in its sentence"] += 1
                continue
            if len(tokens) - (m.end - m.start) < MIN_QUESTION_WORDS:
                stats["question too short"] += 1
                continue
            order: list[str] = []
            for o in rest:
                if o.key not in order:
                    order.append(o.key)
            if len(order) < 2:
                stats["fewer than two candidates"] += 1
                continue
            rows.append(_question(doc_id, sentences, n, m, mentions, order, anonymize, rng))
    return rows


def _question(
    doc_id: str,
    sentences: list[list[str]],
    n: int,
    m: Mention,
    mentions: list[Mention],
    order: list[str],
    anonymize: bool,
    rng: random.Random,
) -> dict:
    """One row: sentence n with mention m as the placeholder; the passage is every other sentence."""
    rest = [o for o in mentions if o.sentence != n]
    names: dict[str, str] = {}
    rename: dict[tuple[int, int], tuple[str, int]] = {}
    if anonymize:  # every entity of the document, question included, gets a number in a fresh order
        keys = list(dict.fromkeys(o.key for o in mentions))
        numbers = list(range(len(keys)))
        rng.shuffle(numbers)
        names = {key: f"@entity{k}" for key, k in zip(keys, numbers)}
        rename = {(o.sentence, o.start): (names[o.key], o.end) for o in mentions if o != m}
    rename[(n, m.start)] = (PLACEHOLDER, m.end)
    question = " ".join(w for _, w in _words(sentences[n], n, rename))
    context, offsets = _passage(sentences, n, rename)
    surface: dict[str, str] = {}
    for o in rest:
        surface.setdefault(o.key, names.get(o.key, o.text))
    gold = [o for o in rest if o.key == m.key]
    return {
        "id": f"{doc_id}-{n}-{m.start}",
        "question": question,
        "context": context,
        "answers": {"text": [names.get(o.key, o.text) for o in gold], "answer_start": [offsets[(o.sentence, o.start)] for o in gold]},
        "candidates": [surface[k] for k in order],
        "document": doc_id,
        "answer_type": m.type,
    }


def build_cloze(
    docs, anonymize: bool = False, seed: int = CLOZE_SEED, cap: int = MAX_PER_DOCUMENT, train_cap: int | None = TRAIN_CAP
) -> dict[str, dict[str, list]]:
    """Split documents 80/10/10 (seeded), then make each document's questions (at most `cap` in valid and
    test, at most `train_cap` in train; None: all). train_cap == cap gives version 1 of the set."""
    stats: Counter = Counter()
    rng = random.Random(seed)  # the per-document sample: the same questions with and without anonymisation
    train_rng = random.Random(seed + 2)  # the train split's own sample when train_cap is neither cap nor None
    names_rng = random.Random(seed + 1)
    out = {}
    for split, indices in split_documents(len(docs), seed).items():
        columns: dict[str, list] = {c: [] for c in COLUMNS}
        for i in indices:
            doc_id, sentences, tags = docs[i]
            rows = document_questions(doc_id, sentences, tags, anonymize, names_rng, stats)
            keep = list(range(len(rows)))
            if len(rows) > cap:
                # drawn for every split, so that valid's and test's samples do not depend on train_cap
                keep = sorted(rng.sample(range(len(rows)), cap))
            if split == "train" and train_cap != cap:  # also where train_cap < len(rows) <= cap
                if train_cap is None or len(rows) <= train_cap:
                    keep = list(range(len(rows)))
                else:
                    keep = sorted(train_rng.sample(range(len(rows)), train_cap))
            if len(keep) < len(rows):
                stats[f"over the per-document cap [{split}]"] += len(rows) - len(keep)
                rows = [rows[k] for k in keep]
            for row in rows:
                for c in COLUMNS:
                    columns[c].append(row[c])
        out[split] = columns
        log.info("conll2003-cloze [%s]: %d documents, %d questions", split, len(indices), len(columns["id"]))
    log.info("conll2003-cloze: questions not made: %s", ", ".join(f"{k} {v}" for k, v in sorted(stats.items())) or "none")
    return out
