"""The operating system's answers through the command line: broken pipes, names over 255 bytes,
permissions, symlink loops, a path under a file, a run whose best/ is gone. Each is one line on
stderr and exit code 2 (141 for a reader gone away), never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import rnn_nlp
from rnn_nlp.cli import BROKEN_PIPE, main
from rnn_nlp.errors import CheckpointError
from rnn_nlp.runs import build_config, train_run
from tests.tasks.classification.test_task import classify_raw, write_sentiment

LONG = "a fine film, " * 25  # 325 characters: text where a path was expected


@pytest.fixture(scope="module")
def clf(tmp_path_factory) -> tuple[Path, Path]:
    """A classifier run of two steps, and its config file."""
    root = tmp_path_factory.mktemp("files")
    raw = classify_raw(write_sentiment(root / "reviews.csv", n=60), trainer={"max_steps": 2, "epochs": 1})
    config = root / "clf.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    train_run(build_config(raw), root / "clf")
    return root / "clf", config


def _one_clear_line(capsys, code, *expected: str) -> str:
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.startswith("error: "), err
    for text in expected:
        assert text in err, err
    return err


# ---- broken pipes ---------------------------------------------------------------------


class _ClosedPipe:
    """Standard output whose reader has gone away."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_gone_away_ends_the_command_quietly(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["recipes"]) == BROKEN_PIPE == 141
    assert "Traceback" not in capsys.readouterr().err


