"""Sentence and document classification: the task, its user model and probability-averaged ensembles."""

from rnn_nlp.tasks.classification.ensemble import ClassifierEnsemble
from rnn_nlp.tasks.classification.model import ClassifierModel
from rnn_nlp.tasks.classification.task import ClassificationTask, ensemble_probabilities
from rnn_nlp.tasks.deprecated import old_names

__all__ = ["ensemble", "model", "task", "ClassificationTask", "ClassifierModel", "ClassifierEnsemble", "ensemble_probabilities"]

__getattr__ = old_names(__name__, {"ClassifierRun": "ClassifierModel"}, globals())
