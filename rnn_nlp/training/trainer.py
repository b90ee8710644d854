"""The training loop. It knows `loss = model(batch)["loss"]` (with trainer.adversarial,
`model.adversarial_forward(batch, eps)["loss"]`), parameter groups and nothing of tasks.

A task supplies batches, an evaluation function and its vocabularies (`contract.TrainingTask`: all
the loop asks of it); the loop supplies optimisation, schedules, clipping, mixed precision, progress,
resumption (same data position, optimiser, schedule and RNG as an uninterrupted run), non-finite
losses (skip, roll back or stop) and data parallelism through a `distributed` context (each process
trains on its shard; rank 0 alone writes). What happens around the loop (checkpoints, the best model,
metric files, gradual unfreezing, early stopping, the caller's own) is done by callbacks
(`rnn_nlp.training.callbacks`) at its hooks, each handed a `contract.TrainingState`, not the trainer.
The loop says whether an evaluation is the best so far, as spaCy's `train_while_improving` yields
`is_best_checkpoint`, and leaves the saving to them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import torch
from tqdm.auto import tqdm

from rnn_nlp.config import RunConfig
from rnn_nlp.errors import CheckpointError, ConfigError, SaveError, TrainingInterrupted  # noqa: F401 (TrainingInterrupted re-exported)
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import nonfinite, run_folder
from rnn_nlp.training.callbacks import Callback, builtin_callbacks
from rnn_nlp.training.contract import AdversarialNetwork, TrainingState, TrainingTask
from rnn_nlp.training.distributed import Single
from rnn_nlp.training.optim import build_optimizer, build_scheduler, decoupled_weight_decay, lower_lr, lr_scaled
from rnn_nlp.training.run_folder import LAST
from rnn_nlp.training.runtime import StopFlag, resolve_device, rng_state, seed_everything, set_rng_state  # noqa: F401 (re-exported)
from rnn_nlp.training.state_check import check_same_data, check_state, saved_fingerprint

log = logging.getLogger(__name__)

# The trainer's own fields saved in its state, with what a state without the optional ones takes.
COUNTERS: dict[str, Any] = {
    "epoch": 0,
    "step_in_epoch": 0,
    "global_step": 0,
    "best": None,
    "stop_reason": None,
    "history": [],
    "epoch_loss_sum": 0.0,
    "epoch_loss_steps": 0,
    "window_loss_sum": 0.0,
    "window_loss_steps": 0,
    "elapsed": 0.0,
    "tokens_seen": 0,
    "skipped_steps": 0,
    "rollbacks": 0,
}


class Trainer:
    """Runs `task`'s model to the end of its schedule, writing into `run_dir`.

    `callbacks` are the caller's own (`rnn_nlp.training.callbacks.Callback`), called after the
    built-ins that `cfg.trainer` asks for and before the last checkpoint (which saves their state).
    """

    def __init__(
        self,
        cfg: RunConfig,
        task: TrainingTask,
        model: torch.nn.Module,
        run_dir: str | Path,
        device: torch.device,
        dist: Single | None = None,
        callbacks: Sequence[Callback] = (),
    ):
        self.cfg = cfg
        self.dist = dist or Single()
        self.tcfg = cfg.trainer
        self.task = task
        self.model = model
        if self.tcfg.adversarial and not isinstance(model, AdversarialNetwork):
            raise ConfigError(f"trainer.adversarial: {type(model).__name__} has no adversarial_forward (no word embeddings to move)")
        self.run_dir = Path(run_dir)
        self.device = device
        self.optimizer = build_optimizer(model.parameter_groups(), self.tcfg)
        self.steps_per_epoch = task.steps_per_epoch()
        total = min(n for n in (self.tcfg.max_steps, self.tcfg.epochs * self.steps_per_epoch) if n)
        self.scheduler, self.schedule_unit = build_scheduler(self.optimizer, self.tcfg, total)
        # The validation metric that picks the best model, and whether higher or lower is better.
        self.selection: tuple[str, str] = task.selection
        self.callbacks = builtin_callbacks(self.tcfg, list(callbacks))
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.best: float | None = None  # the best selection score so far (lower is better)
        self.improved = False  # whether the latest evaluation set `best`
        self.ending = False  # whether the step just taken is the run's last (it is saved after evaluation)
        self.stop_reason: str | None = None  # set by `request_stop`; a stopped run stays stopped
        self.history: list[dict] = []
        self.epoch_loss_sum = 0.0
        self.epoch_loss_steps = 0
        self.window_loss_sum = 0.0  # the loss since the last `log_every` row
        self.window_loss_steps = 0
        self.elapsed = 0.0
        self.tokens_seen = 0
        self.skipped_steps = 0  # non-finite steps skipped
        self.rollbacks = 0
        self.rollback_to: tuple = (None, 0)  # (checkpoint step, retries from it): how far a rollback lowers the lr
        self._pending = torch.zeros((), device=device)  # loss summed on the device since the last host sync
        self._pending_steps = 0
        self._clock: float | None = None  # when the current stretch of training started
        self._fingerprint: dict | None = None  # the task's data_fingerprint, computed once a run
        if self.dist.active:
            self.dist.broadcast_parameters(model)
            torch.manual_seed(self.tcfg.seed + 7919 * self.dist.rank)  # own dropout masks per process
        use_amp = self.tcfg.amp and device.type == "cuda"
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else contextlib.nullcontext
        if self.tcfg.amp and device.type != "cuda":
            log.info("trainer.amp is for CUDA; training in float32 on %s", device)

    # ---- state -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed run needs; collective (every process calls it) when data-parallel."""
        self._sync_loss()
        self._tick()
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
            "rng": rng_state(),
            **{key: getattr(self, key) for key in COUNTERS},
            "runtime_state": self.model.runtime_state(),
            "callbacks": {cb.state_key(): cb.state_dict() for cb in self.callbacks},
            "data": self.data_fingerprint(),
        }
        if self.dist.active:  # every process has its own RNG and recurrent state
            ranks = self.dist.gather_objects({"rng": state["rng"], "runtime_state": state["runtime_state"]})
            state["ranks"] = ranks
        return state

    def data_fingerprint(self) -> dict:
        """The task's `data_fingerprint` (split -> counts and hash), computed once: the data does not change
        while a run trains."""
        if self._fingerprint is None:
            self._fingerprint = dict(self.task.data_fingerprint())
        return self._fingerprint

    def load_state_dict(self, state: dict, source: str | Path = run_folder.TRAINER_STATE) -> None:
        """Take up a saved state (optional keys take their defaults, so a state without them resumes).

        The state is checked first (`state_check.check_state`): a file of the wrong shape is a
        CheckpointError naming `source` (the file it was read from) and the key. A state saved on other
        data than this run's (its `data` fingerprint differs) is a DataError saying which split changed;
        states saved before fingerprints were kept resume with nothing to compare. Should loading the
        optimiser, scheduler, recurrent state or a callback's state still fail, the CheckpointError
        leaves this trainer part-loaded: it must not train on.
        """
        source = str(source)
        fingerprint = saved_fingerprint(state, source)
        if fingerprint is not None:
            check_same_data(fingerprint, self.data_fingerprint(), self.run_dir)
        check_state(state, source, self.tcfg.epochs, self.task.epoch_steps, self.optimizer, self.scheduler)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise CheckpointError(f"{source}: optimizer does not fit this run's optimiser ({type(exc).__name__}: {exc})") from None
        if self.scheduler is not None and state["scheduler"]:
            try:
                self.scheduler.load_state_dict(state["scheduler"])
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
                raise CheckpointError(f"{source}: scheduler does not fit this run's schedule ({type(exc).__name__}: {exc})") from None
        for key, default in COUNTERS.items():  # the required ones are there (check_state)
            setattr(self, key, state.get(key, default))
        self.history = list(self.history)
        self._pending.zero_()
        self._pending_steps = 0
        saved = state.get("callbacks", {})
        for cb in self.callbacks:
            if cb.state_key() in saved:
                try:
                    cb.load_state_dict(saved[cb.state_key()])
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise CheckpointError(
                        f"{source}: callbacks.{cb.state_key()} could not be taken back by {type(cb).__name__} ({type(exc).__name__}: {exc})"
                    ) from None
        own = state
        ranks = state.get("ranks")
        if self.dist.active or ranks:
            if ranks and len(ranks) == self.dist.world_size:
                own = ranks[self.dist.rank]
            else:
                log.warning(
                    "resuming with %d processes from a checkpoint of %d: not bitwise identical to an uninterrupted run",
                    self.dist.world_size,
                    len(ranks) if ranks else 1,
                )
        try:
            self.model.load_runtime_state(own["runtime_state"])
        except (ValueError, KeyError, TypeError, IndexError, RuntimeError) as exc:
            raise CheckpointError(f"{source}: runtime_state does not fit this model ({type(exc).__name__}: {exc})") from None
        set_rng_state(own["rng"])

    def save_last(self) -> Path:
        """The resume checkpoint; every process must call it, rank 0 writes it."""
        state = self.state_dict()
        if not self.dist.is_main:
            return self.run_dir / LAST
        return ckpt.save_checkpoint(self.run_dir / LAST, self.cfg, self.task.vocab_json(), self.model, state)

    def save_best(self) -> Path:
        """The model as the run's best (RUN/best), written by rank 0 alone (the others return its path)."""
        if self.dist.is_main:
            ckpt.save_checkpoint(self.run_dir / run_folder.BEST, self.cfg, self.task.vocab_json(), self.model)
        return self.run_dir / run_folder.BEST

    def request_stop(self, reason: str) -> None:
        """End the run at the next step boundary (or before the next epoch), as if its budget ran out."""
        if self.stop_reason is None:
            self.stop_reason = reason
            log.info("%s: stopping", reason)

    def roll_back(self) -> None:
        """Reload the last checkpoint (weights, optimiser, data position, RNG) and lower every lr: after the
        k-th rollback to the same checkpoint its learning rates are multiplied by factor ** k, so each retry
        is a different, gentler step, not the same failure again."""
        last = self.run_dir / LAST
        failed_at = self.global_step + 1
        rollbacks, skipped, elapsed = self.rollbacks + 1, self.skipped_steps, self.elapsed
        checkpoint = ckpt.read_checkpoint(last)
        ckpt.load_model_weights(self.model, checkpoint.weights(), checkpoint.folder)
        self.load_state_dict(checkpoint.trainer_state(), source=checkpoint.folder / run_folder.TRAINER_STATE)
        # wall time spent still counts towards the budget; the counters are never rolled back
        self.rollbacks, self.skipped_steps, self.elapsed = rollbacks, skipped, elapsed
        # the checkpoint's rates were saved before any rollback to it: the factor compounds per retry of the same one
        step, retries = self.rollback_to
        retries = retries + 1 if step == self.global_step else 1
        self.rollback_to = (self.global_step, retries)
        factor = self.tcfg.rollback_lr_factor**retries
        lower_lr(self.optimizer, self.scheduler, factor)
        nonfinite.log_rolled_back(failed_at, self.global_step, last, factor, self.current_lr(), rollbacks, self.tcfg.max_rollbacks)

    # ---- bookkeeping -----------------------------------------------------------------
    def current_lr(self) -> float:
        return self.optimizer.param_groups[-1]["lr"]

    def training_state(self) -> TrainingState:
        """What the callbacks see of the run now, and the trainer's methods they may call."""
        key, mode = self.selection
        best = None if self.best is None else (self.best if mode == "min" else -self.best)
        return TrainingState(
            epoch=self.epoch,
            step_in_epoch=self.step_in_epoch,
            global_step=self.global_step,
            ending=self.ending,
            improved=self.improved,
            best=best,
            history=tuple(self.history),
            selection=self.selection,
            run_dir=self.run_dir,
            cfg=self.cfg,
            model=self.model,
            dist=self.dist,
            _stop=self.request_stop,
            _save_last=self.save_last,
            _save_best=self.save_best,
        )

    def _call(self, hook: str, *args: Any) -> None:
        """Call `hook` of every callback with the state of the run (one snapshot for them all)."""
        state = self.training_state()
        for cb in self.callbacks:
            getattr(cb, hook)(state, *args)

    def _tick(self) -> None:
        """Count the training time since the stretch's clock last started (evaluation is not counted)."""
        if self._clock is not None:
            now = time.perf_counter()
            self.elapsed += now - self._clock
            self._clock = now

    def _sync_loss(self) -> None:
        """Bring the loss summed on the device to the host: one all-reduce over the processes."""
        if not self._pending_steps:
            return
        value = self.dist.all_reduce(self._pending.reshape(1)).item() / self.dist.world_size
        self.epoch_loss_sum += value
        self.epoch_loss_steps += self._pending_steps
        self.window_loss_sum += value
        self.window_loss_steps += self._pending_steps
        self._pending.zero_()
        self._pending_steps = 0

    def _train_metrics(self, train_loss: float) -> dict:
        """The task's view of its training loss (e.g. perplexity), as `train_*` columns."""
        return {f"train_{k}": v for k, v in self.task.train_metrics(train_loss).items()}

    def _log_steps(self, bar: Any) -> None:
        """The row of the last `log_every` steps (their mean training loss) for the `on_log` hooks."""
        self._sync_loss()
        if self.window_loss_steps:
            loss = self.window_loss_sum / self.window_loss_steps
            epoch = round(self.epoch + self.step_in_epoch / max(1, self.steps_per_epoch), 4)
            row = {"step": self.global_step, "epoch": epoch, "train_loss": loss, **self._train_metrics(loss), "lr": self.current_lr()}
            bar.set_postfix(loss=f"{loss:.3f}", lr=f"{self.current_lr():.3g}")
            self._call("on_log", row)
        self.window_loss_sum, self.window_loss_steps = 0.0, 0

    # ---- the loop --------------------------------------------------------------------
    def _step(self, batch: dict) -> tuple[torch.Tensor, int] | None:
        """One optimiser step; None (and no update) when the loss or gradient is not finite."""
        with self.autocast():
            if self.tcfg.adversarial:  # Miyato et al. 2017: + the loss at word embeddings moved along its gradient
                # (__init__ checked that the model is an AdversarialNetwork)
                out = cast(AdversarialNetwork, self.model).adversarial_forward(batch, self.tcfg.adversarial)
            else:
                out = self.model(batch)
        loss = out["loss"]
        if not torch.is_tensor(loss) or loss.dim() != 0:
            raise TypeError(f"{type(self.model).__name__}.forward must return a scalar 'loss' tensor")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.dist.average_gradients(self.model.parameters())
        bad = ~torch.isfinite(loss.detach())
        # without clipping, an infinite max_norm only measures the norm (a NaN gradient must not step)
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tcfg.clip_norm or float("inf"))
        bad |= ~torch.isfinite(norm)
        # one scalar sync a step: every process must agree before anything is updated
        if self.dist.all_reduce(bad.float().reshape(1), "max").item():
            self.optimizer.zero_grad(set_to_none=True)
            return None
        decoupled_weight_decay(self.optimizer, self.tcfg)
        with lr_scaled(self.optimizer, float(out.get("lr_scale", 1.0))):  # the model's per-batch lr factor
            self.optimizer.step()
        if self.scheduler is not None and self.schedule_unit == "step":
            self.scheduler.step()
        return out.get("log_loss", loss.detach()), int(out.get("tokens", 0))

    def _finish_epoch(self, epoch_done: bool) -> None:
        """Evaluate, log the row, tell the callbacks (and whether it is the best so far), step the schedule."""
        self._sync_loss()
        if self.epoch_loss_steps:
            train_loss = self.epoch_loss_sum / self.epoch_loss_steps
        else:  # every step of the stretch was skipped (non-finite): there is no training loss to show
            train_loss = float("nan")
            log.warning("epoch %d: no step had a finite loss, so train_loss is NaN", self.epoch + 1)
        # rank 0 evaluates (every process holds the same weights) and tells the others
        metrics = self.task.evaluate(self.model, "valid", self.device) if self.dist.is_main else None
        metrics = self.dist.broadcast_object(metrics)
        row = {
            "epoch": self.epoch + (1 if epoch_done else self.step_in_epoch / max(1, self.steps_per_epoch)),
            "step": self.global_step,
            "train_loss": train_loss,
            **self._train_metrics(train_loss),
        }
        row.update({f"valid_{k}": v for k, v in metrics.items()})
        row["lr"] = self.current_lr()
        row["tokens_per_s"] = self.tokens_seen / max(self.elapsed, 1e-9)
        row["elapsed_s"] = self.elapsed
        if self.skipped_steps or self.rollbacks:
            row["skipped_steps"] = self.skipped_steps
            row["rollbacks"] = self.rollbacks
        self.history.append(row)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "epoch")
        log.info("epoch %.4g: %s", row["epoch"], shown)
        key, mode = self.selection
        score = metrics[key] if mode == "min" else -metrics[key]
        # valid seen in training (data.train_with_dev): its score picks nothing, the latest model is the best
        held_out = self.task.valid_held_out
        # a NaN score or NaN weights (a classifier's accuracy stays finite) is never the best: best/ holds a usable model
        better = self.best is None or score < self.best or not held_out
        self.improved = math.isfinite(score) and self._weights_finite() and better
        if self.improved:
            self.best = score
        self._call("on_evaluate", metrics)
        # (a NaN training loss, every step skipped, tells the plateau nothing: that epoch is not counted)
        if self.scheduler is not None and self.schedule_unit == "epoch" and epoch_done and (held_out or math.isfinite(train_loss)):
            self.scheduler.step(metrics["loss"] if held_out else train_loss)
        self.epoch_loss_sum, self.epoch_loss_steps = 0.0, 0

    def _weights_finite(self) -> bool:
        """Whether every weight is finite (one device sync for them all)."""
        flags = [torch.isfinite(p.detach()).all() for p in self.model.parameters()]
        return not flags or bool(torch.stack(flags).all())

    def _train_epoch(self, stop: StopFlag) -> tuple[bool, bool]:
        """Train the current epoch from `step_in_epoch` until it ends, the run ends or a step must be
        rolled back. Returns (whether the epoch's batches were all used, whether to roll back)."""
        batches = iter(self.task.train_batches(self.epoch, self.step_in_epoch, self.device))
        bar = tqdm(
            total=self.steps_per_epoch,
            initial=self.step_in_epoch,
            desc=f"epoch {self.epoch + 1}/{self.tcfg.epochs}",
            disable=not self.tcfg.progress or not self.dist.is_main,
            leave=False,
            mininterval=1.0,
        )
        self._clock = time.perf_counter()
        try:
            for batch in batches:
                result = self._step(self.dist.shard(self.task, batch))
                if result is None and self._nonfinite() == "rollback":
                    return False, True
                if result is not None:
                    loss, tokens = result
                    self._pending += loss.float()
                    self._pending_steps += 1
                    self.tokens_seen += tokens * self.dist.world_size
                self.step_in_epoch += 1
                self.global_step += 1
                bar.update(1)
                if self.global_step % self.tcfg.log_every == 0:
                    self._log_steps(bar)
                done, stopping = self._done(), stop.raised
                if self.dist.active:  # every process must stop at the same step
                    flags = torch.tensor([float(done), float(stopping)], device=self.device)
                    done, stopping = (bool(f) for f in self.dist.all_reduce(flags, "max").tolist())
                self.ending = done or stopping
                self._call("on_step_end")
                if stopping:
                    raise TrainingInterrupted(self.save_last())
                if done:
                    # a budget that runs out on the epoch's last batch still ends the epoch
                    return next(batches, None) is None, False
            return True, False
        finally:
            self._tick()
            self._clock = None
            bar.close()

    def fit(self) -> list[dict]:
        """Train to the configured end (or a requested stop); returns the per-evaluation history."""
        if self.dist.is_main:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SaveError(f"cannot create the run folder {self.run_dir}: {exc}") from None
        if self.tcfg.on_nonfinite == "rollback" and not run_folder.resolve(self.run_dir / LAST).exists():
            self.save_last()  # something good to roll back to
            self.dist.barrier()
        try:
            self._call("on_fit_start")
            with StopFlag() as stop:
                while self.epoch < self.tcfg.epochs and not self._done():
                    self.model.train()
                    self._call("on_epoch_start")
                    if self.step_in_epoch == 0:
                        self.model.reset_runtime_state()
                    epoch_done, roll_back = self._train_epoch(stop)
                    if roll_back:
                        self.roll_back()
                        continue
                    self._finish_epoch(epoch_done)
                    if epoch_done:
                        self.epoch += 1
                        self.step_in_epoch = 0
                    self._call("on_epoch_end")
            self._call("on_fit_end")
        finally:
            self._close_callbacks()
        return self.history

    def _close_callbacks(self) -> None:
        """Every callback's `on_fit_close`, however `fit` ends (returned, raised, interrupted), so that none keeps
        a file or a thread open in a long-lived process. A failing close is logged, never raised: it must not
        hide the error that ended the run, nor keep the other callbacks from closing."""
        state = self.training_state()
        for cb in self.callbacks:
            try:
                cb.on_fit_close(state)
            except Exception as exc:
                log.warning("%s could not close: %s: %s", type(cb).__name__, type(exc).__name__, exc)

    def _nonfinite(self) -> str:
        """What follows a step that was not taken (its loss or gradient NaN/inf): 'skip' (counted) or 'rollback'."""
        what = nonfinite.action(
            self.tcfg.on_nonfinite, self.epoch, self.global_step, self.rollbacks, self.tcfg.max_rollbacks, self.run_dir / LAST
        )
        if what == "skip":
            self.skipped_steps += 1
            nonfinite.log_skipped(self.epoch, self.global_step, self.skipped_steps)
        return what

    def _done(self) -> bool:
        """max_steps reached, the time budget spent (counting the current stretch), or a stop requested."""
        if self.stop_reason is not None:
            return True
        if self.tcfg.max_steps is not None and self.global_step >= self.tcfg.max_steps:
            return True
        if self.tcfg.time_budget_s is not None:
            running = time.perf_counter() - self._clock if self._clock is not None else 0.0
            return self.elapsed + running >= self.tcfg.time_budget_s
        return False
