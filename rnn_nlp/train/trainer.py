"""The training loop. It knows `loss = model(batch)["loss"]`, parameter groups and nothing of tasks.

A task supplies batches, an evaluation function and its vocabularies; the loop supplies
optimisation, schedules, clipping, mixed precision, progress, metric logs, checkpoints
and resumption (same data position, optimiser, schedule and RNG as an uninterrupted run).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import signal
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from tqdm.auto import tqdm

from rnn_nlp.config import RunConfig
from rnn_nlp.nn.backbone import train_top_groups
from rnn_nlp.train import checkpoint as ckpt
from rnn_nlp.train.history import plot_curves, write_csv
from rnn_nlp.train.optim import build_optimizer, build_scheduler, decoupled_weight_decay

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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {
        "python": list(random.getstate()[1]),
        "python_pos": random.getstate()[2],
        "numpy": np.random.get_state()[1].tolist(),
        "numpy_pos": int(np.random.get_state()[2]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate((3, tuple(state["python"]), state["python_pos"]))
    np.random.set_state(("MT19937", np.array(state["numpy"], dtype=np.uint32), state["numpy_pos"], 0, 0.0))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _StopFlag:
    """Turns the first Ctrl-C / SIGTERM into a flag checked between steps; a second one aborts."""

    def __init__(self):
        self.raised = False
        self._previous: dict = {}

    def _handle(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True
        log.warning("stopping after this step and saving a checkpoint (press Ctrl-C again to abort)")

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class Trainer:
    """Runs `task`'s model to the end of its schedule, writing into `run_dir`."""

    def __init__(self, cfg: RunConfig, task: Any, model: torch.nn.Module, run_dir: str | Path, device: torch.device):
        self.cfg = cfg
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
        use_amp = self.tcfg.amp and device.type == "cuda"
        self.autocast = (
            (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else contextlib.nullcontext
        )
        if self.tcfg.amp and device.type != "cuda":
            log.info("trainer.amp is for CUDA; training in float32 on %s", device)

    # ---- state -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
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
        }

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
        self.model.load_runtime_state(state["runtime_state"])
        set_rng_state(state["rng"])

    def save_last(self) -> Path:
        return ckpt.save_checkpoint(self.run_dir / LAST, self.cfg, self.task.vocab_json(), self.model, self.state_dict())

    def save_best(self) -> None:
        """The run folder itself is a checkpoint of the best model (no trainer state)."""
        tmp = ckpt.save_checkpoint(self.run_dir / ".best", self.cfg, self.task.vocab_json(), self.model)
        for name in ckpt.REQUIRED:
            (tmp / name).replace(self.run_dir / name)
        # meta.json is replaced last, so a crash in between leaves a mismatch, never a silent mix
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()

    # ---- the loop --------------------------------------------------------------------
    def current_lr(self) -> float:
        return self.optimizer.param_groups[-1]["lr"]

    def _step(self, batch: dict) -> tuple[torch.Tensor, int]:
        with self.autocast():
            out = self.model(batch)
        loss = out["loss"]
        if not torch.is_tensor(loss) or loss.dim() != 0:
            raise TypeError(f"{type(self.model).__name__}.forward must return a scalar 'loss' tensor")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.tcfg.clip_norm:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.tcfg.clip_norm)
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
        metrics = self.task.evaluate(self.model, "valid", self.device)
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
        self.history.append(row)
        write_csv(self.history, self.run_dir / "metrics.csv")
        plot_curves(self.history, self.run_dir / "curves.png")
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
        self.run_dir.mkdir(parents=True, exist_ok=True)
        cfg = self.tcfg
        with _StopFlag() as stop:
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
                    disable=not cfg.progress,
                    leave=False,
                    mininterval=1.0,
                )
                pending = torch.zeros((), device=self.device)
                pending_steps = 0
                started = time.perf_counter()
                epoch_done = True
                for batch in batches:
                    loss, tokens = self._step(batch)
                    pending += loss.float()
                    pending_steps += 1
                    self.step_in_epoch += 1
                    self.global_step += 1
                    self.tokens_seen += tokens
                    bar.update(1)
                    done = self._done(started)
                    checkpoint_due = self.global_step % cfg.checkpoint_every == 0
                    # the only host sync in the loop:
                    if pending_steps >= cfg.log_every or stop.raised or done or checkpoint_due:
                        value = pending.item()
                        self.epoch_loss_sum += value
                        self.epoch_loss_steps += pending_steps
                        bar.set_postfix(loss=f"{value / pending_steps:.3f}", lr=f"{self.current_lr():.3g}")
                        pending.zero_()
                        pending_steps = 0
                    # a run ending here is saved once, after its evaluation, not twice
                    if stop.raised or (checkpoint_due and not done):
                        self.elapsed += time.perf_counter() - started
                        started = time.perf_counter()
                        path = self.save_last()
                        if stop.raised:
                            bar.close()
                            raise TrainingInterrupted(path)
                    if done:
                        # a budget that runs out on the epoch's last batch still ends the epoch
                        epoch_done = next(batches, None) is None
                        break
                if pending_steps:
                    self.epoch_loss_sum += pending.item()
                    self.epoch_loss_steps += pending_steps
                self.elapsed += time.perf_counter() - started
                bar.close()
                self._finish_epoch(epoch_done)
                if epoch_done:
                    self.epoch += 1
                    self.step_in_epoch = 0
                self.save_last()
        return self.history

    def _unfreeze_for_epoch(self) -> None:
        """Gradual unfreezing (ULMFiT): epoch e trains the top e+1 parameter groups only."""
        if not self.tcfg.gradual_unfreezing:
            return
        train_top_groups(self.model.parameter_groups(), self.epoch + 1)

    def _done(self, running_since: Optional[float] = None) -> bool:
        """max_steps reached, or the time budget spent (counting the current stretch)."""
        if self.tcfg.max_steps is not None and self.global_step >= self.tcfg.max_steps:
            return True
        if self.tcfg.time_budget_s is not None:
            spent = self.elapsed + (time.perf_counter() - running_since if running_since else 0.0)
            return spent >= self.tcfg.time_budget_s
        return False
