"""rnn_nlp: one recurrent backbone, pretrained as a language model, feeding small heads.

    import rnn_nlp
    model = rnn_nlp.load("runs/ner")
    model.predict("Angela Merkel visited Paris.")

`load`, `train` and `recipes` (rnn_nlp.api) are imported on first use, so `import rnn_nlp` stays
light (no torch) until one is called.
"""

from rnn_nlp.errors import CheckpointError, ConfigError, DataError, RnnNlpError
from rnn_nlp.version import __version__

__all__ = ["__version__", "load", "train", "recipes", "RnnNlpError", "ConfigError", "DataError", "CheckpointError"]

_API = ("load", "train", "recipes")


def __getattr__(name: str):
    if name in _API:
        from rnn_nlp import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnn_nlp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
