"""Extractive question answering (`qa`): a reader over the shared backbone, on cloze sets and SQuAD files.

Data come from `conll2003-cloze`, SQuAD v1.1/v2.0 JSON files or folders, or hub names (rnn_nlp.data.qa).
Evaluation: exact match and token F1 as SQuAD's official script defines them (rnn_nlp.metrics.squad),
and for cloze sets the accuracy of the chosen candidate. `predict` reads JSON lines
{"question": ..., "context": ..., maybe "candidates": [...]} and writes the answer, its character
offsets and its score. A backbone can start from a pretrained LM (`pretrained:`), or from one this run
trains first on the training passages plus other corpora (`stages: [{name: lm_pretrain, ...}, {name: task}]`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from rnn_nlp.config import RunConfig
from rnn_nlp.data.batching import length_buckets
from rnn_nlp.data.cloze import normalize_entity
from rnn_nlp.data.qa import load_qa_corpus
from rnn_nlp.data.tokenize import normalize_word, token_spans
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError, DataError
from rnn_nlp.files import json_text, replace_text
from rnn_nlp.metrics.squad import squad_scores
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.reader import ReaderHead, ReaderHeadConfig, ReaderNetwork
from rnn_nlp.nn.heads.reader_features import FEATURES, sentence_breaks, token_features
from rnn_nlp.nn.heads.span import best_span, candidate_scores
from rnn_nlp.tasks.base import Task, optional_entry, read_vocab_json, vocab_entry
from rnn_nlp.tasks.qa.data import Example, Prepared, candidate_mentions, char_span_to_tokens, make_batch, window_examples
from rnn_nlp.tasks.qa.model import ReaderModel
from rnn_nlp.tasks.word_vectors import attach_vectors, vector_rows
from rnn_nlp.validation import positive_keys, probability_keys

log = logging.getLogger(__name__)


@dataclass
class QADataConfig:
    """The `data:` section of a qa config: where the records come from, tokenization, windows, pretraining."""

    name: str = "conll2003-cloze"  # a fetcher name, a SQuAD JSON file or folder (train*.json, dev*.json), or a hub name
    hub_config: str | None = None
    tokenizer: Literal["spacy", "whitespace"] = "spacy"
    lowercase: bool = True
    normalize_numbers: bool = True
    vocab_size: int | None = 30000
    min_count: int = 2
    max_train_examples: int | None = None  # the first N training questions only (quick runs)
    max_context_tokens: int = 400  # longer passages are read in windows of this many tokens ...
    context_stride: int = 200  # ... a new window every this many tokens
    max_question_tokens: int = 64  # longer questions keep their first N tokens
    skip_bad: bool = False  # leave bad records out (counted in the log) instead of stopping with an error
    # Accepted shorthand of `stages: [{name: lm_pretrain, epochs: N, corpora: [...], time_budget_s: S}, {name: task}]`
    # (an LM on the training passages plus these corpora first), resolved into `stages:` when the config is built.
    pretrain_epochs: int = 0
    pretrain_corpora: list[str] = field(default_factory=list)
    pretrain_time_budget_s: float | None = None


class QATask(Task):
    """Extractive and cloze QA: records -> windows -> a ReaderNetwork; EM/F1 (and cloze accuracy); predict from JSON lines."""

    name = "qa"
    data_config = QADataConfig
    head_config = ReaderHeadConfig
    model_class = ReaderModel
    selection = ("f1", "max")
    examples_name = "questions"

    def __init__(self, cfg: RunConfig, vocab_json: dict | None = None):
        super().__init__(cfg)
        d = cfg.data
        saved = read_vocab_json(vocab_json, ("tokens",))
        self.vocab = vocab_entry(saved, "tokens") if saved is not None else None
        self._no_answer: bool | None = optional_entry(saved, "no_answer", (bool,)) if saved is not None else None
        self._cloze: bool | None = optional_entry(saved, "cloze", (bool,)) if saved is not None else None
        self._records: dict | None = None
        self._prepared: dict[str, list[Prepared]] = {}
        self._examples: dict[str, list[Example]] = {}
        self.data_name = d.name

    @staticmethod
    def validate_config(cfg: RunConfig, source: str) -> None:
        positive_keys(
            cfg,
            source,
            [
                "data.vocab_size",
                "data.min_count",
                "data.max_train_examples",
                "data.max_context_tokens",
                "data.context_stride",
                "data.max_question_tokens",
                "data.pretrain_time_budget_s",
                "head.max_answer_len",
                "head.context_size",
                "head.feature_window",
            ],
        )
        probability_keys(cfg, source, ["head.dropout"])
        if cfg.data.context_stride > cfg.data.max_context_tokens:
            raise ConfigError(f"{source}: data.context_stride must not exceed data.max_context_tokens (windows would leave gaps)")
        if cfg.data.pretrain_epochs < 0:
            raise ConfigError(f"{source}: data.pretrain_epochs must be >= 0")
        from rnn_nlp.nn.pooling import POOLINGS

        bad = [k for k in cfg.head.question_pooling if k not in POOLINGS] or ([] if cfg.head.question_pooling else ["(none)"])
        if bad:
            raise ConfigError(f"{source}: head.question_pooling: unknown {', '.join(bad)}; choose from {', '.join(POOLINGS)}")

    # ---- data ------------------------------------------------------------------------
    def records(self) -> dict:
        if self._records is None:
            d = self.cfg.data
            self._records = load_qa_corpus(d.name, d.hub_config, d.skip_bad)
            if d.max_train_examples:
                self._records["train"] = {k: v[: d.max_train_examples] for k, v in self._records["train"].items()}
        return self._records

    def split_records(self, split: str) -> dict | None:
        return self.records().get(split)

    def use_data(self, name: str) -> None:
        """Evaluate on other data (`rnn-nlp evaluate --data`); a single file is read whole as every split."""
        d = self.cfg.data
        self._records = load_qa_corpus(name, d.hub_config, d.skip_bad, whole=True)
        self._prepared, self._examples, self.data_name = {}, {}, name

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """(token, start, end) of each token of `text`, split as data.tokenizer splits."""
        return token_spans(text, self.cfg.data.tokenizer)

    def word(self, token: str) -> str:
        """A token as the vocabulary sees it (data.lowercase, data.normalize_numbers)."""
        return normalize_word(token, self.cfg.data.lowercase, self.cfg.data.normalize_numbers)

    def token_vocab(self) -> Vocab:
        if self.vocab is None:
            d = self.cfg.data
            train = self.records()["train"]
            texts = list(dict.fromkeys(train["context"])) + list(train["question"])
            words = ([self.word(t) for t, _, _ in self.tokens(x)] for x in texts)
            self.vocab = Vocab.build(words, d.vocab_size, d.min_count)
            log.info("vocabulary: %d words", len(self.vocab))
        return self.vocab

    def no_answer(self) -> bool:
        """Whether the reader has a no-answer option: head.no_answer, or (null) whether training has unanswerable questions."""
        if self._no_answer is None:
            chosen = self.cfg.head.no_answer
            if chosen is None:
                chosen = any(not a["text"] for a in self.records()["train"]["answers"])
                log.info("no-answer option %s (unanswerable questions in the training data: %s)", "on" if chosen else "off", chosen)
            self._no_answer = chosen
        return self._no_answer

    def cloze(self) -> bool:
        """Whether training questions came with candidate answers (a cloze set); runs saved before this
        was recorded are judged by their data name."""
        if self._cloze is None:
            if self._records is None and self.vocab is not None:
                self._cloze = "cloze" in self.cfg.data.name
            else:
                self._cloze = any(self.records()["train"]["candidates"])
        return self._cloze

    def vocab_json(self) -> dict:
        return {"tokens": self.token_vocab().to_json(), "no_answer": self.no_answer(), "cloze": self.cloze()}

    def question_words(self, question: str) -> list[str]:
        """A question's words as the vocabulary sees them, all of them (the token features read them uncut)."""
        return [self.word(t) for t, _, _ in self.tokens(question)]

    def question_ids(self, question: str, words: list[str] | None = None) -> list[int]:
        """A question's token ids (normalised words, the first data.max_question_tokens); `words`: its question_words, if at hand."""
        words = self.question_words(question) if words is None else words
        return self.token_vocab().encode(words[: self.cfg.data.max_question_tokens])

    def prepare(self, question: str, context: str, answers: dict, candidates: list[str]) -> Prepared:
        """One record tokenized: passage words, spans and ids, question ids, gold token spans, candidate mentions."""
        spans = self.tokens(context)
        words = [self.word(t) for t, _, _ in spans]
        gold = []
        for text, start in zip(answers["text"], answers["answer_start"]):
            span = char_span_to_tokens(spans, start, start + len(text))
            if span is not None and span not in gold:
                gold.append(span)
        mentions = None
        if candidates and self.cfg.head.restrict_to_candidates:  # each candidate tokenized as the passage is
            mentions = candidate_mentions(words, [[self.word(t) for t, _, _ in self.tokens(c)] for c in candidates])
        asked = self.question_words(question)  # tokenized once, for the ids and the features
        feats = None
        if self.cfg.head.token_features:  # over the whole passage, before windows; the question's words uncut
            rows = token_features(words, asked, sentence_breaks(words, spans, context), mentions, self.cfg.head.feature_window)
            # float32 [T, F]: a tenth of the memory of Python floats (SQuAD's train set: gigabytes), windows are views
            feats = torch.tensor(rows, dtype=torch.float32).reshape(len(words), len(FEATURES))
        q_ids = self.question_ids(question, asked)
        c_rows = vector_rows(self.cfg, [t for t, _, _ in spans], words)
        q_rows = (
            vector_rows(self.cfg, [t for t, _, _ in self.tokens(question)][: len(q_ids)], asked[: len(q_ids)])
            if c_rows is not None
            else None
        )
        return Prepared(words, spans, self.token_vocab().encode(words), q_ids, gold, mentions, feats, c_rows, q_rows)

    def prepared(self, split: str) -> list[Prepared]:
        """Every record of a split, prepared (cached); an empty split is a DataError."""
        if split not in self._prepared:
            rec = self.records().get(split)
            if not rec or not rec["id"]:
                raise DataError(f"{self.data_name}: no questions in the {split} split")
            self._prepared[split] = [self.prepare(*row) for row in zip(rec["question"], rec["context"], rec["answers"], rec["candidates"])]
        return self._prepared[split]

    def examples(self, split: str) -> list[Example]:
        """The windows of a split; for training only those with a target (a gold span, or no-answer)."""
        if split not in self._examples:
            d = self.cfg.data
            out = []
            for i, prep in enumerate(self.prepared(split)):
                out.extend(window_examples(i, prep, d.max_context_tokens, d.context_stride))
            if split == "train":
                kept = [e for e in out if e.gold or self.no_answer()]
                if len(kept) < len(out):
                    log.info(
                        "%s [train]: %d of %d windows hold no answer and are not trained on", self.data_name, len(out) - len(kept), len(out)
                    )
                if not kept:
                    raise DataError(f"{self.data_name}: no training question has an answer the tokenizer can find")
                out = kept
            self._examples[split] = out
        return self._examples[split]

    def batches(
        self, examples: list[Example], batch_size: int, seed: int | None, device: torch.device, start: int = 0, with_gold: bool = True
    ) -> Iterator[tuple[list[int], dict]]:
        for rows in length_buckets([len(e.c_ids) for e in examples], batch_size, seed)[start:]:
            chosen = [examples[i] for i in rows]
            yield rows, make_batch(chosen, self.token_vocab().pad_id, device, with_gold, self.no_answer())

    # ---- model and training -------------------------------------------------------------
    def build_model(self) -> ReaderNetwork:
        vocab = self.token_vocab()
        backbone = Backbone(self.cfg.backbone, len(vocab), vocab.pad_id)
        attach_vectors(self.cfg, backbone, vocab)
        if len(backbone.directions) == 1:
            log.warning(
                "the reader sees only the %s direction of the backbone; "
                "backbone.direction: both reads each word in context from both sides",
                backbone.directions[0],
            )
        head = ReaderHead(backbone.output_dim, backbone.input_dim, self.cfg.head, backbone.directions, self.no_answer(), vocab.unk_id)
        return ReaderNetwork(backbone, head)

    def steps_per_epoch(self) -> int:
        return -(-len(self.examples("train")) // self.cfg.trainer.batch_size)

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterator[dict]:
        for _, batch in self.batches(self.examples("train"), self.cfg.trainer.batch_size, self.epoch_seed(epoch), device, start_step):
            yield batch

    def lm_text(self) -> tuple[dict[str, list[str]], dict]:
        """The distinct passage lines of train and valid, words as the reader's vocabulary sees them."""

        def lines(split: str) -> list[str]:
            seen = dict.fromkeys(line for c in dict.fromkeys(self.records()[split]["context"]) for line in c.split("\n") if line.strip())
            return [" ".join(self.word(t) for t, _, _ in self.tokens(line)) for line in seen]

        return {"train": lines("train"), "valid": lines("valid")}, {}

    # ---- use ----------------------------------------------------------------------------
    @torch.no_grad()
    def _scored_windows(
        self, model: ReaderNetwork, prepared: list[Prepared], device: torch.device
    ) -> Iterator[tuple[Example, torch.Tensor, torch.Tensor, float | None]]:
        """Every window of every record, scored: (window, start logits [1 + n], end logits [1 + n], its loss
        or None when it has no target). The one loop behind `answer` and `candidate_probabilities`."""
        was_training = model.training
        model.eval()
        d = self.cfg.data
        examples = [e for i, p in enumerate(prepared) for e in window_examples(i, p, d.max_context_tokens, d.context_stride)]
        try:
            for rows, batch in self.batches(examples, self.cfg.trainer.eval_batch_size, None, device):
                out = model(batch)
                losses = out["loss_per_row"].cpu()
                for k, r in enumerate(rows):
                    e = examples[r]
                    n = len(e.c_ids)
                    has_target = bool(e.gold) or self.no_answer()
                    start, end = out["start_logits"][k].float().cpu(), out["end_logits"][k].float().cpu()
                    yield e, start[: n + 1], end[: n + 1], float(losses[k]) if has_target else None
        finally:
            model.train(was_training)

    def answer(
        self, model: ReaderNetwork, prepared: list[Prepared], contexts: list[str], candidates: list[list[str]], device: torch.device
    ) -> tuple[list[dict], float]:
        """Best answer per record ({text, start, end, score}; text "" for no answer) and the mean loss of windows with a target."""
        h = self.cfg.head
        best: list[dict | None] = [None] * len(prepared)
        null: list[float] = [float("inf")] * len(prepared)
        loss_sum, loss_n = 0.0, 0
        for e, start, end, loss in self._scored_windows(model, prepared, device):
            if loss is not None:
                loss_sum += loss
                loss_n += 1
            if self.no_answer():
                null[e.record] = min(null[e.record], float(start[0] + end[0]))
            found = self._window_answer(e, start[1:], end[1:], candidates[e.record], h)
            if found and (best[e.record] is None or found["score"] > best[e.record]["score"]):
                best[e.record] = found
        answers = []
        for i, (prep, found) in enumerate(zip(prepared, best)):
            if found is None or (self.no_answer() and null[i] > found["score"]):
                answers.append({"text": "", "start": None, "end": None, "score": round(null[i], 4) if self.no_answer() else None})
                continue
            s, t = prep.spans[found["first"]][1], prep.spans[found["last"]][2]
            text = found.get("candidate") or contexts[i][s:t]
            answers.append({"text": text, "start": s, "end": t, "score": round(found["score"], 4)})
        return answers, loss_sum / max(1, loss_n)

    def candidate_probabilities(self, model: ReaderNetwork, split: str, device: torch.device) -> list[torch.Tensor]:
        """Per record of a cloze split, the reader's probability of each of its candidates [n_candidates]:
        a softmax over the candidates' scores (`head.candidate_score` over their mentions, the best window
        where a passage is read in several), as `answer` ranks them; a candidate never mentioned gets 0.
        What an ensemble of readers averages (`ensemble_candidates`)."""
        if not self.cloze():
            raise ConfigError(f"candidate probabilities need a cloze set (questions with candidates); {self.data_name} has none")
        rec = self.records()[split]
        best = [torch.full((len(c),), float("-inf")) for c in rec["candidates"]]
        for e, start, end, _ in self._scored_windows(model, self.prepared(split), device):
            if e.mentions is not None:
                scores = candidate_scores(start[1:], end[1:], e.mentions, self.cfg.head.candidate_score)
                best[e.record] = torch.maximum(best[e.record], scores)
        return [b.softmax(0) if torch.isfinite(b).any() else torch.zeros_like(b) for b in best]

    def _window_answer(self, e: Example, start: torch.Tensor, end: torch.Tensor, candidates: list[str], h: ReaderHeadConfig) -> dict | None:
        if e.mentions is not None:
            scores = candidate_scores(start, end, e.mentions, h.candidate_score)
            if not torch.isfinite(scores).any():
                return None  # no candidate is mentioned in this window
            c = int(scores.argmax())
            spans = e.mentions[c]
            first, last = max(spans, key=lambda st: float(start[st[0]] + end[st[1]]))
            return {"first": e.offset + first, "last": e.offset + last, "score": float(scores[c]), "candidate": candidates[c]}
        i, j, score = best_span(start, end, h.max_answer_len)
        return {"first": e.offset + i, "last": e.offset + j, "score": score}

    def predict_split(self, model: ReaderNetwork, split: str, device: torch.device) -> tuple[list[dict], float]:
        rec = self.records()[split]
        return self.answer(model, self.prepared(split), rec["context"], rec["candidates"], device)

    def evaluate(self, model: ReaderNetwork, split: str, device: torch.device) -> dict[str, float]:
        answers, loss = self.predict_split(model, split, device)
        return self.metrics(split, answers, loss)

    def metrics(self, split: str, answers: list[dict], loss: float) -> dict[str, float]:
        rec = self.records()[split]
        golds = [a["text"] for a in rec["answers"]]
        out = {"loss": loss, **squad_scores([a["text"] for a in answers], golds)}
        cloze = [i for i, c in enumerate(rec["candidates"]) if c and golds[i]]
        if cloze:
            right = sum(normalize_entity(answers[i]["text"]) == normalize_entity(golds[i][0]) for i in cloze)
            out["accuracy"] = right / len(cloze)
        return out

    def report(self, model: ReaderNetwork, split: str, device: torch.device, out_dir: Path) -> dict:
        """Metrics, and the predictions as SQuAD's {id: answer} JSON in out_dir/predictions-<split>.json."""
        answers, loss = self.predict_split(model, split, device)
        metrics: dict = self.metrics(split, answers, loss)
        ids = self.records()[split]["id"]
        path = out_dir / f"predictions-{split}.json"
        replace_text(path, json_text({i: a["text"] for i, a in zip(ids, answers)}, indent=0) + "\n")
        metrics["report"] = f"{len(ids)} questions of {self.data_name} [{split}]; predictions written to {path}"
        return metrics


def ensemble_candidates(members: list[list[torch.Tensor]]) -> list[int]:
    """A probability-averaged ensemble of cloze readers (several seeds, as for classifiers'
    `ensemble_probabilities`): each member gives `candidate_probabilities` for the same records in the same
    order; per record, the index of the candidate with the highest mean probability, or -1 where no member
    found any candidate in the passage (all zero, or no candidates): no answer, as `answer` gives "" there."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    sizes = {tuple(len(p) for p in m) for m in members}
    if len(sizes) != 1:
        raise ValueError("ensemble members must score the same records and candidates")
    picks = []
    for row in zip(*members):
        mean = torch.stack(row).mean(0)
        picks.append(int(mean.argmax()) if mean.numel() and float(mean.max()) > 0 else -1)
    return picks
