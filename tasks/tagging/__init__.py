"""Sequence tagging: the POS and NER tasks, their evaluation (seqeval, scikit-learn) and their user model."""

from rnn_nlp.tasks.tagging.evaluation import TaggingEvaluation, TagPredictions
from rnn_nlp.tasks.tagging.model import TaggerModel
from rnn_nlp.tasks.tagging.task import NerTask, PosTask, TaggingTask

__all__ = ["evaluation", "model", "task", "NerTask", "PosTask", "TaggingTask", "TaggingEvaluation", "TagPredictions", "TaggerModel"]

_DEPRECATED = {"TaggerRun": "TaggerModel"}


def __getattr__(name: str):
    if name in _DEPRECATED:
        from rnn_nlp.tasks.deprecated import alias

        return alias(__name__, name, _DEPRECATED[name], globals()[_DEPRECATED[name]])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
