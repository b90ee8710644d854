"""Question answering: the reader task (extractive, cloze, SQuAD v2.0 no-answer), its windowed data and its user model."""

from rnn_nlp.tasks.deprecated import old_names
from rnn_nlp.tasks.qa.model import ReaderModel
from rnn_nlp.tasks.qa.task import QATask

__all__ = ["data", "model", "task", "QATask", "ReaderModel"]

__getattr__ = old_names(__name__, {"ReaderRun": "ReaderModel"}, globals())
