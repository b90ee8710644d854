"""Conditional generation: the encoder-decoder task (translation, headlines) and its user model."""

from rnn_nlp.tasks.seq2seq.model import Seq2SeqModel
from rnn_nlp.tasks.seq2seq.task import Seq2SeqTask

__all__ = ["model", "task", "Seq2SeqTask", "Seq2SeqModel"]

_DEPRECATED = {"Seq2SeqRun": "Seq2SeqModel"}


def __getattr__(name: str):
    if name in _DEPRECATED:
        from rnn_nlp.tasks.deprecated import alias

        return alias(__name__, name, _DEPRECATED[name], globals()[_DEPRECATED[name]])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
