"""The `rnn-nlp` command: train, evaluate, generate, data; clear errors; a SIGKILL survived."""

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from rnn_nlp.cli import main
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.training.run_folder import LAST
from tests.conftest import tiny_raw


def _write_config(tmp_path: Path, corpus: Path, **sections) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_raw(corpus, **sections)), encoding="utf-8")
    return path


@pytest.mark.slow
def test_train_evaluate_generate(tmp_path, corpus, capsys):
    config = _write_config(tmp_path, corpus)
    run = tmp_path / "run"
    assert main(["train", str(config), "trainer.epochs=2", "--out", str(run)]) == 0
    assert "trained" in capsys.readouterr().out

    assert main(["evaluate", str(run), "--split", "test", "--device", "cpu"]) == 0
    result = json.loads((run / "eval-test.json").read_text())
    assert result["split"] == "test" and result["ppl"] > 1 and result["tokens"] > 0
    assert "test: " in capsys.readouterr().out

    other = tmp_path / "other.txt"
    other.write_text("the cat sees the moon .\n" * 40, encoding="utf-8")
    assert main(["evaluate", str(run), "--split", "test", "--data", str(other), "--device", "cpu"]) == 0
    scored = json.loads((run / "eval-test-other.txt.json").read_text())
    # the whole file (6 words + <eos> a line), read as 4 streams (trainer.eval_batch_size) whose first tokens have no history
    assert scored["data"] == str(other) and scored["tokens"] == 40 * 7 - 4
    assert json.loads((run / "eval-test.json").read_text())["data"] != str(other)  # the run's own figures stay
    short = tmp_path / "short.txt"  # 31 lines: fewer tokens than trainer.eval_batch_size streams need
    short.write_text("the cat .\n" * 31, encoding="utf-8")  # 31 x (3 words + <eos>) = 124 tokens
    assert main(["evaluate", str(run), "--data", str(short), "--batch-size", "50", "--device", "cpu"]) == 0
    # 124 tokens fill at most 124 // (bptt + 1) = 13 streams of 9 tokens: 13 * 8 are predicted
    assert json.loads((run / "eval-valid-short.txt.json").read_text())["tokens"] == 13 * 8
    capsys.readouterr()

    assert main(["generate", str(run), "--prompt", "the cat", "--max-tokens", "5", "--device", "cpu"]) == 0
    words = capsys.readouterr().out.split()
    assert words[:2] == ["the", "cat"] and 2 < len(words) <= 7

    # seq2seq-only options on a language model run: one clear line each
    for argv, message in (
        (["generate", str(run), "--source", "the cat"], "takes no --source"),
        (["generate", str(run), "--prompt", "the", "--batch-size", "8"], "--batch-size is for seq2seq runs"),
        (["evaluate", str(run), "--beam", "3"], "--beam is for runs that decode"),
    ):
        assert main([*argv, "--device", "cpu"]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, argv


def test_errors_are_one_clear_line(tmp_path, corpus, capsys):
    config = _write_config(tmp_path, corpus)
    assert main(["train", str(config), "trainer.lrr=1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "trainer.lrr" in err and "Traceback" not in err

    assert main(["train", str(config), "backbone.rnn=lstmm", "--out", str(tmp_path / "r")]) == 2
    assert "backbone.rnn" in capsys.readouterr().err

    assert main(["train", str(config), "data.name=missing/corpus.txt", "--out", str(tmp_path / "r")]) == 2
    assert "corpus not found: missing/corpus.txt" in capsys.readouterr().err

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert main(["train", str(config), f"data.name={empty}", "--out", str(tmp_path / "r2")]) == 2
    assert "empty train split" in capsys.readouterr().err

    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_corrupted_run_folder_is_refused(tmp_path, corpus, capsys):
    config = _write_config(tmp_path, corpus, trainer={"max_steps": 3})
    run = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run)]) == 0
    (run_folder.resolve(run) / "model.safetensors").write_bytes(b"\0" * 100)  # the best model
    assert main(["evaluate", str(run), "--device", "cpu"]) == 2
    assert "model.safetensors: corrupted" in capsys.readouterr().err


def test_data_list_and_fetch(capsys):
    assert main(["data", "list"]) == 0
    assert "ptb" in capsys.readouterr().out
    assert main(["data", "fetch", "ptb"]) == 0
    assert "train 42,068 lines" in capsys.readouterr().out
    assert main(["data", "fetch", "nope"]) == 2
    assert "unknown corpus 'nope'" in capsys.readouterr().err


def _cli(*args, env=None):
    return [sys.executable, "-m", "rnn_nlp.cli", *args]


KILLS = 3
TIMING_COLUMNS = {"elapsed_s", "tokens_per_s"}


def _metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in row.items() if k not in TIMING_COLUMNS} for row in csv.DictReader(fh)]


