"""Language modelling: the LM task (word or character streams, perplexity) and its user model (generate, score, encode)."""

from rnn_nlp.tasks.deprecated import old_names
from rnn_nlp.tasks.lm.model import LanguageModel
from rnn_nlp.tasks.lm.task import LMTask, describe

__all__ = ["model", "task", "LMTask", "LanguageModel", "describe"]

__getattr__ = old_names(__name__, {"LanguageModelRun": "LanguageModel"}, globals())
