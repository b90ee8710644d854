"""Sequence tagging: the POS and NER tasks, their evaluation (seqeval, scikit-learn) and their user model."""

from rnn_nlp.tasks.deprecated import old_names
from rnn_nlp.tasks.tagging.evaluation import TaggingEvaluation, TagPredictions
from rnn_nlp.tasks.tagging.model import TaggerModel
from rnn_nlp.tasks.tagging.task import NerTask, PosTask, TaggingTask

__all__ = ["evaluation", "model", "task", "NerTask", "PosTask", "TaggingTask", "TaggingEvaluation", "TagPredictions", "TaggerModel"]

__getattr__ = old_names(__name__, {"TaggerRun": "TaggerModel"}, globals())
