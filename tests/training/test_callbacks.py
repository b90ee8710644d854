"""Callbacks: the built-ins (early stopping, gradual unfreezing, step logs, curves) and the caller's own,
with their state carried through an interrupted and resumed run."""

import csv
import os
import signal

import pytest
import torch

from rnn_nlp.config import TrainerConfig
from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, train_run
from rnn_nlp.tasks.lm import LMTask
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.callbacks import Callback, EarlyStopping, LastCheckpoint, builtin_callbacks
from rnn_nlp.training.history import plot_curves
from rnn_nlp.training.run_folder import LAST
from rnn_nlp.training.trainer import TrainingInterrupted
from tests.conftest import ctrl_c_at, tiny_raw

SHORT = {"max_train_tokens": 400}  # 13 steps an epoch


def _short(corpus, **trainer):
    return build_config(tiny_raw(corpus, data=SHORT, trainer={"epochs": 8, **trainer}))


class Scripted:
    """Valid losses in a set order (the n-th evaluation gets losses[n]), whatever the model does."""

    def __init__(self, monkeypatch, losses):
        self.losses, self.calls = losses, 0
        original = LMTask.evaluate

        def evaluate(task, model, split, device):
            out = original(task, model, split, device)
            if split == "valid":
                out["loss"] = self.losses[self.calls]
                self.calls += 1
            return out

        monkeypatch.setattr(LMTask, "evaluate", evaluate)


class CtrlCAtStep(Callback):
    """Ctrl-C once the run has taken `step` steps (it stops after the next one)."""

    key = "ctrl_c"

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, state):
        if state.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


class FailAtStep(Callback):
    """A run that raises mid-training (a bug in a callback, a data error): RuntimeError after step `step`."""

    key = "fail_at"

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, state):
        if state.global_step == self.step:
            raise RuntimeError(f"failed at step {self.step}")


class Recorder(Callback):
    """Counts steps (its state) and notes every hook call."""

    key = "recorder"

    def __init__(self):
        self.steps, self.calls = 0, []

    def on_fit_start(self, state):
        self.calls.append("fit_start")

    def on_epoch_start(self, state):
        groups = state.model.parameter_groups()
        self.calls.append(("epoch_start", state.epoch, [all(p.requires_grad for p in g) for g in groups]))

    def on_step_end(self, state):
        self.steps += 1

    def on_log(self, state, row):
        self.calls.append(("log", row["step"]))

    def on_evaluate(self, state, metrics):
        self.calls.append(("evaluate", state.improved))

    def on_epoch_end(self, state):
        self.calls.append("epoch_end")

    def on_fit_end(self, state):
        self.calls.append("fit_end")

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


@pytest.mark.slow
def test_early_stopping_after_patience_and_a_stopped_run_stays_stopped(tmp_path, corpus, monkeypatch):
    script = Scripted(monkeypatch, [3.0, 2.0, 2.5, 2.4, 1.0, 0.5, 0.4, 0.3])
    cfg = _short(corpus, early_stopping_patience=2)
    trainer = train_run(cfg, tmp_path / "run")
    assert trainer.epoch == 4 and len(trainer.history) == 4  # epochs 3 and 4 did not beat epoch 2
    assert "early stopping: valid loss has not improved for 2 evaluations" in trainer.stop_reason
    assert trainer.best == 2.0
    assert ckpt.load_trainer_state(tmp_path / "run" / LAST)["callbacks"]["early_stopping"] == {"waited": 2}
    again = train_run(cfg, tmp_path / "run", resume=True)
    assert again.global_step == trainer.global_step and script.calls == 4


@pytest.mark.slow
def test_early_stopping_count_survives_an_interruption(tmp_path, corpus, monkeypatch):
    losses = [3.0, 2.0, 2.5, 2.4, 1.0, 0.5, 0.4, 0.3]
    script = Scripted(monkeypatch, losses)
    cfg = _short(corpus, early_stopping_patience=2)
    full = train_run(cfg, tmp_path / "full")
    script.calls = 0
    with pytest.raises(TrainingInterrupted):  # during epoch 4, one evaluation without improvement counted
        train_run(cfg, tmp_path / "part", callbacks=[CtrlCAtStep(44)])
    assert script.calls == 3
    resumed = train_run(cfg, tmp_path / "part", resume=True)
    assert resumed.epoch == full.epoch == 4 and resumed.stop_reason == full.stop_reason
    a, b = ckpt.load_weights(tmp_path / "full" / LAST), ckpt.load_weights(tmp_path / "part" / LAST)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)


def test_early_stopping_is_off_by_default_and_checked(corpus):
    assert not any(isinstance(cb, EarlyStopping) for cb in builtin_callbacks(TrainerConfig()))
    with pytest.raises(ConfigError, match="trainer.early_stopping_patience must be positive"):
        build_config(tiny_raw(corpus, trainer={"early_stopping_patience": 0}))


