"""`rnn-nlp`: train, evaluate, predict, generate, encode, recipes, data, experiment, demo.

Every verb is a thin call of the Python API (`rnn_nlp.load`, `rnn_nlp.train`, the model's methods);
the parser is in `parser.py`, the verbs in `commands.py` (models) and `library.py` (recipes, data,
experiments, demo).
"""

from __future__ import annotations

import logging
import sys

from rnn_nlp.cli.parser import build_parser
from rnn_nlp.errors import RnnNlpError, TrainingInterrupted

__all__ = ["build_parser", "main"]


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
    except TrainingInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except RnnNlpError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
