"""Callbacks: what happens around the training loop, outside it.

The loop (`Trainer.fit`) trains, evaluates and says whether an evaluation was the best so far;
everything it does not need for that is a callback: gradual unfreezing, the best-model and the
last checkpoint, the metric files, early stopping. The trainer builds the built-ins from
`TrainerConfig` (`builtin_callbacks`) and adds the caller's own (`Trainer(..., callbacks=[...])`,
`train_run(..., callbacks=...)`).

A hook never gets the trainer: it gets a `TrainingState` (`rnn_nlp.training.contract`), the run's
position and results as read-only named values (`epoch`, `step_in_epoch`, `global_step`, `ending`,
`improved`, `best`, `history`, `selection`, `run_dir`, `cfg`, `model`, `dist`, `is_main`), and asks
for what it wants done through its methods: `request_stop(reason)`, `save_last()`, `save_best()`.

Hooks, each called with the state, in the order of `Trainer.callbacks`:

- `on_fit_start(state)`: once `fit` starts (a resumed run has its state loaded by then);
- `on_epoch_start(state)`: before an epoch's first batch, and when a resumed or rolled-back run
  takes up an epoch again;
- `on_step_end(state)`: after every optimiser step (`state.ending` is true on a run's last step);
- `on_log(state, row)`: every `trainer.log_every` steps, with the training loss over those steps;
- `on_evaluate(state, metrics)`: after each evaluation on the validation split, once the row is
  in `state.history` and `state.improved` says whether it is the best so far;
- `on_epoch_end(state)`: after an evaluation, once the trainer's state is complete (the epoch
  counted, the schedule stepped): the place to checkpoint;
- `on_fit_end(state)`: when `fit` returns (not after an interruption or an error);
- `on_fit_close(state)`: last, however `fit` ends (returned, raised, interrupted): release what the
  callback holds (open files, threads); a failure here is logged, not raised.

TensorBoard (`TensorBoardLog`, on with `trainer.tensorboard` where the `tensorboard` package is installed)
writes the rows of steps.csv and metrics.csv as scalars into RUN/tensorboard/; a resumed run purges the
events written after its checkpoint's step.

Every process of a data-parallel run calls every hook; a callback that writes files does so on
rank 0 (`state.is_main`). A callback with state returns it from `state_dict` (plain Python values
and tensors: it is saved with `torch.load(weights_only=True)` in mind) and takes it back in
`load_state_dict`, so a resumed run goes on exactly as the uninterrupted one; it is stored under
the callback's `key` in `trainer_state.pt`.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
from collections.abc import Sequence
from typing import Any

from rnn_nlp.errors import SaveError
from rnn_nlp.training import run_folder
from rnn_nlp.training.contract import TrainingState
from rnn_nlp.training.history import append_csv, plot_curves, write_csv

log = logging.getLogger(__name__)
TENSORBOARD = "tensorboard"  # the TensorBoard events' folder in the run folder


class Callback:
    """Does nothing at every hook; subclasses override the hooks they need."""

    key: str = ""  # its entry in the trainer state; the class name when empty

    def state_key(self) -> str:
        return self.key or type(self).__name__

    def on_fit_start(self, state: TrainingState) -> None:
        pass

    def on_epoch_start(self, state: TrainingState) -> None:
        pass

    def on_step_end(self, state: TrainingState) -> None:
        pass

    def on_log(self, state: TrainingState, row: dict) -> None:
        pass

    def on_evaluate(self, state: TrainingState, metrics: dict) -> None:
        pass

    def on_epoch_end(self, state: TrainingState) -> None:
        pass

    def on_fit_end(self, state: TrainingState) -> None:
        pass

    def on_fit_close(self, state: TrainingState) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class GradualUnfreezing(Callback):
    """ULMFiT's gradual unfreezing: epoch e (0-based) trains only the top e+1 parameter groups.

    Stateless: the epoch alone decides, so a resumed run unfreezes as the uninterrupted one.
    """

    key = "gradual_unfreezing"

    def on_epoch_start(self, state: TrainingState) -> None:
        groups = state.model.parameter_groups()
        cut = len(groups) - (state.epoch + 1)
        for i, group in enumerate(groups):
            for p in group:
                p.requires_grad_(i >= cut)


class BestModel(Callback):
    """Writes the model into `RUN/best/` whenever an evaluation is the best so far (rank 0).

    The same folder swap as the last checkpoint: a kill at any moment leaves the previous best or
    the new one readable, never a mix (`state.save_best`). Which evaluation is best is the trainer's to
    say (`state.improved`, kept in its state), by the task's `selection` metric.
    """

    key = "best_model"

    def on_fit_start(self, state: TrainingState) -> None:
        if state.is_main:  # a resumed run whose last best-model swap was cut short
            run_folder.recover(state.run_dir / run_folder.BEST)

    def on_evaluate(self, state: TrainingState, metrics: dict) -> None:
        if state.improved:
            state.save_best()


class LastCheckpoint(Callback):
    """The resume checkpoint `RUN/checkpoint-last/`: every `every` steps and after every evaluation.

    A run's last step is not saved mid-epoch (`state.ending`): it is saved once, after its
    evaluation. Keep it the last callback, so the checkpoint holds every other callback's state.
    Every process calls `state.save_last` (it gathers their states); rank 0 writes.
    """

    key = "last_checkpoint"

    def __init__(self, every: int):
        self.every = every

    def on_step_end(self, state: TrainingState) -> None:
        if state.global_step % self.every == 0 and not state.ending:
            state.save_last()

    def on_epoch_end(self, state: TrainingState) -> None:
        state.save_last()


class MetricLog(Callback):
    """`metrics.csv` (a row per evaluation: `state.history`), `steps.csv` (a row every
    `trainer.log_every` steps) and `curves.png` (both against the step, titled with the run's name).

    The step rows are its state, so a resumed run's steps.csv is the uninterrupted run's: the rows
    a killed run wrote after its last checkpoint are dropped by rewriting the file whole at the
    first write after loading; after that rows are appended.
    """

    key = "metric_log"

    def __init__(self):
        self.steps: list[dict] = []
        self._rewrite = True

    def _guarded(self, state: TrainingState, write) -> None:
        if not state.is_main:
            return
        try:
            write(state.run_dir)
        except OSError as exc:  # the history writers name the file; no temporary one is left behind
            where = exc.filename or f"metrics into {state.run_dir}"
            raise SaveError(f"could not write {where}: {exc.strerror or exc}") from None

    def on_log(self, state: TrainingState, row: dict) -> None:
        self.steps.append(row)
        rewrite, self._rewrite = self._rewrite, False
        self._guarded(state, lambda run: (write_csv if rewrite else append_csv)(self.steps, run / "steps.csv"))

    def on_evaluate(self, state: TrainingState, metrics: dict) -> None:
        def write(run):
            write_csv(state.history, run / "metrics.csv")
            plot_curves(state.history, run / "curves.png", title=f"{run.name} ({state.cfg.task})", steps=self.steps)

        self._guarded(state, write)

    def state_dict(self) -> dict:
        return {"steps": list(self.steps)}

    def load_state_dict(self, state: dict) -> None:
        self.steps = list(state.get("steps", []))
        self._rewrite = True


class EarlyStopping(Callback):
    """Stops the run once `patience` evaluations in a row have not improved on the best one
    (by the task's `selection` metric, as the best model). Its count is its state, so a resumed
    run stops where the uninterrupted one would; a run it stopped stays stopped when resumed."""

    key = "early_stopping"

    def __init__(self, patience: int):
        self.patience = patience
        self.waited = 0

    def on_evaluate(self, state: TrainingState, metrics: dict) -> None:
        self.waited = 0 if state.improved else self.waited + 1
        if self.waited >= self.patience:
            key = state.selection[0]
            state.request_stop(f"early stopping: valid {key} has not improved for {self.waited} evaluations")

    def state_dict(self) -> dict:
        return {"waited": self.waited}

    def load_state_dict(self, state: dict) -> None:
        self.waited = int(state.get("waited", 0))


def tensorboard_available() -> bool:
    """Whether the tensorboard package (which torch.utils.tensorboard writes with) is installed."""
    return importlib.util.find_spec("tensorboard") is not None


def scalar_tag(key: str) -> str:
    """ "valid/f1" for "valid_f1", "train/loss" for "train_loss"; other keys ("lr") as they are."""
    split, _, name = key.partition("_")
    return f"{split}/{name}" if split in ("train", "valid") and name else key


class TensorBoardLog(Callback):
    """Every steps.csv row and every metrics.csv row as scalars at its step (rank 0 writes); the writer is
    closed in `on_fit_close`, so a run that fails or is interrupted leaves no file handle or thread open."""

    key = "tensorboard"

    def __init__(self) -> None:
        self.writer: Any = None

    def on_fit_start(self, state: TrainingState) -> None:
        if not state.is_main:
            return
        from torch.utils.tensorboard import SummaryWriter

        try:
            self.writer = SummaryWriter(str(state.run_dir / TENSORBOARD), purge_step=state.global_step or None)
        except OSError as exc:
            raise SaveError(f"could not write {state.run_dir / TENSORBOARD}: {exc.strerror or exc}") from None

    def _write(self, row: dict) -> None:
        if self.writer is None:
            return
        step = int(row.get("step", 0))
        try:
            for key, value in row.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(scalar_tag(key), float(value), step)
            self.writer.flush()
        except OSError as exc:
            raise SaveError(f"could not write TensorBoard events into {self.writer.log_dir}: {exc.strerror or exc}") from None

    def on_log(self, state: TrainingState, row: dict) -> None:
        self._write(row)

    def on_evaluate(self, state: TrainingState, metrics: dict) -> None:
        if state.history:
            self._write(state.history[-1])

    def on_fit_close(self, state: TrainingState) -> None:
        """Close the writer (its file and its thread) however the run ended."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()


@functools.cache
def _say_tensorboard_missing() -> None:
    """Once a process: a pipeline of several runs (the demo's stages) would say it once a run."""
    log.info('trainer.tensorboard: tensorboard is not installed (pip install "rnn-nlp[tensorboard]"); metrics go to the CSV files only')


def builtin_callbacks(tcfg: Any, extra: Sequence[Callback] = ()) -> list[Callback]:
    """The callbacks `TrainerConfig` asks for, with `extra` (the caller's) before the last
    checkpoint, which comes last so that it saves everyone's state."""
    out: list[Callback] = []
    if tcfg.gradual_unfreezing:
        out.append(GradualUnfreezing())
    out += [MetricLog(), BestModel()]
    if getattr(tcfg, "tensorboard", False):
        if tensorboard_available():
            out.append(TensorBoardLog())
        else:
            _say_tensorboard_missing()
    if tcfg.early_stopping_patience:
        out.append(EarlyStopping(tcfg.early_stopping_patience))
    out += list(extra)
    out.append(LastCheckpoint(tcfg.checkpoint_every))
    keys = [cb.state_key() for cb in out]
    doubled = sorted({k for k in keys if keys.count(k) > 1})
    if doubled:
        raise ValueError(f"callbacks with the same key {doubled}: give each its own `key`")
    return out
