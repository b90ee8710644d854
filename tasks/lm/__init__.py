"""Language modelling: the LM task (word or character streams, perplexity) and its user model (generate, score, encode)."""

from rnn_nlp.tasks.lm.model import LanguageModel
from rnn_nlp.tasks.lm.task import LMTask, describe

__all__ = ["model", "task", "LMTask", "LanguageModel", "describe"]

_DEPRECATED = {"LanguageModelRun": "LanguageModel"}


def __getattr__(name: str):
    if name in _DEPRECATED:
        from rnn_nlp.tasks.deprecated import alias

        return alias(__name__, name, _DEPRECATED[name], globals()[_DEPRECATED[name]])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
