"""The library's own errors: each says what went wrong and where (file, line, key)."""


class RnnNlpError(Exception):
    """Base class of every error the library raises on purpose."""


class ConfigError(RnnNlpError):
    """A config file or override is wrong: unknown key, wrong type, bad value."""


class DataError(RnnNlpError):
    """A data file or data set is missing, empty or malformed."""


class CheckpointError(RnnNlpError):
    """A checkpoint folder is incomplete, corrupted or incompatible."""
