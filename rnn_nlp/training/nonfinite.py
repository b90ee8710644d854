"""Non-finite losses: what a step whose loss or gradient is NaN or infinite does (`trainer.on_nonfinite`).

`skip`: the step makes no update and the data position moves on; `rollback`: reload the last
checkpoint and lower every learning rate (`Trainer.roll_back`); `raise`: stop with NonFiniteLossError.
The trainer has already refused the update (it checks finiteness before stepping); `action` decides
what comes next from the values it is given, and the messages say what was done.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rnn_nlp.errors import NonFiniteLossError
from rnn_nlp.training import run_folder

log = logging.getLogger(__name__)


def _what_is_kept(last: Path) -> str:
    """What a stopped run leaves: its last checkpoint, if it has written one yet."""
    if run_folder.resolve(last).exists():
        return f"the last checkpoint ({last}) is intact"
    return "no checkpoint had been written yet"


def action(on_nonfinite: str, epoch: int, global_step: int, rollbacks: int, max_rollbacks: int, last: Path) -> str:
    """'skip' or 'rollback' for a non-finite step of epoch `epoch` after `global_step` steps (both 0-based);
    NonFiniteLossError for 'raise', or for a rollback past `max_rollbacks`, saying whether `last` is intact."""
    where = f"epoch {epoch + 1}, step {global_step + 1}"
    if on_nonfinite == "raise":
        raise NonFiniteLossError(
            f"non-finite loss or gradient at {where}; {_what_is_kept(last)}. "
            "Lower trainer.lr, or set trainer.on_nonfinite to skip or rollback"
        )
    if on_nonfinite == "rollback" and rollbacks >= max_rollbacks:
        raise NonFiniteLossError(
            f"non-finite loss or gradient at {where} after {rollbacks} rollbacks (trainer.max_rollbacks); {_what_is_kept(last)}"
        )
    return on_nonfinite


def log_skipped(epoch: int, global_step: int, skipped: int) -> None:
    """The warning for a skipped step (`skipped`: the run's skipped steps, this one included)."""
    log.warning("non-finite loss or gradient at epoch %d, step %d: step skipped (%d so far)", epoch + 1, global_step + 1, skipped)


def log_rolled_back(failed_at: int, back_to: int, last: Path, factor: float, lr: float, rollbacks: int, max_rollbacks: int) -> None:
    """The warning for a rollback from step `failed_at` to the checkpoint of step `back_to`."""
    log.warning(
        "non-finite loss or gradient at step %d: rolled back to step %d (%s), learning rate x%g -> %.4g (rollback %d of at most %d)",
        failed_at,
        back_to,
        run_folder.resolve(last),
        factor,
        lr,
        rollbacks,
        max_rollbacks,
    )
