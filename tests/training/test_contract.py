"""The trainer's contracts: callbacks get a TrainingState (named values and a few methods), never the
trainer; a callback's request_stop ends the run; the task is used only through TrainingTask."""

import dataclasses
import typing

import pytest
import torch

from rnn_nlp.runs import build_config, train_run
from rnn_nlp.tasks.base import Task
from rnn_nlp.tasks.lm import LMTask
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.training.callbacks import Callback
from rnn_nlp.training.contract import TrainingState, TrainingTask
from rnn_nlp.training.run_folder import LAST
from rnn_nlp.training.trainer import Trainer, resolve_device
from tests.conftest import tiny_raw
from tests.training.test_callbacks import FailAtStep

SHORT = {"max_train_tokens": 400}  # 13 steps an epoch
FIELDS = {"epoch", "step_in_epoch", "global_step", "ending", "improved", "best", "history", "selection", "run_dir", "cfg", "model", "dist"}
HOOKS = ("on_fit_start", "on_epoch_start", "on_step_end", "on_log", "on_evaluate", "on_epoch_end", "on_fit_end", "on_fit_close")


class Snapshots(Callback):
    """Keeps what every hook was handed: (hook, state, extra argument)."""

    key = "snapshots"

    def __init__(self):
        self.seen = []

    def on_fit_start(self, state):
        self.seen.append(("on_fit_start", state, None))

    def on_epoch_start(self, state):
        self.seen.append(("on_epoch_start", state, None))

    def on_step_end(self, state):
        self.seen.append(("on_step_end", state, None))

    def on_log(self, state, row):
        self.seen.append(("on_log", state, row))

    def on_evaluate(self, state, metrics):
        self.seen.append(("on_evaluate", state, metrics))

    def on_epoch_end(self, state):
        self.seen.append(("on_epoch_end", state, None))

    def on_fit_end(self, state):
        self.seen.append(("on_fit_end", state, None))

    def on_fit_close(self, state):
        self.seen.append(("on_fit_close", state, None))


class StopAt(Callback):
    """Asks the run to stop at the end of step `step`."""

    key = "stop_at"

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, state):
        if state.global_step == self.step:
            state.request_stop(f"asked at step {self.step}")


def test_a_callback_gets_the_state_with_the_documented_fields_not_the_trainer(tmp_path, corpus):
    cfg = build_config(tiny_raw(corpus, data=SHORT, trainer={"epochs": 2, "max_steps": 15, "log_every": 5}))
    spy = Snapshots()
    run = tmp_path / "run"
    trainer = train_run(cfg, run, callbacks=[spy])
    assert {hook for hook, _, _ in spy.seen} == set(HOOKS)
    assert all(type(state) is TrainingState for _, state, _ in spy.seen)
    assert {f.name for f in dataclasses.fields(TrainingState) if not f.name.startswith("_")} == FIELDS
    state = spy.seen[0][1]
    assert not isinstance(state, Trainer) and not any(hasattr(state, k) for k in ("task", "optimizer", "callbacks", "tcfg"))
    assert state.run_dir == run and state.cfg.task == "lm" and state.model is trainer.model and state.is_main
    assert state.selection == ("loss", "min")
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.epoch = 5
    steps = [s for hook, s, _ in spy.seen if hook == "on_step_end"]
    assert [s.global_step for s in steps] == list(range(1, 16)) and [s.ending for s in steps] == [False] * 14 + [True]
    assert [s.step_in_epoch for s in steps[12:]] == [13, 1, 2]  # the second epoch starts at step 14
    evaluations = [(s, m) for hook, s, m in spy.seen if hook == "on_evaluate"]
    assert len(evaluations) == 2
    for s, metrics in evaluations:
        assert s.history[-1]["valid_loss"] == metrics["loss"]
        if s.improved:
            assert s.best == metrics["loss"]  # the metric's own value
    assert evaluations[0][0].improved and evaluations[0][0].best == evaluations[0][1]["loss"]
    ends = [s.epoch for hook, s, _ in spy.seen if hook == "on_epoch_end"]
    assert ends == [1, 1]  # the finished epoch is counted; the second stopped at max_steps within it
    assert [row["step"] for hook, _, row in spy.seen if hook == "on_log"] == [5, 10, 15]
    assert [hook for hook, _, _ in spy.seen[-2:]] == ["on_fit_end", "on_fit_close"]


