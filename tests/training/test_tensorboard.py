"""TensorBoard scalars beside metrics.csv and steps.csv (trainer.tensorboard), read back with TensorBoard's own reader."""

from __future__ import annotations

import csv

import pytest

from rnn_nlp.runs import build_config, train_run
from rnn_nlp.training.callbacks import TENSORBOARD, scalar_tag
from tests.conftest import tiny_raw


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
