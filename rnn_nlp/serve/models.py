"""A served model: what it is, the verbs its task supports, and the batchers that run them.

The verbs call nothing but the model's public methods (`predict`, `encode`, and for a language model
`typing_tokens` / `read` / `next_words` through the typing sessions), and answer with the results'
`.to_dict()`: the JSON `rnn-nlp predict` writes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from rnn_nlp.errors import ConfigError
from rnn_nlp.serve.batching import ALONE, BoundedCalls, MicroBatcher
from rnn_nlp.serve.errors import USER_ERRORS
from rnn_nlp.serve.schemas import MAX_TEXTS
from rnn_nlp.serve.sessions import TypingSessions
from rnn_nlp.tasks.classification.model import ClassifierModel
from rnn_nlp.tasks.lm.model import LanguageModel
from rnn_nlp.tasks.model import Model
from rnn_nlp.tasks.qa.model import ReaderModel
from rnn_nlp.tasks.seq2seq.model import Seq2SeqModel
from rnn_nlp.tasks.tagging.model import TaggerModel
from rnn_nlp.version import __version__


@dataclass
class Settings:
    """How the server batches and waits (the CLI's options)."""

    max_batch: int = 32  # inputs per forward pass (1: no micro-batching)
    max_wait_ms: float = 5.0  # how long the first input of a batch waits for company
    max_queue: int = 256  # inputs waiting per model and verb; more: 503
    timeout: float = 30.0  # seconds a request may wait for its results; longer: 503
    max_sessions: int = 1000  # typing sessions held per language model
    session_ttl: float = 600.0  # seconds an unused typing session is kept

    def check(self) -> None:
        """A ConfigError for a queue smaller than the largest request: a request's inputs are queued all or
        none, so one of MAX_TEXTS texts would be refused as busy (503, "try again") forever, on an idle server."""
        if self.max_queue < MAX_TEXTS:
            raise ConfigError(
                f"serve: --queue {self.max_queue} is smaller than the {MAX_TEXTS} texts one request may send"
                f" (such a request could never be queued); give --queue {MAX_TEXTS} or more"
            )


def kind_of(model: Model) -> str:
    """What the page shows for the model: ner, pos, classify, lm, seq2seq, qa, or other (predict only)."""
    if isinstance(model, TaggerModel):
        return "ner" if model.chunked else "pos"
    if isinstance(model, ClassifierModel):
        return "classify"
    if isinstance(model, LanguageModel):
        return "lm"
    if isinstance(model, Seq2SeqModel):
        return "seq2seq"
    if isinstance(model, ReaderModel):
        return "qa"
    return "other"


def verbs_of(model: Model, kind: str) -> list[str]:
    """The endpoints of a model of this kind, besides its page's report."""
    extra = {"lm": ["generate"], "seq2seq": ["translate"], "qa": ["answer"]}.get(kind, [])
    if kind == "lm" and model.vocab.unit == "word":
        extra.append("suggest")
    return ["predict", *extra, "encode"]


def decoding_key(options: dict) -> Hashable:
    """Inputs may share a batch when their decoding options are equal; sampled ones never (one generator a call)."""
    return ALONE if options.get("sample") else tuple(sorted(options.items()))


def _finite(row: list[float]) -> list[float | None]:
    return [round(v, 6) if math.isfinite(v) else None for v in row]


class ServedModel:
    """One loaded model under its name, with a micro-batcher per verb sharing the server's inference executor."""

    def __init__(self, name: str, model: Model, executor: Executor, settings: Settings):
        self.name = name
        self.model = model
        self.kind = kind_of(model)
        self.verbs = verbs_of(model, self.kind)
        self.executor = executor
        self.settings = settings
        size = self._size
        batcher = lambda run: MicroBatcher(run, executor, settings.max_batch, settings.max_wait_ms / 1000, settings.max_queue, size)  # noqa: E731
        # a reader's /answer is its /predict by another name: both routes queue in the one "predict" batcher,
        # so their questions share batches (an "answer" batcher would only split them)
        predicting = [verb for verb in ("predict", "generate", "translate") if verb in self.verbs]
        self.batchers: dict[str, MicroBatcher] = {verb: batcher(self._predict) for verb in predicting}
        self.batchers["encode"] = batcher(self._encode)
        self.sessions = TypingSessions(model, settings.max_sessions, settings.session_ttl) if "suggest" in self.verbs else None
        self.suggestions = BoundedCalls(executor, settings.max_queue)  # /suggest's calls, bounded as a batcher's queue is

    def decoding_work(self, count: int, options: dict) -> tuple[int, int, int]:
        """What decoding `count` inputs with `options` (a request's decoding fields) costs: (work, width,
        tokens), work = count x width x tokens, width = max(beam, num_samples). What the request leaves out
        is the model's default: a run's own beam and max tokens for an encoder-decoder (head.beam,
        head.max_decode_tokens), greedy for a language model (whose route sets max_tokens)."""
        default_beam, default_tokens = 1, 0
        if isinstance(self.model, Seq2SeqModel):
            default_beam, default_tokens = self.model.beam, self.model.config.head.max_decode_tokens
        beam = options.get("beam")
        width = max(default_beam if beam is None else beam, options.get("num_samples", 1), 1)
        tokens = options.get("max_tokens", default_tokens)
        return count * width * tokens, width, tokens

    @staticmethod
    def _size(item: Any) -> int:
        return len(item["context"]) if isinstance(item, dict) else len(item)

    def _predict(self, items: list, options: dict) -> list[dict]:
        return [r.to_dict() for r in self.model.predict(items, **options)]

    def _encode(self, items: list, options: dict) -> list[dict]:
        vectors = self.model.encode(items, pooling=list(options["pooling"]) if options.get("pooling") else None)
        return [{"text": text, "vector": _finite(row.tolist())} for text, row in zip(items, vectors)]

    def warm_up(self) -> None:
        """One prediction before serving: the first call loads what the model reads text with (spaCy's
        tokenizer), which can take long enough on a busy machine to time out a first request."""
        sample: Any = {"question": "who ?", "context": "someone ."} if self.kind == "qa" else "warm up ."
        logging.disable(logging.WARNING)  # the sample's words unknown to the model are no news
        try:
            self.model.predict([sample], **({"max_tokens": 1} if self.kind == "lm" else {}))
        except USER_ERRORS:  # a model that cannot read the sample text still serves what it can
            pass
        finally:
            logging.disable(logging.NOTSET)

    def info(self, record: dict | None = None) -> dict:
        """What /models says of it: task, labels, metrics, versions, endpoints (`record`: its run_record, if read)."""
        m = self.model
        record = record or m.run_record()
        last = record["metrics"][-1] if record["metrics"] else {}
        evaluations = {
            split: {k: v for k, v in (e or {}).items() if isinstance(v, (int, float))} for split, e in record["evaluations"].items()
        }
        return {
            "name": self.name,
            "task": m.task,
            "kind": self.kind,
            "labels": m.labels,
            "unit": m.vocab.unit,
            "vocab_size": len(m.vocab),
            "metrics": {"last_evaluation": last, "evaluations": evaluations},
            "versions": {"served_by": __version__, **record["versions"]},
            "path": str(m.path) if m.path else None,
            "endpoints": {verb: f"/models/{self.name}/{verb}" for verb in self.verbs},
            "page": f"/model/{self.name}",
        }
