"""Runs one row of the hostile table and says which class of outcome it got.

    clear           the expected exit code (2), no traceback, and the message names what and where
    correct         the right output (exit 0, or 141 for a reader gone away)
    traceback       a raw Python error reached the user (an exception out of the CLI or the API that
                    is not the package's, a TypeError or a ValueError; "Traceback" on stderr)
    silently wrong  exit 0 (or a return) where a clear error was due, or output that fails its check
    unclear         an error, but another exit code or a message without the expected fragment, or
                    a refusal of an input that should have worked

Command lines run in-process (rnn_nlp.cli.main with standard output and error captured); a pipe row
runs `python -m rnn_nlp.cli` with its standard output closed before it writes.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import rnn_nlp
from rnn_nlp.cli import main
from rnn_nlp.errors import RnnNlpError, abbreviate
from tests.hostile.places import Places
from tests.hostile.table import Row
from tests.test_hostile_files import _denied_on

OUTCOMES = ("clear", "correct", "traceback", "silently wrong", "unclear")
CLEAR_ERRORS = (RnnNlpError, TypeError, ValueError)


@dataclass
class Result:
    row: Row
    outcome: str
    detail: str  # the message or output seen, abbreviated


def run_row(row: Row, places: Places) -> Result:
    """Run `row` against `places` and classify what came back."""
    out = places.new_out()
    args, fragment = places.fill(row.args, out), places.fill(row.expect.fragment, out)
    with pytest.MonkeyPatch.context() as mp:
        if row.deny:
            _denied_on(mp, Path(places.fill(row.deny, out)))
        if row.kind == "cli":
            outcome, detail = _judge_exit(row, fragment, *_cli(args))
        elif row.kind == "pipe":
            outcome, detail = _judge_exit(row, fragment, *_piped(args))
        else:
            outcome, detail = _api(row, args, fragment, places)
    return Result(row, outcome, abbreviate(detail, 300))


def _cli(argv: list[str]) -> tuple[int | None, str, str]:
    """(exit code, stdout, stderr) of `rnn-nlp ARGV` in this process; an exception escaping is a traceback."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: malformed options (2)
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # noqa: BLE001 (what the user would see as a traceback)
            return None, stdout.getvalue(), f"Traceback (escaped main): {type(exc).__name__}: {exc}"
    return code, stdout.getvalue(), stderr.getvalue()


def _piped(argv: list[str]) -> tuple[int | None, str, str]:
    """`rnn-nlp ARGV | (exit)`: the reader closes its end before the command writes anything."""
    command = [sys.executable, "-m", "rnn_nlp.cli", *argv]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    return proc.returncode, "", err.decode(errors="replace")


def _judge_exit(row: Row, fragment: str, code: int | None, out: str, err: str) -> tuple[str, str]:
    if code is None or "Traceback" in err:
        return "traceback", err[-600:]
    if row.expect.outcome == "clear":
        if code == 0:
            return "silently wrong", f"exit 0: {out[:200]}"
        if code != row.expect.code or fragment not in err:
            return "unclear", f"exit {code}, wanted {row.expect.code} naming {fragment!r}: {err}"
        return "clear", err
    if code != row.expect.code:
        return ("silently wrong" if code == 0 else "unclear"), f"exit {code}, wanted {row.expect.code}: {err}"
    if row.expect.check is not None and not row.expect.check(out):
        return "silently wrong", f"output failed its check: {out[:300]}"
    return "correct", out


def _target(row: Row, places: Places):
    """The function a row calls: rnn_nlp.NAME, a task's model's method ("classify.predict") or the row's own function."""
    if callable(row.target):
        return lambda *a, **k: row.target(places, *a, **k)
    if "." in row.target:
        task, method = row.target.split(".")
        return getattr(places.model(task), method)
    return getattr(rnn_nlp, row.target)


def _api(row: Row, args: tuple, fragment: str, places: Places) -> tuple[str, str]:
    call_args, kwargs = args
    try:
        value = _target(row, places)(*call_args, **kwargs)
        if inspect.isgenerator(value):
            value = list(value)
    except CLEAR_ERRORS as exc:
        message = f"{type(exc).__name__}: {exc}"
        if row.expect.outcome == "clear" and fragment in str(exc):
            return "clear", message
        return "unclear", f"wanted {row.expect.outcome} naming {fragment!r}: {message}"
    except Exception as exc:  # noqa: BLE001 (a raw error from deep inside)
        return "traceback", f"{type(exc).__name__}: {exc}"
    if row.expect.outcome == "clear":
        return "silently wrong", f"returned {abbreviate(value)}"
    if row.expect.check is not None and not row.expect.check(value):
        return "silently wrong", f"failed its check: {abbreviate(value)}"
    return "correct", repr(value)
