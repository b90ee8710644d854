"""The library's own errors: each says what went wrong and where (file, line, key)."""

import reprlib


class RnnNlpError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(RnnNlpError):
    """A config file or override is wrong: unknown key, wrong type, bad value."""


class DataError(RnnNlpError):
    """A data file or data set is missing, empty or malformed."""


class CheckpointError(RnnNlpError):
    """A checkpoint folder is incomplete, corrupted or incompatible."""


class SaveError(CheckpointError):
    """Writing into a run folder failed (disk full, no permission); what was saved before is intact."""


class NonFiniteLossError(RnnNlpError):
    """Training met a NaN or infinite loss (or gradient) and was configured to stop, or gave up rolling back."""


class TrainingInterrupted(Exception):
    """Raised after Ctrl-C (or SIGTERM) once a resumable checkpoint has been written; not an RnnNlpError
    (the CLI exits 130 for it). Here, not in the trainer, so the CLI can catch it without importing torch."""

    def __init__(self, path):
        super().__init__(f"training interrupted; checkpoint saved in {path}; continue with --resume")
        self.path = path


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 3


def abbreviate(value, limit: int = 80) -> str:
    """`repr(value)` cut to about `limit` characters, built without ever forming the whole repr: an
    error message shows what a value looks like, never megabytes of an expanded YAML alias tree."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
