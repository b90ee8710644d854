"""TensorBoard scalars beside metrics.csv and steps.csv (trainer.tensorboard), read back with TensorBoard's own reader."""

from __future__ import annotations

import csv
import threading
import types

import pytest

from rnn_nlp.runs import build_config, train_run
from rnn_nlp.training.callbacks import TENSORBOARD, TensorBoardLog, scalar_tag
from rnn_nlp.training.trainer import TrainingInterrupted
from tests.conftest import tiny_raw
from tests.training.test_callbacks import CtrlCAtStep, FailAtStep


def scalars(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / TENSORBOARD))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_the_run_writes_its_csv_rows_as_tensorboard_scalars(corpus, tmp_path):
    run = tmp_path / "lm"
    train_run(build_config(tiny_raw(corpus, trainer={"log_every": 5})), run)
    found = scalars(run)
    with open(run / "metrics.csv", newline="") as fh:
        evals = list(csv.DictReader(fh))
    with open(run / "steps.csv", newline="") as fh:
        steps = list(csv.DictReader(fh))
    assert [s for s, _ in found["valid/ppl"]] == [int(r["step"]) for r in evals]
    assert [v for _, v in found["valid/ppl"]] == pytest.approx([float(r["valid_ppl"]) for r in evals], rel=1e-6)
    assert sorted(s for s, _ in found["lr"]) == sorted(int(r["step"]) for r in steps + evals)
    assert {"train/loss", "valid/loss"} <= set(found)


def test_the_config_key_turns_it_off(corpus, tmp_path):
    run = tmp_path / "lm"
    train_run(build_config(tiny_raw(corpus, trainer={"tensorboard": False, "epochs": 1})), run)
    assert (run / "metrics.csv").is_file() and not (run / TENSORBOARD).exists()


def test_tags():
    assert [scalar_tag(k) for k in ("valid_f1", "train_loss", "lr", "train_")] == ["valid/f1", "train/loss", "lr", "train_"]


def event_writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.is_alive() and type(t).__module__.startswith("tensorboard")]


@pytest.mark.parametrize("ending", ["error", "interrupt", "finish"])
def test_the_writer_is_closed_however_the_run_ends(corpus, tmp_path, monkeypatch, ending):
    """A run that raises, is interrupted or finishes leaves its SummaryWriter closed: no event file held open,
    no writer thread left running in a long-lived process (a notebook, a server training run after run)."""
    writers = []
    opened = TensorBoardLog.on_fit_start

    def keep(self, state):
        opened(self, state)
        writers.append(self.writer)

    monkeypatch.setattr(TensorBoardLog, "on_fit_start", keep)
    before = event_writer_threads()
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "max_steps": 6, "log_every": 2}))
    extra, raised = {"error": ([FailAtStep(3)], RuntimeError), "interrupt": ([CtrlCAtStep(3)], TrainingInterrupted)}.get(ending, ([], None))
    if raised is None:
        train_run(cfg, tmp_path / "run", callbacks=extra)
    else:
        with pytest.raises(raised):
            train_run(cfg, tmp_path / "run", callbacks=extra)
    assert len(writers) == 1 and writers[0].all_writers is None  # SummaryWriter.close() clears its file writers
    assert event_writer_threads() == before
    assert scalars(tmp_path / "run")["train/loss"]  # what was written before the end is kept


def test_a_missing_tensorboard_is_said_once_a_process(monkeypatch, caplog):
    """A pipeline of several runs (the demo's stages) says it once, not once a run."""
    import logging

    from rnn_nlp.training import callbacks

    monkeypatch.setattr(callbacks, "tensorboard_available", lambda: False)
    callbacks._say_tensorboard_missing.cache_clear()
    tcfg = types.SimpleNamespace(gradual_unfreezing=False, tensorboard=True, early_stopping_patience=0, checkpoint_every=100)
    with caplog.at_level(logging.INFO, logger=callbacks.log.name):
        for _ in range(3):
            assert not any(isinstance(cb, callbacks.TensorBoardLog) for cb in callbacks.builtin_callbacks(tcfg))
    assert sum("tensorboard is not installed" in r.getMessage() for r in caplog.records) == 1
