"""rnn_nlp: one recurrent backbone, pretrained as a language model, feeding small heads."""

__version__ = "0.1.0"

from rnn_nlp.errors import CheckpointError, ConfigError, DataError, RnnNlpError

__all__ = ["__version__", "RnnNlpError", "ConfigError", "DataError", "CheckpointError"]
