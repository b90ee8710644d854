"""rnn_nlp: one recurrent backbone, pretrained as a language model, feeding small heads."""

from rnn_nlp.errors import CheckpointError, ConfigError, DataError, RnnNlpError
from rnn_nlp.version import __version__

__all__ = ["__version__", "RnnNlpError", "ConfigError", "DataError", "CheckpointError"]
