"""Several trained classification runs used as one model: their probabilities averaged.

ULMFiT's published figures are a forward + backward ensemble, and on Rotten Tomatoes only an
ensemble beats TF-IDF clearly (README, Results). `rnn-nlp evaluate RUN --ensemble RUN2 ...` and
`rnn-nlp predict RUN FILE --ensemble RUN2 ...` go through here. Each member reads the texts with its
own tokenizer and vocabulary, so members may come from different LMs or poolings; they must share
the label set and the kind of head (single- or multi-label). Multi-label ensembles choose labels with
the first run's head.threshold. `evaluate` needs every member's split to be the same texts and labels (--data gives them one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from rnn_nlp.data.inputs import chunked
from rnn_nlp.errors import RnnNlpError
from rnn_nlp.results import Classification
from rnn_nlp.tasks.arguments import check_batch_size, item_stream
from rnn_nlp.tasks.classification.model import ClassifierModel
from rnn_nlp.tasks.classification.task import ClassificationTask, ensemble_probabilities
from rnn_nlp.tasks.model import PREDICT_BATCH


def check_members(names: list[str], runs: list) -> None:
    """Refuse members that are not classification runs or that disagree on labels or head kind."""
    for name, run in zip(names, runs):
        if not isinstance(run, ClassifierModel):
            raise RnnNlpError(f"--ensemble: {name} is a '{run.task}' run; only classification runs can be ensembled")
    first = runs[0]
    for name, run in zip(names[1:], runs[1:]):
        if run.labels != first.labels:
            raise RnnNlpError(f"--ensemble: {name} has labels {run.labels}, {names[0]} has {first.labels}")
        if run.multi_label != first.multi_label:
            raise RnnNlpError(f"--ensemble: {name} and {names[0]} differ in single- vs multi-label heads")


def same_split(a: ClassificationTask, b: ClassificationTask, split: str, gold_a: list, gold_b: list) -> bool:
    """Whether two runs' `split` is the same texts with the same labels (`gold_*` from predict_split); labels
    alone can agree by chance, since a seeded stratified split depends only on size and labels."""
    return list(gold_a) == list(gold_b) and list(a.records()[split]["text"]) == list(b.records()[split]["text"])


def ensemble_split(names: list[str], tasks: list, models: list, split: str, device: torch.device) -> tuple[list, list, torch.Tensor]:
    """(gold, predicted labels, averaged probabilities) of the members (tasks and their networks) on one split."""
    gold, probs = None, []
    for name, task, model in zip(names, tasks, models):
        g, _, p, _ = task.predict_split(model, split, device)
        if gold is not None and not same_split(tasks[0], task, split, gold, g):
            raise RnnNlpError(
                f"--ensemble: {name}'s {split} split is not the same texts and labels as {names[0]}'s (use --data to give them one)"
            )
        gold = gold if gold is not None else g
        probs.append(p)
    mean = ensemble_probabilities(probs)
    return gold, tasks[0].decide(mean), mean


class ClassifierEnsemble:
    """Loaded classification runs (`rnn_nlp.load`) as one model: `predict` averages their probabilities."""

    def __init__(self, runs: list[ClassifierModel], names: list[str] | None = None):
        self.names = names or [str(r.path) for r in runs]
        check_members(self.names, runs)
        self.runs = runs

    @property
    def labels(self) -> list[str]:
        """The members' shared labels."""
        return self.runs[0].labels

    def predict(self, texts: str | Iterable[str], batch_size: int = PREDICT_BATCH) -> Classification | list[Classification]:
        """One text -> one Classification (probabilities averaged over the members); a list -> a list."""
        if isinstance(texts, str):
            return self._predict_batch([texts])[0]
        return list(self.predict_stream(texts, batch_size))

    def predict_stream(self, texts: Iterable[str], batch_size: int = PREDICT_BATCH) -> Iterator[Classification]:
        """Classifications one by one as their batch is done (a str is one text)."""
        check_batch_size(batch_size)
        if isinstance(texts, str):
            texts = [texts]
        for chunk in chunked(item_stream(texts, "texts"), batch_size):
            yield from self._predict_batch(chunk)

    def _predict_batch(self, texts: list[str]) -> list[Classification]:
        mean = ensemble_probabilities([run.probabilities(texts) for run in self.runs])
        chosen = self.runs[0].decide(mean)
        empty = set(self.runs[0]._task.encode_texts(texts)[1])
        return [
            Classification(
                t,
                label,
                {n: round(float(v), 6) for n, v in zip(self.labels, p)},
                "no tokens in this text" if i in empty else None,
                members=len(self.runs),
            )
            for i, (t, label, p) in enumerate(zip(texts, chosen, mean))
        ]

    def evaluate_split(self, split: str, data: str | None = None) -> tuple[list, list, torch.Tensor, list]:
        """(gold, predicted labels, averaged probabilities, member tasks) on `split` of the runs' data or of `data`."""
        tasks = [run._fresh_task() if data else run._task for run in self.runs]
        if data:
            for task in tasks:
                task.use_data(data)
        gold, pred, mean = ensemble_split(self.names, tasks, [r.module for r in self.runs], split, self.runs[0].device)
        return gold, pred, mean, tasks
