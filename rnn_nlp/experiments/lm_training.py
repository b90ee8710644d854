"""Small LMs trained by the library's own LM task and Trainer, with a per-step record for the plots.

The experiments about training (clipping, dropout, optimizers) go through the real code path:
`tasks.lm.LMTask` builds data and model, `rnn_nlp.training.Trainer` runs the loop unchanged. The
per-step record (loss, gradient norm before clipping, time) comes from hooks only: a forward
hook on the model, post-accumulate-grad hooks on the parameters and a step hook on the optimizer.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from rnn_nlp.config import RunConfig
from rnn_nlp.runs import build_config
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.training.trainer import Trainer, resolve_device, seed_everything


def lm_config(
    corpus: str,
    backbone: dict,
    trainer: dict,
    data: dict | None = None,
    head: dict | None = None,
) -> RunConfig:
    """A validated LM run config on `corpus` (a fetcher name such as `ptb`, or a local folder).

    Defaults suit short experiments: whitespace tokens, a full untied softmax, CPU, no schedule,
    no progress bar, no mid-epoch checkpoints; the given sections override them key by key.
    """
    raw = {
        "task": "lm",
        "data": {"name": corpus, "tokenizer": "whitespace", **(data or {})},
        "backbone": {"layers": 1, "init": "uniform", **backbone},
        "head": {"softmax": "full", "tie_weights": False, **(head or {})},
        "trainer": {
            "device": "cpu",
            "schedule": "none",
            "progress": False,
            "checkpoint_every": 10**9,
            "log_every": 10**9,
            **trainer,
        },
    }
    return build_config(raw, "experiment")


def fixed_steps_config(p: Any, optimizer: str, lr: float, clip_norm: float | None, weight_decay: float = 0.0) -> RunConfig:
    """A small LM trained for exactly `p.steps` steps, with just enough training text for them.

    `p` holds corpus, rnn, hidden_size, steps, batch_size, bptt, seed, threads, vocab_size and
    eval_tokens (the Params of the step-budget experiments: clipping, optimizers).
    """
    return lm_config(
        p.corpus,
        {"rnn": p.rnn, "emb_size": p.hidden_size, "hidden_size": p.hidden_size},
        {
            "optimizer": optimizer,
            "lr": lr,
            "weight_decay": weight_decay,
            "clip_norm": clip_norm,
            "max_steps": p.steps,
            "epochs": 1000,
            "batch_size": p.batch_size,
            "eval_batch_size": p.batch_size,
            "bptt": p.bptt,
            "seed": p.seed,
            "threads": p.threads,
        },
        data={
            "vocab_size": p.vocab_size,
            "max_train_tokens": (p.steps + 1) * p.batch_size * p.bptt + p.batch_size,
            "max_eval_tokens": p.eval_tokens,
        },
    )


class StepRecorder:
    """Records, for every training step: loss, global gradient norm before clipping, step time.

    Attach it to a model and its optimizer; evaluation passes (model in eval mode) are ignored.
    `grad_norm` is what `clip_grad_norm_` would report: the 2-norm over all parameters' gradients.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer):
        self.loss: list[float] = []
        self.grad_norm: list[float] = []
        self.step_time: list[float] = []
        self._sq: torch.Tensor | None = None
        self._t0 = 0.0
        self._handles = [
            model.register_forward_pre_hook(self._before_forward),
            model.register_forward_hook(self._after_forward),
            optimizer.register_step_post_hook(self._after_step),
        ]
        seen: set[int] = set()
        for p in model.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                self._handles.append(p.register_post_accumulate_grad_hook(self._on_grad))

    def _before_forward(self, module, args) -> None:
        if module.training:
            self._t0 = time.perf_counter()
            self._sq = torch.zeros(())

    def _after_forward(self, module, args, output) -> None:
        if module.training:
            self.loss.append(float(output["log_loss"]))

    def _on_grad(self, p: torch.Tensor) -> None:
        if self._sq is not None and p.grad is not None:
            self._sq += p.grad.detach().float().pow(2).sum()

    def _after_step(self, optimizer, args, kwargs) -> None:
        self.step_time.append(time.perf_counter() - self._t0)
        self.grad_norm.append(math.sqrt(float(self._sq)) if self._sq is not None else math.nan)
        self._sq = None

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()

    @property
    def cumulative_time(self) -> list[float]:
        """Seconds of training (forward, backward, clipping, update) after each step."""
        out, total = [], 0.0
        for t in self.step_time:
            total += t
            out.append(total)
        return out

    def non_finite_steps(self) -> int:
        """Steps whose loss or gradient norm was NaN or infinite."""
        return sum(1 for loss, g in zip(self.loss, self.grad_norm) if not (math.isfinite(loss) and math.isfinite(g)))


def build_lm(cfg: RunConfig) -> tuple[Any, torch.nn.Module]:
    """The LM task and a freshly initialised model for `cfg`, seeded as a fresh `rnn-nlp train` run."""
    seed_everything(cfg.trainer.seed)
    task = get_task(cfg.task)(cfg)
    return task, task.build_model()


def train_lm(
    cfg: RunConfig, run_dir: str | Path | None = None, built: tuple[Any, torch.nn.Module] | None = None
) -> tuple[Trainer, StepRecorder]:
    """Train `cfg` from scratch as `rnn-nlp train` would (fresh run), recording every step.

    `built` is a (task, model) pair from `build_lm` to train instead of building a new one.
    Without `run_dir` the run's checkpoints go to a temporary folder that is removed afterwards.
    Returns the finished Trainer (its `history` holds the per-epoch rows of metrics.csv) and
    the StepRecorder.
    """
    if run_dir is None:
        with tempfile.TemporaryDirectory(prefix="rnn-nlp-experiment-") as tmp:
            return train_lm(cfg, tmp, built)
    threads = torch.get_num_threads()
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    try:
        task, model = built if built is not None else build_lm(cfg)
        seed_everything(cfg.trainer.seed)
        trainer = Trainer(cfg, task, model, run_dir, resolve_device(cfg.trainer.device))
        recorder = StepRecorder(model, trainer.optimizer)
        try:
            trainer.fit()
        finally:
            recorder.remove()
    finally:
        torch.set_num_threads(threads)
    return trainer, recorder


def finite_or_none(value: float) -> float | None:
    """A float for JSON: NaN and infinities become null (JSON has no NaN)."""
    return float(value) if value is not None and math.isfinite(value) else None


def rounded(values: list[float], digits: int = 4) -> list[float | None]:
    """A JSON-ready list: rounded, non-finite values as null."""
    return [round(v, digits) if math.isfinite(v) else None for v in values]
