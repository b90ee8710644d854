"""The lecture's count-based and fixed-window language models, behind one interface (RNNLM: rnn_nlp.experiments.rnnlm)."""

from rnn_nlp.nn.baselines.interface import LMInterface
from rnn_nlp.nn.baselines.ngram import NGramLM
from rnn_nlp.nn.baselines.window import WindowConfig, WindowLM

__all__ = ["LMInterface", "NGramLM", "WindowConfig", "WindowLM"]
