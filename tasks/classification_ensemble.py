"""Several trained classification runs used as one model: their probabilities averaged.

ULMFiT's published figures are a forward + backward ensemble, and on Rotten Tomatoes only an
ensemble beats TF-IDF clearly (README, Results). `rnn-nlp evaluate RUN --ensemble RUN2 ...` and
`rnn-nlp predict RUN FILE --ensemble RUN2 ...` go through here. Each member reads the texts with its
own tokenizer and vocabulary, so members may come from different LMs or poolings; they must share
the label set and the kind of head (single- or multi-label). Multi-label ensembles choose labels with
the first run's head.threshold. `evaluate` needs every member's split to be the same texts and labels (--data gives them one).
"""

from __future__ import annotations

from typing import Iterator

import torch

from rnn_nlp.errors import RnnNlpError
from rnn_nlp.tasks.classification import ClassificationTask, ensemble_probabilities


def check_members(names: list[str], tasks: list) -> None:
    """Refuse members that are not classification runs or that disagree on labels or head kind."""
    for name, task in zip(names, tasks):
        if not isinstance(task, ClassificationTask):
            raise RnnNlpError(f"--ensemble: {name} is a '{task.cfg.task}' run; only classification runs can be ensembled")
    first = tasks[0]
    for name, task in zip(names[1:], tasks[1:]):
        if task.label_names() != first.label_names():
            raise RnnNlpError(f"--ensemble: {name} has labels {task.label_names()}, {names[0]} has {first.label_names()}")
        if task.multi_label != first.multi_label:
            raise RnnNlpError(f"--ensemble: {name} and {names[0]} differ in single- vs multi-label heads")


def same_split(a: ClassificationTask, b: ClassificationTask, split: str, gold_a: list, gold_b: list) -> bool:
    """Whether two runs' `split` is the same texts with the same labels (`gold_*` from predict_split); labels
    alone can agree by chance, since a seeded stratified split depends only on size and labels."""
    return list(gold_a) == list(gold_b) and list(a.records()[split]["text"]) == list(b.records()[split]["text"])


def ensemble_split(names: list[str], tasks: list, models: list, split: str, device: torch.device) -> tuple[list, list, torch.Tensor]:
    """(gold, predicted labels, averaged probabilities) of the members on one split of their data."""
    check_members(names, tasks)
    gold, probs = None, []
    for name, task, model in zip(names, tasks, models):
        g, _, p, _ = task.predict_split(model, split, device)
        if gold is not None and not same_split(tasks[0], task, split, gold, g):
            raise RnnNlpError(f"--ensemble: {name}'s {split} split is not the same texts and labels as {names[0]}'s (use --data to give them one)")
        gold = gold if gold is not None else g
        probs.append(p)
    mean = ensemble_probabilities(probs)
    return gold, tasks[0].decide(mean), mean


def ensemble_texts(names: list[str], tasks: list, models: list, texts: list[str], device: torch.device) -> Iterator[dict]:
    """One dict per text, as `ClassificationTask.predict_texts` writes it, from the averaged probabilities."""
    check_members(names, tasks)
    streams = [task.predict_texts(model, texts, device) for task, model in zip(tasks, models)]
    labels = tasks[0].label_names()
    for rows in zip(*streams):
        mean = ensemble_probabilities([torch.tensor([r["probabilities"][n] for n in labels]) for r in rows])
        row = {
            "text": rows[0]["text"],
            "label": tasks[0].decide(mean.unsqueeze(0))[0],
            "probabilities": {n: round(float(v), 6) for n, v in zip(labels, mean)},
            "members": len(rows),
        }
        warning = next((r["warning"] for r in rows if "warning" in r), None)
        yield {**row, **({"warning": warning} if warning else {})}