def _piped_into_closed_reader(args: list[str], stdin: str | None = None) -> tuple[int, str]:
    """`rnn-nlp ARGS | (exit)`: the reader closes its end before the command writes anything."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnn_nlp.cli", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    _, err = proc.communicate(stdin.encode() if stdin is not None else None, timeout=120)
    return proc.returncode, err.decode()


def test_recipes_into_a_closed_pipe():
    code, err = _piped_into_closed_reader(["recipes"])
    assert code == 141 and err == "", err


@pytest.mark.slow
@pytest.mark.parametrize("verb", ["predict", "encode", "evaluate", "generate"])
def test_model_verbs_into_a_closed_pipe(clf, tmp_path, verb):
    run, _ = clf
    inputs = tmp_path / "in.txt"
    inputs.write_text("a good film\n" * 50, encoding="utf-8")
    args = {
        "predict": ["predict", str(run), str(inputs)],
        "encode": ["encode", str(run), str(inputs)],
        "evaluate": ["evaluate", str(run)],
        "generate": ["generate", str(run)],  # not a language model: the error goes to stderr, not into the pipe
    }[verb]
    code, err = _piped_into_closed_reader([*args, "--device", "cpu"])
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    if verb == "generate":
        assert code == 2 and "not a language model" in err
    else:
        assert code == 141, err
    if verb == "evaluate":  # written before the printing that met the closed pipe
        assert (run / "eval-valid.json").is_file()


# ---- over-long names -------------------------------------------------------------------


def test_predict_given_text_instead_of_a_file(clf, capsys):
    run, _ = clf
    err = _one_clear_line(
        capsys, main(["predict", str(run), LONG, "--device", "cpu"]), "name too long", "echo TEXT | rnn-nlp predict RUN -"
    )
    assert len(err) < 500  # the text is abbreviated, not printed whole
    _one_clear_line(
        capsys, main(["predict", str(run), "a good film", "--device", "cpu"]), "input file not found: a good film", "| rnn-nlp predict"
    )
    _one_clear_line(capsys, main(["encode", str(run), LONG, "--device", "cpu"]), "name too long", "rnn-nlp encode RUN -")


def test_names_over_255_bytes(clf, tmp_path, capsys):
    run, config = clf
    _one_clear_line(capsys, main(["train", str(config), "--out", str(tmp_path / ("r" * 300))]), "--out", "name too long")
    _one_clear_line(capsys, main(["train", str(config), f"data.name={'d' * 300}.csv", "--out", str(tmp_path / "r")]), "name too long")
    _one_clear_line(capsys, main(["train", str(tmp_path / ("c" * 300 + ".yaml"))]), "config file", "name too long")
    _one_clear_line(capsys, main(["evaluate", str(run), "--data", "e" * 300 + ".csv", "--device", "cpu"]), "name too long")
    assert not any(p.name.startswith("reports-") for p in run.iterdir())
    with pytest.raises(CheckpointError, match="load: .*name too long"):
        rnn_nlp.load(LONG)


# ---- permissions -----------------------------------------------------------------------


def _denied_on(monkeypatch, target: Path) -> None:
    """Opening `target` (or anything under it) fails as it would for a user without permission: root ignores the bits."""
    real_open, real_builtin = os.open, open
    target = str(target)

    def check(path):
        if str(path) == target or str(path).startswith(target + os.sep):
            raise PermissionError(13, "Permission denied", str(path))

    def os_open(path, *args, **kwargs):
        if kwargs.get("dir_fd") is None:
            check(path)
        return real_open(path, *args, **kwargs)

    def builtin_open(file, *args, **kwargs):
        if isinstance(file, (str, Path)):
            check(file)
        return real_builtin(file, *args, **kwargs)

    monkeypatch.setattr(os, "supports_dir_fd", os.supports_dir_fd | {os_open})  # checkpoints read files through a folder handle
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr("builtins.open", builtin_open)
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: (check(self), Path.read_bytes(self).decode())[1])


def test_unreadable_config_best_and_input(clf, tmp_path, monkeypatch, capsys):
    run, config = clf
    locked = tmp_path / "locked.yaml"
    shutil.copy(config, locked)
    inputs = tmp_path / "in.txt"
    inputs.write_text("a good film\n", encoding="utf-8")
    with monkeypatch.context() as m:
        _denied_on(m, locked)
        code = main(["train", str(locked), "--out", str(tmp_path / "r")])
    _one_clear_line(capsys, code, f"config file {locked}: cannot read it: permission denied")
    with monkeypatch.context() as m:
        _denied_on(m, run / "best")
        code = main(["predict", str(run), str(inputs), "--device", "cpu"])
    _one_clear_line(capsys, code, f"{run / 'best'}: cannot read the checkpoint: permission denied")
    with monkeypatch.context() as m:
        _denied_on(m, inputs)
        code = main(["predict", str(run), str(inputs), "--device", "cpu"])
    _one_clear_line(capsys, code, f"input file {inputs}: cannot read it: permission denied")


# ---- symlink loops, a path under a file, best/ gone -----------------------------------


def test_out_that_is_a_symlink_loop_is_refused_before_loading(clf, tmp_path, monkeypatch, capsys):
    _, config = clf
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    import rnn_nlp.data.labeled as labeled

    monkeypatch.setattr(labeled, "load_labeled_corpus", lambda *a, **k: pytest.fail("data loaded before --out was checked"))
    for out in (tmp_path / "a", tmp_path / "a" / "run"):
        _one_clear_line(capsys, main(["train", str(config), "--out", str(out)]), f"--out {out}: a symlink loop")


def test_out_under_a_regular_file(clf, tmp_path, capsys):
    _, config = clf
    afile = tmp_path / "afile.txt"
    afile.write_text("x", encoding="utf-8")
    err = _one_clear_line(capsys, main(["train", str(config), "--out", str(afile / "run")]), f"{afile} is a file, not a folder")
    assert "lock" not in err


def test_a_run_whose_best_is_gone(clf, tmp_path, capsys):
    run, _ = clf
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "best")
    with pytest.raises(CheckpointError, match=r"has no best/ .*checkpoint-last/ remains.*--resume"):
        rnn_nlp.load(copy)
    assert rnn_nlp.load(copy / "checkpoint-last", "cpu").predict(["a good film"])  # what the message offers works
    shutil.rmtree(copy / "checkpoint-last")
    _one_clear_line(capsys, main(["predict", str(copy), "-", "--device", "cpu"]), "has no best/", "train the run again")
