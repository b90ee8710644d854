"""`rnn-nlp`: train, evaluate, predict, generate, encode, serve, recipes, data, experiment, demo, export, push.

Every verb is a thin call of the Python API (`rnn_nlp.load`, `rnn_nlp.train`, the model's methods);
the parser is in `parser.py`, the verbs in `commands.py` (models) and `library.py` (recipes, data,
experiments, demo) and `shipping.py` (export, push).

Exit codes: 0 done; 2 a clear error (one line on stderr, never a traceback); 130 interrupted (a
checkpoint saved); 141 (128 + SIGPIPE, as `cat` or `grep` give) when the reader of standard output
went away, as `rnn-nlp predict RUN FILE | head` does: the command stops quietly, and what it
writes to files (evaluate's metrics) is written before its printing starts.
"""

from __future__ import annotations

import errno
import logging
import os
import sys

from rnn_nlp.cli.parser import build_parser
from rnn_nlp.errors import RnnNlpError, TrainingInterrupted, os_reason

__all__ = ["BROKEN_PIPE", "build_parser", "main"]

BROKEN_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE
PATH_ERRORS = (errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.ENOENT)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `key=value` overrides may also follow the options (`train CONFIG --out DIR k=v`)
    if extra and hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
        args.overrides = list(args.overrides) + extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    for stream in (sys.stdout, sys.stderr):  # text that never was valid UTF-8 (argv, files) still prints
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 on stdin read as surrogates, whatever the locale
        sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        args.func(args)
        sys.stdout.flush()  # here, not at exit: a reader gone away is seen while it can still be handled
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE
    except TrainingInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except RnnNlpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.filename is None or exc.errno not in PATH_ERRORS:
            raise
        # a path the verbs did not check themselves: still one line naming it, never a traceback
        print(f"error: {exc.filename}: {os_reason(exc)}", file=sys.stderr)
        return 2
    return 0


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush at exit finds no
    broken pipe to complain about (Python's documented recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no file descriptor (a test's captured stream)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (standard output until exit)