@pytest.mark.slow
def test_callers_callbacks_get_every_hook_and_resume_their_state(tmp_path, corpus, monkeypatch):
    cfg = _short(corpus, epochs=2, log_every=5)
    seen = Recorder()
    trainer = train_run(cfg, tmp_path / "full", callbacks=[seen])
    assert isinstance(trainer.callbacks[-1], LastCheckpoint)  # after the caller's, so it saves their state
    assert seen.steps == trainer.global_step == 26
    assert seen.calls[0] == "fit_start" and seen.calls[-1] == "fit_end"
    assert [c for c in seen.calls if c[0] == "log"] == [("log", s) for s in (5, 10, 15, 20, 25)]
    assert seen.calls.count("epoch_end") == 2 and ("evaluate", True) in seen.calls

    ctrl_c_at(monkeypatch, LMTask, 6)
    with pytest.raises(TrainingInterrupted):
        train_run(cfg, tmp_path / "part", callbacks=[Recorder()])
    monkeypatch.undo()
    again = Recorder()
    train_run(cfg, tmp_path / "part", resume=True, callbacks=[again])
    assert again.steps == 26  # 7 before the interruption, from the checkpoint, then the rest
    with pytest.raises(ValueError, match="the same key"):
        builtin_callbacks(cfg.trainer, [Recorder(), Recorder()])


@pytest.mark.slow
def test_gradual_unfreezing_opens_one_group_an_epoch(tmp_path, corpus):
    cfg = _short(corpus, epochs=3, gradual_unfreezing=True)
    seen = Recorder()
    train_run(cfg, tmp_path / "run", callbacks=[seen])
    trainable = [c[2] for c in seen.calls if c[0] == "epoch_start"]
    # groups bottom-up: embedding, LSTM layer 1, LSTM layer 2, the head's own (the tied decoder's bias)
    assert trainable == [[False, False, False, True], [False, False, True, True], [False, True, True, True]]


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_steps_csv_every_log_every_steps_and_exact_after_resume(tmp_path, corpus, monkeypatch):
    cfg = _short(corpus, epochs=2, log_every=7)
    train_run(cfg, tmp_path / "full")
    rows = _rows(tmp_path / "full" / "steps.csv")
    assert [int(r["step"]) for r in rows] == [7, 14, 21]
    assert set(rows[0]) == {"step", "epoch", "train_loss", "train_ppl", "lr"}
    ctrl_c_at(monkeypatch, LMTask, 12)  # stops at step 14, a row's step
    with pytest.raises(TrainingInterrupted):
        train_run(cfg, tmp_path / "part")
    monkeypatch.undo()
    (tmp_path / "part" / "steps.csv").write_text("step,epoch\n99,9\n")  # rows a killed run wrote after its checkpoint
    train_run(cfg, tmp_path / "part", resume=True)
    assert _rows(tmp_path / "part" / "steps.csv") == rows


def test_training_loss_is_shown_as_the_task_says(tmp_path, corpus, monkeypatch):
    monkeypatch.setattr(LMTask, "train_metrics", lambda self, loss: {"bits": loss / 0.6931})
    trainer = train_run(_short(corpus, max_steps=3), tmp_path / "run")
    assert "train_bits" in trainer.history[-1] and "train_ppl" not in trainer.history[-1]
    assert "valid_ppl" in trainer.history[-1]


def test_curves_are_against_the_step_with_integer_ticks_and_the_run_name(tmp_path, monkeypatch):
    import matplotlib.figure

    figures = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda fig, path, **kw: figures.append(fig) or open(path, "wb").close())
    evals = [
        {"epoch": 1, "step": 3, "train_loss": 2.0, "valid_loss": 2.1, "valid_ppl": 8.2, "train_ppl": 7.4},
        {"epoch": 1.5, "step": 5, "train_loss": 1.8, "valid_loss": 2.0, "valid_ppl": 7.4, "train_ppl": 6.0},
    ]
    steps = [{"step": s, "train_loss": 2.5 - s / 10, "train_ppl": 9.0 - s} for s in (1, 2, 3, 4, 5)]
    plot_curves(evals, tmp_path / "curves.png", title="ner-run (ner)", steps=steps)
    (fig,) = figures
    assert fig._suptitle.get_text() == "ner-run (ner)"
    for ax in fig.axes:
        assert ax.get_xlabel() == "step"
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)


def test_training_on_a_full_disk_leaves_no_tmp_plot_and_names_it(tmp_path, corpus, monkeypatch):
    """Issue 15 item 11: a full disk while plotting left a 0-byte curves.tmp.png in the run folder.
    A failed write into a run folder is a SaveError naming the file (docs/reliability.md)."""
    import errno

    import matplotlib.figure

    from rnn_nlp.errors import SaveError

    def savefig(fig, path, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"\x89PNG")
            fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    run = tmp_path / "run"
    with pytest.raises(SaveError, match=f"could not write {run / 'curves.png'}: No space left on device"):
        train_run(_short(corpus, max_steps=3), run)
    assert not [p.name for p in run.rglob("*") if ".tmp" in p.name]
