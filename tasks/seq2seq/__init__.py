"""Conditional generation: the encoder-decoder task (translation, headlines) and its user model."""

from rnn_nlp.tasks.deprecated import old_names
from rnn_nlp.tasks.seq2seq.model import Seq2SeqModel
from rnn_nlp.tasks.seq2seq.task import Seq2SeqTask

__all__ = ["model", "task", "Seq2SeqTask", "Seq2SeqModel"]

__getattr__ = old_names(__name__, {"Seq2SeqRun": "Seq2SeqModel"}, globals())
