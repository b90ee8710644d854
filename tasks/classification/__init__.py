"""Sentence and document classification: the task, its user model and probability-averaged ensembles."""

from rnn_nlp.tasks.classification.ensemble import ClassifierEnsemble
from rnn_nlp.tasks.classification.model import ClassifierModel
from rnn_nlp.tasks.classification.task import ClassificationTask, ensemble_probabilities

__all__ = ["ensemble", "model", "task", "ClassificationTask", "ClassifierModel", "ClassifierEnsemble", "ensemble_probabilities"]

_DEPRECATED = {"ClassifierRun": "ClassifierModel"}


def __getattr__(name: str):
    if name in _DEPRECATED:
        from rnn_nlp.tasks.deprecated import alias

        return alias(__name__, name, _DEPRECATED[name], globals()[_DEPRECATED[name]])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
