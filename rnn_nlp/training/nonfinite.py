"""Non-finite losses: what a step whose loss or gradient is NaN or infinite does (`trainer.on_nonfinite`).

`skip`: the step makes no update and the data position moves on; `rollback`: reload the last
checkpoint and lower every learning rate; `raise`: stop with NonFiniteLossError. The trainer has
already refused the update (it checks finiteness before stepping); these say what comes next.
"""

from __future__ import annotations

import logging
from typing import Any

from rnn_nlp.errors import NonFiniteLossError
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.run_folder import LAST

log = logging.getLogger(__name__)


def _what_is_kept(trainer: Any) -> str:
    """What a stopped run leaves: its last checkpoint, if it has written one yet."""
    last = trainer.run_dir / LAST
    if ckpt.resolve(last).exists():
        return f"the last checkpoint ({last}) is intact"
    return "no checkpoint had been written yet"


def action(trainer: Any) -> str:
    """Say what happens to a step whose loss or gradient is NaN/inf; 'skip' or 'rollback'."""
    where = f"epoch {trainer.epoch + 1}, step {trainer.global_step + 1}"
    what = trainer.tcfg.on_nonfinite
    if what == "raise":
        raise NonFiniteLossError(
            f"non-finite loss or gradient at {where}; {_what_is_kept(trainer)}. "
            "Lower trainer.lr, or set trainer.on_nonfinite to skip or rollback"
        )
    if what == "rollback":
        if trainer.rollbacks >= trainer.tcfg.max_rollbacks:
            raise NonFiniteLossError(
                f"non-finite loss or gradient at {where} after {trainer.rollbacks} rollbacks "
                f"(trainer.max_rollbacks); {_what_is_kept(trainer)}"
            )
        return what
    trainer.skipped_steps += 1
    log.warning("non-finite loss or gradient at %s: step skipped (%d so far)", where, trainer.skipped_steps)
    return what


def roll_back(trainer: Any) -> None:
    """Reload the last checkpoint (weights, optimiser, data position, RNG) and lower every lr: after the
    k-th rollback to the same checkpoint its learning rates are multiplied by factor ** k, so each retry
    is a different, gentler step, not the same failure again."""
    last = trainer.run_dir / LAST
    failed_at = trainer.global_step + 1
    rollbacks, skipped, elapsed = trainer.rollbacks + 1, trainer.skipped_steps, trainer.elapsed
    checkpoint = ckpt.read_checkpoint(last)
    ckpt.load_model_weights(trainer.model, checkpoint.weights(), checkpoint.folder)
    trainer.load_state_dict(checkpoint.trainer_state(), source=checkpoint.folder / ckpt.TRAINER_STATE)
    # wall time spent still counts towards the budget; the counters are never rolled back
    trainer.rollbacks, trainer.skipped_steps, trainer.elapsed = rollbacks, skipped, elapsed
    # the checkpoint's rates were saved before any rollback to it: the factor compounds per retry of the same one
    step, retries = trainer.rollback_to
    retries = retries + 1 if step == trainer.global_step else 1
    trainer.rollback_to = (trainer.global_step, retries)
    factor = trainer.tcfg.rollback_lr_factor ** retries
    for group in trainer.optimizer.param_groups:
        group["lr"] *= factor
    if hasattr(trainer.scheduler, "base_lrs"):  # per-step schedules recompute lr from base_lrs
        trainer.scheduler.base_lrs = [lr * factor for lr in trainer.scheduler.base_lrs]
    log.warning(
        "non-finite loss or gradient at step %d: rolled back to step %d (%s), learning rate x%g -> %.4g "
        "(rollback %d of at most %d)",
        failed_at, trainer.global_step, ckpt.resolve(last), factor, trainer.current_lr(), rollbacks, trainer.tcfg.max_rollbacks,
    )
