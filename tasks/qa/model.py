"""A trained reader: answers with character offsets and scores for {question, context[, candidates]}."""

from __future__ import annotations

from typing import Any

import torch

from rnn_nlp.data.formats.jsonl import json_object
from rnn_nlp.data.formats.squad import check_record
from rnn_nlp.errors import DataError
from rnn_nlp.results import Answer
from rnn_nlp.tasks.arguments import item_stream
from rnn_nlp.tasks.model import Model

NO_CANDIDATES = (
    "this run was trained to choose among candidate entities (a cloze set); without 'candidates' "
    "the answer is the best-scoring span of the context, which may be any words"
)


class ReaderModel(Model):
    """`rnn_nlp.load(qa_run).predict({"question": ..., "context": ..., "candidates": [...]})` -> Answer.

    One input is a dict; a list of dicts gives a list of answers. `candidates` (optional) restricts
    the answer to those strings' mentions in the context, as cloze runs are trained to answer.
    """

    def is_single(self, inputs: Any) -> bool:
        return isinstance(inputs, dict)

    def read_input(self, line: str, where: str) -> dict:
        """One line of `rnn-nlp predict`'s input: a JSON object {"question", "context", "candidates"?}."""
        return self._record(json_object(line, where), where)

    def _record(self, row: Any, where: str) -> dict:
        """A user's input as a checked record; errors name `where` (an input line or list position)."""
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a mapping with 'question' and 'context', got {type(row).__name__}")
        record = {
            "id": row.get("id") if row.get("id") is not None else where,
            "question": row.get("question"),
            "context": row.get("context"),
            "answers": {"text": [], "answer_start": []},
            "candidates": row.get("candidates") or [],
            "where": where,
        }
        problem = check_record(record, "input")
        if problem:
            raise DataError(problem.replace(f"input: record {record['id']!r}", where))
        return record

    def predict_stream(self, inputs, batch_size: int | None = None, **options):
        """Answers one by one; each input is checked, and named in errors by its position ("input 70")."""
        if self.is_single(inputs) or isinstance(inputs, str):  # a str: one input, refused as not a mapping
            inputs = [inputs]
        records = (
            r if isinstance(r, dict) and "where" in r else self._record(r, f"input {i}")
            for i, r in enumerate(item_stream(inputs, "inputs", lambda item, _: item), start=1)
        )
        return super().predict_stream(records, batch_size, **options)

    def _predict_batch(self, inputs: list[dict], **options) -> list[Answer]:
        if options:
            raise TypeError(f"reader predict takes no options, got {', '.join(options)}")
        task = self._task
        records = inputs  # checked by predict_stream, each with its `where`
        prepared = [task.prepare(r["question"], r["context"], r["answers"], r["candidates"]) for r in records]
        for r, p in zip(records, prepared):
            if not p.c_ids or not p.q_ids:
                raise DataError(f"{r['where']}: the {'context' if not p.c_ids else 'question'} has no tokens")
            if p.mentions is not None and not any(p.mentions):
                raise DataError(
                    f"{r['where']}: none of its candidates occurs in the context (matched as the context's "
                    f"tokens, {'lower-cased' if self.config.data.lowercase else 'case kept'})"
                )
        answers, _ = task.answer(self.module, prepared, [r["context"] for r in records], [r["candidates"] for r in records], self.device)
        warn = self.trained_on_candidates
        return [
            Answer(r["question"], a["text"], a["start"], a["end"], a["score"], NO_CANDIDATES if warn and not r["candidates"] else None)
            for r, a in zip(records, answers)
        ]

    @property
    def trained_on_candidates(self) -> bool:
        """Whether the run's head restricts answers to candidates (cloze sets)."""
        return bool(self.config.head.restrict_to_candidates) and self._task.cloze()

    def _check_input(self, item: Any, where: str) -> Any:
        return item  # a record, checked by predict_stream

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return [self._task.question_ids(t) for t in texts]

    def _own_pooling(self) -> torch.nn.Module | None:
        return self.module.head.question
