"""The lecture's language models behind one interface: n-gram, fixed-window, and the library's RNN LMs."""

from rnn_nlp.nn.baselines.interface import LMInterface, RNNLM
from rnn_nlp.nn.baselines.ngram import NGramLM
from rnn_nlp.nn.baselines.window import WindowConfig, WindowLM

__all__ = ["LMInterface", "NGramLM", "RNNLM", "WindowConfig", "WindowLM"]