def _last_step(run: Path) -> int:
    """The step of steps.csv's last complete row (0 before the first): how far a training process has got."""
    try:
        text = (run / "steps.csv").read_text(encoding="utf-8")
    except OSError:
        return 0
    rows = text.split("\n")[1:-1]  # the header, then complete rows only: a row being written has no newline yet
    return int(rows[-1].split(",", 1)[0]) if rows and rows[-1].split(",", 1)[0].isdigit() else 0


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_equals_uninterrupted(tmp_path, corpus):
    """Kill -9 a training process at random moments, several times in a row, resuming each time:
    the final weights, best model and metrics.csv (timings aside) equal an uninterrupted run's.

    The moments are drawn in steps, not seconds (a fast machine once finished before a timed kill): each
    process is killed a random few milliseconds after it logs a random step beyond the last kill's, so
    kills land mid-step, mid-checkpoint or mid-evaluation on any machine."""
    epochs = 6
    config = _write_config(tmp_path, corpus, trainer={"epochs": epochs, "checkpoint_every": 7, "log_every": 1})
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    train = _cli("train", str(config), "trainer.threads=1", "--out")
    clean = tmp_path / "clean"
    subprocess.run([*train, str(clean)], env=env, check=True, capture_output=True)
    total = _last_step(clean)
    assert total > 100

    killed = tmp_path / "killed"
    rng = random.Random(8)
    span = total * 8 // 10 // KILLS  # one kill drawn in each of KILLS stretches of the run's middle 80%
    for k in range(KILLS):
        # beyond where the last process got, so each resumed process trains a while before it dies
        target = max(total // 10 + k * span + rng.randrange(span), _last_step(killed) + 5)
        proc = subprocess.Popen([*train, str(killed), "--resume"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 300
            while _last_step(killed) < target and proc.poll() is None:
                assert time.time() < deadline, f"no step {target} logged in 300 s"
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.01))
            assert proc.poll() is None, f"training ended before step {target} was killed (exit {proc.returncode})"
        finally:
            proc.send_signal(signal.SIGKILL)  # also where an assertion failed: no training left running
            proc.wait()
    result = subprocess.run([*train, str(killed), "--resume"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

    for folder in (LAST, "."):
        a, b = ckpt.load_weights(clean / folder), ckpt.load_weights(killed / folder)
        assert a.keys() == b.keys()
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
    assert len(_metrics(clean)) == epochs
    assert _metrics(killed) == _metrics(clean)


@pytest.mark.parametrize("command", [["--help"], ["train", "--help"], ["data", "--help"]])
def test_help(command):
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 0


def test_overrides_may_follow_the_options(monkeypatch):
    from rnn_nlp import cli
    from rnn_nlp.cli import library

    seen = {}
    monkeypatch.setattr(library, "experiment", lambda args: seen.update(vars(args)))
    assert cli.main(["experiment", "clipping", "steps=3", "--out", "x", "lr=2"]) == 0
    assert seen["overrides"] == ["steps=3", "lr=2"] and seen["out"] == "x"
    with pytest.raises(SystemExit):
        cli.main(["experiment", "clipping", "--out", "x", "--bogus"])


@pytest.mark.slow
def test_evaluate_on_a_full_disk_is_one_clear_error_and_leaves_no_empty_file(tmp_path, corpus, capsys, monkeypatch):
    import errno

    run = tmp_path / "run"
    assert main(["train", str(_write_config(tmp_path, corpus)), "trainer.epochs=1", "--out", str(run)]) == 0
    real = Path.write_text

    def full(self, *args, **kwargs):
        if self.name.startswith((".eval-", "eval-")):
            real(self, "")  # the disk fills mid-write: an empty file is left behind by the write itself
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--split", "test", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "eval-test.json: No space left on device" in err and "Traceback" not in err
    assert not list(run.glob("*eval-test*"))  # neither an empty eval-test.json nor the temporary file


@pytest.mark.slow
def test_resume_takes_the_checkpoints_config_and_the_new_overrides(tmp_path, corpus, capsys):
    config = _write_config(tmp_path, corpus)
    run = tmp_path / "run"
    assert main(["train", str(config), "trainer.epochs=1", "backbone.layers=1", "--out", str(run)]) == 0
    # nothing of the first command is retyped: the checkpoint's config, with trainer.epochs raised
    assert main(["train", str(config), "trainer.epochs=2", "--out", str(run), "--resume"]) == 0
    saved = yaml.safe_load((run / LAST / "config.yaml").read_text(encoding="utf-8"))
    assert saved["backbone"]["layers"] == 1 and saved["trainer"]["epochs"] == 2
    assert ckpt.load_trainer_state(run / LAST)["epoch"] == 2
    capsys.readouterr()
    assert main(["train", str(config), "backbone.layers=3", "--out", str(run), "--resume"]) == 2
    assert "the config differs from the checkpoint's in backbone.layers" in capsys.readouterr().err


def test_a_recipe_name_trained_by_the_cli_loads_by_that_name(tmp_path, corpus, monkeypatch, capsys):
    import rnn_nlp

    monkeypatch.chdir(tmp_path)
    small = [
        f"data.name={corpus}",
        "data.tokenizer=whitespace",
        "backbone.emb_size=16",
        "backbone.hidden_size=16",
        "backbone.layers=1",
        "head.softmax=full",
        "trainer.epochs=1",
        "trainer.bptt=8",
        "trainer.batch_size=4",
        "trainer.eval_batch_size=4",
        "trainer.progress=false",
        "trainer.device=cpu",
        "trainer.time_budget_s=null",
    ]
    assert main(["train", "lm-ptb", *small]) == 0  # into runs/lm-ptb, as the CLI always did
    assert rnn_nlp.load("lm-ptb", "cpu").path == Path("runs") / "lm-ptb"


@pytest.mark.slow
def test_predict_reads_a_bom_file_and_keeps_blank_lines(tmp_path, corpus, capsys):
    run = tmp_path / "run"
    assert main(["train", str(_write_config(tmp_path, corpus)), "trainer.epochs=1", "--out", str(run)]) == 0
    inputs = tmp_path / "prompts.txt"
    inputs.write_bytes("\ufeffthe cat\n\na dog\n".encode("utf-8"))
    capsys.readouterr()
    assert main(["predict", str(run), str(inputs), "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["prompt"] for r in rows] == ["the cat", "", "a dog"]  # line i is input line i, no BOM in the first
    assert main(["predict", str(run), str(inputs), "--threads", "0", "--device", "cpu"]) == 2
    assert "--threads must be in 1..4096, got 0" in capsys.readouterr().err
