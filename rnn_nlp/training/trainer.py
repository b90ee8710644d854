"""The training loop. It knows `loss = model(batch)["loss"]`, parameter groups and nothing of tasks.

A task supplies batches, an evaluation function and its vocabularies; the loop supplies
optimisation, schedules, clipping, mixed precision, progress, metric logs, checkpoints
and resumption (same data position, optimiser, schedule and RNG as an uninterrupted run),
non-finite losses (skip, roll back or stop), and data parallelism through a `distributed`
context (each process trains on its shard; rank 0 alone writes).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path
from typing import Any, Optional

import torch
from tqdm.auto import tqdm

from rnn_nlp.config import RunConfig
from rnn_nlp.errors import NonFiniteLossError, SaveError
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.distributed import Single
from rnn_nlp.training.history import plot_curves, write_csv
from rnn_nlp.training.optim import build_optimizer, build_scheduler, decoupled_weight_decay
from rnn_nlp.training.runtime import StopFlag, rng_state, seed_everything, set_rng_state  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)

LAST = "checkpoint-last"


class TrainingInterrupted(Exception):
    """Raised after Ctrl-C (or SIGTERM) once a resumable checkpoint has been written."""

    def __init__(self, path: Path):
        super().__init__(f"training interrupted; checkpoint saved in {path}; continue with --resume")
        self.path = path


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from rnn_nlp.errors import ConfigError

        raise ConfigError("trainer.device: cuda was asked for but no CUDA device is available")
    return torch.device(name)


class Trainer:
    """Runs `task`'s model to the end of its schedule, writing into `run_dir`."""

    def __init__(
        self,
        cfg: RunConfig,
        task: Any,
        model: torch.nn.Module,
        run_dir: str | Path,
        device: torch.device,
        dist: Optional[Single] = None,
    ):
        self.cfg = cfg
        self.dist = dist or Single()
        self.tcfg = cfg.trainer
        self.task = task
        self.model = model
        self.run_dir = Path(run_dir)
        self.device = device
        self.optimizer = build_optimizer(model.parameter_groups(), self.tcfg)
        self.steps_per_epoch = task.steps_per_epoch()
        total = min(n for n in (self.tcfg.max_steps, self.tcfg.epochs * self.steps_per_epoch) if n)
        self.scheduler, self.schedule_unit = build_scheduler(self.optimizer, self.tcfg, total)
        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.best: Optional[float] = None
        self.history: list[dict] = []
        self.epoch_loss_sum = 0.0
        self.epoch_loss_steps = 0
        self.elapsed = 0.0
        self.tokens_seen = 0
        self.skipped_steps = 0  # non-finite steps skipped
        self.rollbacks = 0
        if self.dist.active:
            self.dist.broadcast_parameters(model)
            torch.manual_seed(self.tcfg.seed + 7919 * self.dist.rank)  # own dropout masks per process
        use_amp = self.tcfg.amp and device.type == "cuda"
        self.autocast = (
            (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else contextlib.nullcontext
        )
        if self.tcfg.amp and device.type != "cuda":
            log.info("trainer.amp is for CUDA; training in float32 on %s", device)

    # ---- state -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a resumed run needs; collective (every process calls it) when data-parallel."""
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
            "rng": rng_state(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best": self.best,
            "history": self.history,
            "epoch_loss_sum": self.epoch_loss_sum,
            "epoch_loss_steps": self.epoch_loss_steps,
            "elapsed": self.elapsed,
            "tokens_seen": self.tokens_seen,
            "runtime_state": self.model.runtime_state(),
            "skipped_steps": self.skipped_steps,
            "rollbacks": self.rollbacks,
        }
        if self.dist.active:  # every process has its own RNG and recurrent state
            ranks = self.dist.gather_objects({"rng": state["rng"], "runtime_state": state["runtime_state"]})
            state["ranks"] = ranks
        return state

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"]:
            self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = state["epoch"]
        self.step_in_epoch = state["step_in_epoch"]
        self.global_step = state["global_step"]
        self.best = state["best"]
        self.history = list(state["history"])
        self.epoch_loss_sum = state["epoch_loss_sum"]
        self.epoch_loss_steps = state["epoch_loss_steps"]
        self.elapsed = state["elapsed"]
        self.tokens_seen = state["tokens_seen"]
        self.skipped_steps = state.get("skipped_steps", 0)
        self.rollbacks = state.get("rollbacks", 0)
        own = state
        ranks = state.get("ranks")
        if self.dist.active or ranks:
            if ranks and len(ranks) == self.dist.world_size:
                own = ranks[self.dist.rank]
            else:
                log.warning("resuming with %d processes from a checkpoint of %d: not bitwise identical to an "
                            "uninterrupted run", self.dist.world_size, len(ranks) if ranks else 1)
        self.model.load_runtime_state(own["runtime_state"])
        set_rng_state(own["rng"])

    def save_last(self) -> Path:
        """The resume checkpoint; every process must call it, rank 0 writes it."""
        state = self.state_dict()
        if not self.dist.is_main:
            return self.run_dir / LAST
        return ckpt.save_checkpoint(self.run_dir / LAST, self.cfg, self.task.vocab_json(), self.model, state)

    def save_best(self) -> None:
        """The run folder itself is a checkpoint of the best model (no trainer state)."""
        if not self.dist.is_main:
            return
        tmp = ckpt.save_checkpoint(self.run_dir / ".best", self.cfg, self.task.vocab_json(), self.model)
        try:
            for name in ckpt.REQUIRED:
                (tmp / name).replace(self.run_dir / name)
            # meta.json is replaced last, so a crash in between leaves a mismatch, never a silent mix
            for leftover in tmp.iterdir():
                leftover.unlink()
            tmp.rmdir()
        except OSError as exc:
            raise SaveError(f"could not write the best model into {self.run_dir}: {exc}") from None

    def _write_logs(self) -> None:
        if not self.dist.is_main:
            return
        try:
            write_csv(self.history, self.run_dir / "metrics.csv")
            plot_curves(self.history, self.run_dir / "curves.png")
        except OSError as exc:
            raise SaveError(f"could not write metrics into {self.run_dir}: {exc}") from None

    # ---- the loop --------------------------------------------------------------------
    def current_lr(self) -> float:
        return self.optimizer.param_groups[-1]["lr"]

    def _step(self, batch: dict) -> Optional[tuple[torch.Tensor, int]]:
        """One optimiser step; None (and no update) when the loss or gradient is not finite."""
        with self.autocast():
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
        scale = float(out.get("lr_scale", 1.0))  # e.g. AWD-LSTM's lr x seq_len / bptt
        if scale != 1.0:
            for group in self.optimizer.param_groups:
                group["lr"] *= scale
        self.optimizer.step()
        if scale != 1.0:
            for group in self.optimizer.param_groups:
                group["lr"] /= scale
        if self.scheduler is not None and self.schedule_unit == "step":
            self.scheduler.step()
        return out.get("log_loss", loss.detach()), int(out.get("tokens", 0))

    def _finish_epoch(self, epoch_done: bool) -> None:
        train_loss = self.epoch_loss_sum / max(1, self.epoch_loss_steps)
        # rank 0 evaluates (every process holds the same weights) and tells the others
        metrics = self.task.evaluate(self.model, "valid", self.device) if self.dist.is_main else None
        metrics = self.dist.broadcast_object(metrics)
        row = {
            "epoch": self.epoch + (1 if epoch_done else self.step_in_epoch / max(1, self.steps_per_epoch)),
            "step": self.global_step,
            "train_loss": train_loss,
        }
        if "ppl" in metrics:
            row["train_ppl"] = math.exp(min(train_loss, 50))
        row.update({f"valid_{k}": v for k, v in metrics.items()})
        row["lr"] = self.current_lr()
        row["tokens_per_s"] = self.tokens_seen / max(self.elapsed, 1e-9)
        row["elapsed_s"] = self.elapsed
        if self.skipped_steps or self.rollbacks:
            row["skipped_steps"] = self.skipped_steps
            row["rollbacks"] = self.rollbacks
        self.history.append(row)
        self._write_logs()
        shown = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "epoch")
        log.info("epoch %.4g: %s", row["epoch"], shown)
        valid_loss = metrics["loss"]
        key, mode = getattr(self.task, "selection", ("loss", "min"))
        score = metrics[key] if mode == "min" else -metrics[key]
        if self.best is None or score < self.best:
            self.best = score
            self.save_best()
        if self.scheduler is not None and self.schedule_unit == "epoch" and epoch_done:
            self.scheduler.step(valid_loss)
        self.epoch_loss_sum, self.epoch_loss_steps = 0.0, 0

    def fit(self) -> list[dict]:
        """Train to the configured end; returns the per-epoch history."""
        if self.dist.is_main:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise SaveError(f"cannot create the run folder {self.run_dir}: {exc}") from None
        cfg = self.tcfg
        if cfg.on_nonfinite == "rollback" and not ckpt.resolve(self.run_dir / LAST).exists():
            self.save_last()  # something good to roll back to
            self.dist.barrier()
        with StopFlag() as stop:
            while self.epoch < cfg.epochs and not self._done():
                self.model.train()
                self._unfreeze_for_epoch()
                if self.step_in_epoch == 0:
                    self.model.reset_runtime_state()
                batches = iter(self.task.train_batches(self.epoch, self.step_in_epoch, self.device))
                bar = tqdm(
                    total=self.steps_per_epoch,
                    initial=self.step_in_epoch,
                    desc=f"epoch {self.epoch + 1}/{cfg.epochs}",
                    disable=not cfg.progress or not self.dist.is_main,
                    leave=False,
                    mininterval=1.0,
                )
                pending = torch.zeros((), device=self.device)
                pending_steps = 0
                started = time.perf_counter()
                epoch_done = True
                rolled_back = False
                for batch in batches:
                    result = self._step(self.dist.shard(self.task, batch))
                    if result is None and self._nonfinite() == "rollback":
                        rolled_back = True
                        break
                    if result is not None:
                        loss, tokens = result
                        pending += loss.float()
                        pending_steps += 1
                        self.tokens_seen += tokens * self.dist.world_size
                    self.step_in_epoch += 1
                    self.global_step += 1
                    bar.update(1)
                    done, stopping = self._done(started), stop.raised
                    if self.dist.active:  # every process must stop at the same step
                        flags = torch.tensor([float(done), float(stopping)], device=self.device)
                        done, stopping = (bool(f) for f in self.dist.all_reduce(flags, "max").tolist())
                    checkpoint_due = self.global_step % cfg.checkpoint_every == 0
                    # the only host sync in the loop besides the finiteness check:
                    if pending_steps >= cfg.log_every or stopping or done or checkpoint_due:
                        value = self.dist.all_reduce(pending.reshape(1)).item() / self.dist.world_size
                        self.epoch_loss_sum += value
                        self.epoch_loss_steps += pending_steps
                        if pending_steps:
                            bar.set_postfix(loss=f"{value / pending_steps:.3f}", lr=f"{self.current_lr():.3g}")
                        pending.zero_()
                        pending_steps = 0
                    # a run ending here is saved once, after its evaluation, not twice
                    if stopping or (checkpoint_due and not done):
                        self.elapsed += time.perf_counter() - started
                        started = time.perf_counter()
                        path = self.save_last()
                        if stopping:
                            bar.close()
                            raise TrainingInterrupted(path)
                    if done:
                        # a budget that runs out on the epoch's last batch still ends the epoch
                        epoch_done = next(batches, None) is None
                        break
                self.elapsed += time.perf_counter() - started
                bar.close()
                if rolled_back:
                    self._rollback()
                    continue
                if pending_steps:
                    self.epoch_loss_sum += self.dist.all_reduce(pending.reshape(1)).item() / self.dist.world_size
                    self.epoch_loss_steps += pending_steps
                self._finish_epoch(epoch_done)
                if epoch_done:
                    self.epoch += 1
                    self.step_in_epoch = 0
                self.save_last()
        return self.history

    # ---- non-finite losses -----------------------------------------------------------
    def _nonfinite(self) -> str:
        """Say what happens to a step whose loss or gradient is NaN/inf; 'skip' or 'rollback'."""
        where = f"epoch {self.epoch + 1}, step {self.global_step + 1}"
        action = self.tcfg.on_nonfinite
        if action == "raise":
            raise NonFiniteLossError(
                f"non-finite loss or gradient at {where}; the last checkpoint ({self.run_dir / LAST}) is intact. "
                "Lower trainer.lr, or set trainer.on_nonfinite to skip or rollback"
            )
        if action == "rollback":
            if self.rollbacks >= self.tcfg.max_rollbacks:
                raise NonFiniteLossError(
                    f"non-finite loss or gradient at {where} after {self.rollbacks} rollbacks "
                    f"(trainer.max_rollbacks); the last checkpoint ({self.run_dir / LAST}) is intact"
                )
            return action
        self.skipped_steps += 1
        log.warning("non-finite loss or gradient at %s: step skipped (%d so far)", where, self.skipped_steps)
        return action

    def _rollback(self) -> None:
        """Reload the last checkpoint (weights, optimiser, data position, RNG) and lower every lr."""
        last = self.run_dir / LAST
        failed_at = self.global_step + 1
        rollbacks, skipped, elapsed = self.rollbacks + 1, self.skipped_steps, self.elapsed
        ckpt.load_model_weights(self.model, ckpt.load_weights(last), last)
        self.load_state_dict(ckpt.load_trainer_state(last))
        # wall time spent still counts towards the budget; the counters are never rolled back
        self.rollbacks, self.skipped_steps, self.elapsed = rollbacks, skipped, elapsed
        factor = self.tcfg.rollback_lr_factor
        for group in self.optimizer.param_groups:
            group["lr"] *= factor
        if hasattr(self.scheduler, "base_lrs"):  # per-step schedules recompute lr from base_lrs
            self.scheduler.base_lrs = [lr * factor for lr in self.scheduler.base_lrs]
        log.warning(
            "non-finite loss or gradient at step %d: rolled back to step %d (%s), learning rate x%g -> %.4g "
            "(rollback %d of at most %d)",
            failed_at, self.global_step, ckpt.resolve(last), factor, self.current_lr(), rollbacks, self.tcfg.max_rollbacks,
        )

    def _unfreeze_for_epoch(self) -> None:
        """Gradual unfreezing (ULMFiT): epoch e trains the top e+1 parameter groups only."""
        if not self.tcfg.gradual_unfreezing:
            return
        groups = self.model.parameter_groups()
        cut = len(groups) - (self.epoch + 1)
        for i, group in enumerate(groups):
            for p in group:
                p.requires_grad_(i >= cut)

    def _done(self, running_since: Optional[float] = None) -> bool:
        """max_steps reached, or the time budget spent (counting the current stretch)."""
        if self.tcfg.max_steps is not None and self.global_step >= self.tcfg.max_steps:
            return True
        if self.tcfg.time_budget_s is not None:
            spent = self.elapsed + (time.perf_counter() - running_since if running_since else 0.0)
            return spent >= self.tcfg.time_budget_s
        return False
