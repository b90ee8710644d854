"""Question answering: the reader task (extractive, cloze, SQuAD v2.0 no-answer), its windowed data and its user model."""

from rnn_nlp.tasks.qa.model import ReaderModel
from rnn_nlp.tasks.qa.task import QATask

__all__ = ["data", "model", "task", "QATask", "ReaderModel"]

_DEPRECATED = {"ReaderRun": "ReaderModel"}


def __getattr__(name: str):
    if name in _DEPRECATED:
        from rnn_nlp.tasks.deprecated import alias

        return alias(__name__, name, _DEPRECATED[name], globals()[_DEPRECATED[name]])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
