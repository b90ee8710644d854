"""What a trainer state (trainer_state.pt) must hold before a run takes it up.

meta.json's hashes catch a damaged file, not one rewritten together with its hash, nor one written by
other code. `check_state` reads the state as `Trainer.state_dict` writes it: every required key
present and of its type, the counters non-negative and consistent with the run (its epochs, the
batches of the epoch it stopped in), the optimiser's parameter groups and per-parameter state the
shape of this model's, the scheduler's fields of the types this scheduler has, the RNG states loadable
(tried on throwaway generators). Anything else is a CheckpointError that names the file and the key,
never a KeyError or TypeError from deep inside a resumed run. The keys in OPTIONAL may be absent,
as `Trainer.load_state_dict` reads them. `check_same_data` refuses a state saved on other
data than the run's (its data fingerprint), saying which split changed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from rnn_nlp.errors import CheckpointError, DataError

NUMBER = "number"  # int or float, never bool
COUNT = "count"  # int >= 0, never bool
# key -> kind, as `Trainer.state_dict` writes it
REQUIRED = {
    "optimizer": dict,
    "scheduler": dict,
    "rng": dict,
    "epoch": COUNT,
    "step_in_epoch": COUNT,
    "global_step": COUNT,
    "best": (NUMBER, None),
    "history": list,
    "epoch_loss_sum": NUMBER,
    "epoch_loss_steps": COUNT,
    "elapsed": NUMBER,
    "tokens_seen": COUNT,
    "runtime_state": dict,
}
OPTIONAL = {  # a state may lack these: read with .get
    "stop_reason": (str, None),
    "window_loss_sum": NUMBER,
    "window_loss_steps": COUNT,
    "skipped_steps": COUNT,
    "rollbacks": COUNT,
    "callbacks": dict,
    "ranks": list,
    "data": (dict, None),  # checked by `saved_fingerprint`
}
MT_WORDS = {"python": 625, "numpy": 624}  # Mersenne Twister state sizes (Python keeps its position as a 625th word)


def _kind_name(kind: Any) -> str:
    if isinstance(kind, tuple):
        return " or ".join(_kind_name(k) for k in kind)
    if kind is None:
        return "None"
    if kind == COUNT:
        return "a whole number >= 0"
    if kind == NUMBER:
        return "a number"
    return {dict: "a dict", list: "a list", str: "a string"}.get(kind, getattr(kind, "__name__", str(kind)))


def _is(value: Any, kind: Any) -> bool:
    if isinstance(kind, tuple):
        return any(_is(value, k) for k in kind)
    if kind is None:
        return value is None
    if isinstance(value, bool):
        return kind is bool
    if kind == COUNT:
        return isinstance(value, int) and value >= 0
    if kind == NUMBER:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text}" if len(text) <= 40 else type(value).__name__


class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, why: str) -> CheckpointError:
        return CheckpointError(f"{self.source}: {key} {why}")

    def kind(self, value: Any, key: str, kind: Any) -> Any:
        if not _is(value, kind):
            raise self.fail(key, f"must be {_kind_name(kind)}, not {_shown(value)}")
        return value

    def mapping(self, value: Any, key: str) -> dict:
        self.kind(value, key, dict)
        for k in value:
            if not isinstance(k, str):
                raise self.fail(key, f"must have string keys, not {_shown(k)}")
        return value


def saved_fingerprint(state: Any, source: str) -> dict | None:
    """The state's `data` fingerprint (split -> counts and "sha256"), checked; None when it has none
    (a state saved before fingerprints were kept). Read first, so that a run on changed data is told
    so rather than that its counters no longer fit."""
    c = _Checker(source)
    if not isinstance(state, dict):
        raise CheckpointError(f"{source}: not a trainer state (a dict of its parts), but {_shown(state)}")
    if state.get("data") is None:
        return None
    for split, fingerprint in c.mapping(state["data"], "data").items():
        c.mapping(fingerprint, f"data.{split}")
        for k, v in fingerprint.items():
            c.kind(v, f"data.{split}.{k}", str if k == "sha256" else COUNT)
    return state["data"]


def check_state(
    state: Any, source: str, epochs: int, epoch_steps: Callable[[int], int], optimizer: torch.optim.Optimizer, scheduler: Any
) -> None:
    """Raise CheckpointError (naming `source` and the key) unless a trainer of `epochs` epochs (the
    task's `epoch_steps` batches each), with this optimiser and scheduler, can take up `state`."""
    c = _Checker(source)
    saved_fingerprint(state, source)
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CheckpointError(
            f"{source}: missing key {', '.join(repr(k) for k in missing)}; not a trainer state this rnn_nlp wrote (or one altered since)"
        )
    for key, kind in REQUIRED.items():
        c.kind(state[key], key, kind)
    for key, kind in OPTIONAL.items():
        if key in state:
            c.kind(state[key], key, kind)
    _check_counters(c, state, epochs, epoch_steps)
    _check_history(c, state["history"])
    _check_optimizer(c, state["optimizer"], optimizer)
    if scheduler is not None and state["scheduler"]:
        _check_like(c, state["scheduler"], scheduler.state_dict(), "scheduler")
    _check_process_state(c, state, "")
    for i, own in enumerate(state.get("ranks") or []):
        c.mapping(own, f"ranks[{i}]")
        _check_process_state(c, own, f"ranks[{i}].")
    for key, value in (state.get("callbacks") or {}).items():
        c.kind(key, "callbacks", str)
        c.kind(value, f"callbacks.{key}", dict)


def _check_counters(c: _Checker, state: dict, epochs: int, epoch_steps: Callable[[int], int]) -> None:
    epoch, step, global_step = state["epoch"], state["step_in_epoch"], state["global_step"]
    if epoch > epochs:
        raise c.fail(
            "epoch",
            f"is {epoch}, past trainer.epochs={epochs} (a run cannot have trained more epochs "
            "than it has; if trainer.epochs was lowered since, raise it again or start a new run)",
        )
    steps = int(epoch_steps(epoch))
    if step > steps:
        raise c.fail("step_in_epoch", f"is {step}, past the {steps} batches of epoch {epoch + 1} (has the training data changed?)")
    if global_step < step:
        raise c.fail("global_step", f"is {global_step}, fewer than the {step} steps taken in the current epoch (step_in_epoch)")
    if state["epoch_loss_steps"] > step:
        raise c.fail("epoch_loss_steps", f"is {state['epoch_loss_steps']}, more than the {step} steps of the current epoch")
    for key in ("window_loss_steps", "skipped_steps"):
        if state.get(key, 0) > global_step:
            raise c.fail(key, f"is {state[key]}, more than the run's {global_step} steps (global_step)")
    elapsed = state["elapsed"]
    if not math.isfinite(elapsed) or elapsed < 0:
        raise c.fail("elapsed", f"must be a finite number of seconds >= 0, not {elapsed!r}")


def _check_history(c: _Checker, history: list) -> None:
    for i, row in enumerate(history):
        c.mapping(row, f"history[{i}]")
        for k, v in row.items():
            c.kind(v, f"history[{i}].{k}", (NUMBER, str, bool, None))


def _check_optimizer(c: _Checker, saved: dict, optimizer: torch.optim.Optimizer) -> None:
    """The groups and per-parameter state of this optimiser, with their sizes and shapes (torch itself checks
    only the groups' sizes, and a wrong-shaped moment would fail at the next step, far from its cause)."""
    for key, kind in (("state", dict), ("param_groups", list)):
        if key not in saved:
            raise c.fail("optimizer", f"lacks its {key!r}")
        c.kind(saved[key], f"optimizer.{key}", kind)
    groups = saved["param_groups"]
    if len(groups) != len(optimizer.param_groups):
        raise c.fail("optimizer.param_groups", f"holds {len(groups)} groups; this model's optimiser has {len(optimizer.param_groups)}")
    params: dict[int, torch.Tensor] = {}
    for g, (group, current) in enumerate(zip(groups, optimizer.param_groups)):
        where = f"optimizer.param_groups[{g}]"
        c.mapping(group, where)
        ids = c.kind(group.get("params"), f"{where}.params", list)
        if len(ids) != len(current["params"]):
            raise c.fail(f"{where}.params", f"lists {len(ids)} parameters; this model's group has {len(current['params'])}")
        for pid, param in zip(ids, current["params"]):
            c.kind(pid, f"{where}.params", COUNT)
            if pid in params:
                raise c.fail(f"{where}.params", f"lists parameter {pid} twice")
            params[pid] = param
        if "lr" not in group:
            raise c.fail(where, "has no 'lr'")
        _check_like(c, {k: v for k, v in group.items() if k != "params"}, {k: v for k, v in current.items() if k != "params"}, where)
        lr = group["lr"]
        if not torch.is_tensor(lr) and not (math.isfinite(lr) and lr >= 0):
            raise c.fail(f"{where}.lr", f"must be a finite rate >= 0, not {lr!r}")
    for pid, per_param in saved["state"].items():
        where = f"optimizer.state[{pid!r}]"
        if pid not in params:
            raise c.fail("optimizer.state", f"holds state of parameter {pid!r}, which no group lists")
        c.mapping(per_param, where)
        shape = tuple(params[pid].shape)
        for name, value in per_param.items():
            if torch.is_tensor(value):
                if name != "step" and value.dim() > 0 and tuple(value.shape) != shape:
                    raise c.fail(f"{where}.{name}", f"has shape {tuple(value.shape)}; the parameter's is {shape}")
            else:
                c.kind(value, f"{where}.{name}", (NUMBER, bool, None))


def _check_like(c: _Checker, saved: Any, fresh: Any, where: str) -> None:
    """`saved` holds, where `fresh` (this object's own state) has a value, one of the same kind (numbers,
    booleans, strings, sequences of the same length, tensors); keys that only one of them has are left
    alone (torch versions add and drop fields)."""
    if fresh is None:
        return
    if isinstance(fresh, dict):
        c.kind(saved, where, dict)
        for k, v in fresh.items():
            if k in saved:
                _check_like(c, saved[k], v, f"{where}.{k}")
        return
    if isinstance(fresh, (list, tuple)):
        c.kind(saved, where, (list, tuple))
        if len(saved) != len(fresh):
            raise c.fail(where, f"holds {len(saved)} values; this run's has {len(fresh)}")
        for i, (a, b) in enumerate(zip(saved, fresh)):
            _check_like(c, a, b, f"{where}[{i}]")
        return
    if torch.is_tensor(fresh):
        if not torch.is_tensor(saved) and not _is(saved, NUMBER):
            raise c.fail(where, f"must be a tensor or a number, not {_shown(saved)}")
        return
    if torch.is_tensor(saved) and _is(fresh, NUMBER):
        return
    kind = bool if isinstance(fresh, bool) else NUMBER if _is(fresh, NUMBER) else str if isinstance(fresh, str) else None
    if kind is not None:
        c.kind(saved, where, kind)


def _check_process_state(c: _Checker, state: dict, prefix: str) -> None:
    """One process's RNG and recurrent state: present, of their types, and the RNG states loadable."""
    for key in ("rng", "runtime_state"):
        if key not in state:
            raise c.fail(prefix + key, "is missing")
        c.mapping(state[key], prefix + key)
    for name, value in state["runtime_state"].items():
        if not torch.is_tensor(value):
            raise c.fail(f"{prefix}runtime_state.{name}", f"must be a tensor, not {_shown(value)}")
    _check_rng(c, state["rng"], prefix + "rng")


def _check_rng(c: _Checker, rng: dict, where: str) -> None:
    """The RNG states `set_rng_state` restores, each tried on a throwaway generator first."""
    for key in ("python", "python_pos", "numpy", "numpy_pos", "torch"):
        if key not in rng:
            raise c.fail(where, f"lacks {key!r}")
    for key, words in MT_WORDS.items():
        state = c.kind(rng[key], f"{where}.{key}", list)
        if len(state) != words:
            raise c.fail(f"{where}.{key}", f"holds {len(state)} words; a Mersenne Twister state has {words}")
        for i, word in enumerate(state):
            if not _is(word, COUNT) or word >= 2**32:
                raise c.fail(f"{where}.{key}", f"must hold 32-bit words; item {i} is {_shown(word)}")
    if rng["python"][-1] > 624:
        raise c.fail(f"{where}.python", f"ends in the position {rng['python'][-1]}, past the 624 words of the state")
    c.kind(rng["python_pos"], f"{where}.python_pos", (NUMBER, None))  # random.getstate()[2]: the next gauss value
    pos = c.kind(rng["numpy_pos"], f"{where}.numpy_pos", COUNT)
    if pos > 624:
        raise c.fail(f"{where}.numpy_pos", f"is {pos}, past the 624 words of the state")
    try:
        random.Random().setstate((3, tuple(rng["python"]), rng["python_pos"]))
        np.random.RandomState().set_state(("MT19937", np.array(rng["numpy"], dtype=np.uint32), rng["numpy_pos"], 0, 0.0))
    except (TypeError, ValueError, OverflowError) as exc:
        raise c.fail(where, f"is not a loadable random state ({exc})") from None
    generator = rng["torch"]
    if not torch.is_tensor(generator) or generator.dtype != torch.uint8:
        raise c.fail(f"{where}.torch", f"must be a uint8 tensor (torch.get_rng_state()), not {_shown(generator)}")
    try:
        torch.Generator().set_state(generator)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise c.fail(f"{where}.torch", f"is not a loadable torch RNG state ({exc})") from None
    if "cuda" in rng:
        states = c.kind(rng["cuda"], f"{where}.cuda", (list, tuple))
        for i, s in enumerate(states):
            if not torch.is_tensor(s) or s.dtype != torch.uint8:
                raise c.fail(f"{where}.cuda[{i}]", f"must be a uint8 tensor, not {_shown(s)}")


def check_same_data(saved: dict, now: dict, run_dir: Any) -> None:
    """DataError unless this run's data fingerprint `now` matches the one `saved` with the state
    (splits it lacks are not compared)."""
    changes = []
    for split, then in saved.items():
        if split not in now or then != now[split]:
            changes.append(_describe_change(split, then, now.get(split)))
    if changes:
        raise DataError(
            f"{run_dir}: cannot resume on other data than the checkpoint was trained on: {'; '.join(changes)}. "
            "Resume with the same data, or start a new run with --overwrite"
        )


def _describe_change(split: str, then: Any, now: dict | None) -> str:
    """How one split's data changed, in its own counts: "valid: 1360 tokens when the checkpoint was written, 670 now"."""
    counts = lambda fp: {k: v for k, v in fp.items() if k != "sha256"} if isinstance(fp, dict) else {}  # noqa: E731
    a, b = counts(then), counts(now)
    if now is None:
        shown = ", ".join(f"{v} {k}" for k, v in a.items()) or "some data"
        return f"{split}: {shown} when the checkpoint was written, none now"
    differ = [k for k in a if k in b and a[k] != b[k]]
    if differ:
        return f"{split}: " + ", ".join(f"{a[k]} {k} when the checkpoint was written, {b[k]} now" for k in differ)
    same = ", ".join(f"{v} {k}" for k, v in b.items())
    return f"{split}: {same or 'as many examples'} as when the checkpoint was written, but different ones (their SHA-256 differs)"
