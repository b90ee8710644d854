"""The library's own errors: each says what went wrong and where (file, line, key)."""

import errno
import reprlib
import stat


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


NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems


def os_reason(exc: OSError) -> str:
    """What an OSError about a path means, in words a message can put after the path it names."""
    if exc.errno == errno.ENAMETOOLONG:
        return f"name too long (a file name has at most {NAME_MAX} bytes: is this text where a path was expected?)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ELOOP:
        return "a symlink loop (links that point at each other, never at a file or folder)"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    return exc.strerror or str(exc)


def file_kind(mode: int) -> str:
    """What a path that is not a regular file or folder is, from its `st_mode`: a pipe, a device, a socket."""
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def shown_path(name: object, most: int = 80) -> str:
    """A path as a message shows it: abbreviated in the middle when long (a paragraph of text given where a path was expected)."""
    name = str(name)
    return name if len(name) <= most else f"{name[: most // 2]}...{name[-most // 4 :]} ({len(name)} characters)"


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxlevel = 3


def abbreviate(value, limit: int = 80) -> str:
    """`repr(value)` cut to about `limit` characters, built without ever forming the whole repr: an
    error message shows what a value looks like, never megabytes of an expanded YAML alias tree."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