class BreaksAt(FailAtStep):
    """Raises at step `step`, and again when closed."""

    key = "breaks_at"

    def on_fit_close(self, state):
        raise OSError("could not close either")


def test_a_run_that_raises_still_closes_every_callback_and_raises_its_own_error(tmp_path, corpus, caplog):
    cfg = build_config(tiny_raw(corpus, data=SHORT, trainer={"epochs": 1}))
    spy = Snapshots()
    with pytest.raises(RuntimeError, match="failed at step 4"):  # the run's error, not the failed close
        train_run(cfg, tmp_path / "run", callbacks=[BreaksAt(4), spy])
    hooks = [hook for hook, _, _ in spy.seen]
    assert hooks[-1] == "on_fit_close" and "on_fit_end" not in hooks  # closed, though after a failing close
    assert spy.seen[-1][1].global_step == 4
    assert "BreaksAt could not close: OSError: could not close either" in caplog.text


def test_request_stop_from_a_callback_ends_the_run_and_it_stays_stopped(tmp_path, corpus):
    cfg = build_config(tiny_raw(corpus, data=SHORT, trainer={"epochs": 2}))
    run = tmp_path / "run"
    trainer = train_run(cfg, run, callbacks=[StopAt(4)])
    # asked at the end of step 4: the step after it is the run's last, evaluated and saved
    assert trainer.stop_reason == "asked at step 4" and trainer.global_step == 5 and len(trainer.history) == 1
    state = ckpt.load_trainer_state(run / LAST)
    assert state["stop_reason"] == "asked at step 4" and state["global_step"] == 5
    again = train_run(cfg, run, resume=True)
    assert again.global_step == 5 and len(again.history) == 1


def test_save_best_and_save_last_are_the_trainers_saves(tmp_path, corpus):
    cfg = build_config(tiny_raw(corpus, data=SHORT, trainer={"max_steps": 2}))
    task = LMTask(cfg)
    trainer = Trainer(cfg, task, task.build_model(), tmp_path / "run", resolve_device("cpu"))
    state = trainer.training_state()
    assert state.save_best() == tmp_path / "run" / run_folder.BEST
    ckpt.verify(tmp_path / "run" / run_folder.BEST)
    assert run_folder.resolve(state.save_last()).exists()
    state.request_stop("enough")
    assert trainer.stop_reason == "enough"


def test_the_trainer_asks_the_task_for_nothing_outside_the_protocol():
    wanted = {name for name in vars(TrainingTask) if not name.startswith("_")} | set(typing.get_type_hints(TrainingTask))
    assert wanted == {
        "selection",
        "valid_held_out",
        "steps_per_epoch",
        "epoch_steps",
        "train_batches",
        "evaluate",
        "train_metrics",
        "vocab_json",
        "data_fingerprint",
    }
    assert all(hasattr(Task, name) for name in wanted)  # the base class provides each
    assert typing.get_type_hints(Trainer.__init__)["task"] is TrainingTask


def test_state_best_reads_as_the_metric_for_a_metric_to_maximise(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(LMTask, "selection", ("accuracy", "max"))
    monkeypatch.setattr(LMTask, "evaluate", lambda self, model, split, device: {"loss": 1.0, "accuracy": 0.75})
    cfg = build_config(tiny_raw(corpus, data=SHORT, trainer={"max_steps": 2}))
    spy = Snapshots()
    trainer = train_run(cfg, tmp_path / "run", callbacks=[spy])
    (state,) = [s for hook, s, _ in spy.seen if hook == "on_evaluate"]
    assert state.improved and state.best == 0.75 and trainer.best == -0.75
    assert torch.is_tensor(next(state.model.parameters()))
