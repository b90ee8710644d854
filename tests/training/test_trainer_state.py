"""A trainer state read back from a checkpoint is checked before a run takes it up (issue 15, item 10).

meta.json's hashes catch a damaged file; these states were rewritten together with their hash
("rehashed"), or written by other code: each must be a CheckpointError naming the file and the key,
never a KeyError or TypeError from inside the resumed run, nor a silently accepted nonsense counter.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from rnn_nlp.errors import CheckpointError
from rnn_nlp.runs import build_config, train_run
from rnn_nlp.tasks.lm import LMTask
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.run_folder import LAST
from rnn_nlp.training.trainer import Trainer, resolve_device
from tests.conftest import tiny_raw
from tests.training.edits import rewrite_state, snapshot

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A run of 5 Adam steps with a cosine schedule (optimizer moments and scheduler state to check) and its state."""
    from tests.conftest import write_corpus

    root = tmp_path_factory.mktemp("state")
    corpus = write_corpus(root / "corpus")
    cfg = build_config(tiny_raw(corpus, trainer={"max_steps": 5, "optimizer": "adam", "lr": 0.01, "schedule": "cosine"}))
    train_run(cfg, root / "run")
    return cfg, root / "run", ckpt.load_trainer_state(root / "run" / LAST)


def fresh_trainer(cfg, run: Path) -> Trainer:
    task = LMTask(cfg)
    return Trainer(cfg, task, task.build_model(), run, resolve_device("cpu"))


def _set(path: str, value):
    """A change of the state: the dotted `path` set to `value` (a list index as a number)."""

    def change(state):
        *parents, last = path.split(".")
        for p in parents:
            state = state[int(p)] if isinstance(state, list) else state[p]
        state[int(last) if isinstance(state, list) else last] = value

    return change


def _drop(key: str):
    return lambda state: state.pop(key)


def _first_moment(state):
    moments = next(iter(state["optimizer"]["state"].values()))
    moments["exp_avg"] = torch.zeros(3, 3)


BAD = {
    "no optimizer": (_drop("optimizer"), r"missing key 'optimizer'"),
    "no rng": (_drop("rng"), r"missing key 'rng'"),
    "history an int": (_set("history", 5), r"history must be a list, not int 5"),
    "epoch a string": (_set("epoch", "1"), r"epoch must be a whole number >= 0, not str '1'"),
    "negative step": (_set("step_in_epoch", -1), r"step_in_epoch must be a whole number >= 0"),
    "step past the epoch": (_set("step_in_epoch", 10**12), r"step_in_epoch is 1000000000000, past the \d+ batches of epoch 1"),
    "global step behind": (_set("global_step", 2), r"global_step is 2, fewer than the 5 steps"),
    "epoch past the run": (_set("epoch", 99), r"epoch is 99, past trainer.epochs=2"),
    "boolean counter": (_set("tokens_seen", True), r"tokens_seen must be a whole number >= 0, not bool True"),
    "elapsed not finite": (_set("elapsed", float("nan")), r"elapsed must be a finite number"),
    "best a string": (_set("best", "low"), r"best must be a number or None"),
    "history row a list": (_set("history", [[1, 2]]), r"history\[0\] must be a dict"),
    "optimizer without groups": (lambda s: s["optimizer"].pop("param_groups"), r"optimizer lacks its 'param_groups'"),
    "an optimizer group too many": (
        lambda s: s["optimizer"]["param_groups"].append(copy.deepcopy(s["optimizer"]["param_groups"][0])),
        r"optimizer.param_groups holds \d+ groups; this model's optimiser has",
    ),
    "a group's parameters cut": (lambda s: s["optimizer"]["param_groups"][0]["params"].pop(), r"optimizer.param_groups\[0\].params lists"),
    "params not a list": (_set("optimizer.param_groups.0.params", 3), r"optimizer.param_groups\[0\].params must be a list"),
    "lr a string": (_set("optimizer.param_groups.0.lr", "fast"), r"optimizer.param_groups\[0\].lr must be a number"),
    "lr negative": (_set("optimizer.param_groups.0.lr", -1.0), r"optimizer.param_groups\[0\].lr must be a finite rate >= 0"),
    "betas cut": (_set("optimizer.param_groups.0.betas", [0.9]), r"optimizer.param_groups\[0\].betas holds 1 values"),
    "a moment of the wrong shape": (_first_moment, r"optimizer.state\[\d+\].exp_avg has shape \(3, 3\); the parameter's is"),
    "state of no parameter": (lambda s: s["optimizer"]["state"].__setitem__(999, {}), r"holds state of parameter 999"),
    "scheduler epoch a string": (_set("scheduler.last_epoch", "five"), r"scheduler.last_epoch must be a number"),
    "scheduler base_lrs cut": (_set("scheduler.base_lrs", []), r"scheduler.base_lrs holds 0 values"),
    "python rng cut": (lambda s: s["rng"]["python"].pop(), r"rng.python holds 624 words; a Mersenne Twister state has 625"),
    "numpy rng position": (_set("rng.numpy_pos", 700), r"rng.numpy_pos is 700, past the 624 words"),
    "numpy rng word": (_set("rng.numpy.0", -1), r"rng.numpy must hold 32-bit words; item 0 is int -1"),
    "torch rng a list": (_set("rng.torch", [1, 2]), r"rng.torch must be a uint8 tensor"),
    "torch rng cut": (lambda s: s["rng"].__setitem__("torch", s["rng"]["torch"][:10]), r"rng.torch is not a loadable torch RNG state"),
    "runtime state not tensors": (_set("runtime_state", {"forward.0.0": [1.0]}), r"runtime_state.forward.0.0 must be a tensor"),
    "callbacks a list": (_set("callbacks", []), r"callbacks must be a dict"),
    "a callback's state an int": (_set("callbacks.metric_log", 3), r"callbacks.metric_log must be a dict"),
    "a callback's state unreadable": (
        _set("callbacks.metric_log", {"steps": 3}),
        r"callbacks.metric_log could not be taken back by MetricLog",
    ),
    "fingerprint junk": (_set("data", {"train": {"tokens": "many"}}), r"data.train.tokens must be a whole number >= 0"),
    "ranks of junk": (_set("ranks", [{"rng": {}, "runtime_state": {}}]), r"ranks\[0\].rng lacks 'python'"),
    "not a dict": (lambda s: s.clear(), r"missing key"),
}


@pytest.mark.slow
@pytest.mark.parametrize("change, message", list(BAD.values()), ids=list(BAD))
def test_a_bad_state_is_a_checkpoint_error_naming_the_file_and_key(saved, change, message):
    cfg, run, state = saved
    bad = copy.deepcopy(state)
    change(bad)
    trainer = fresh_trainer(cfg, run)
    with pytest.raises(CheckpointError, match=r"^somewhere/trainer_state\.pt: .*" + message):
        trainer.load_state_dict(bad, source="somewhere/trainer_state.pt")


def test_the_source_defaults_to_the_file_name(saved):
    cfg, run, state = saved
    with pytest.raises(CheckpointError, match=r"^trainer_state\.pt: missing key 'optimizer'"):
        fresh_trainer(cfg, run).load_state_dict({k: v for k, v in state.items() if k != "optimizer"})
    with pytest.raises(CheckpointError, match=r"^trainer_state\.pt: not a trainer state"):
        fresh_trainer(cfg, run).load_state_dict([1, 2])


def test_the_optimizers_own_refusal_is_a_checkpoint_error(saved, monkeypatch):
    """Whatever the checks above let through, torch's own ValueError/KeyError is reported the same way."""
    cfg, run, state = saved
    trainer = fresh_trainer(cfg, run)

    def refuse(_):
        raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")

    monkeypatch.setattr(trainer.optimizer, "load_state_dict", refuse)
    with pytest.raises(CheckpointError, match=r"trainer_state\.pt: optimizer does not fit .*ValueError: loaded state dict"):
        trainer.load_state_dict(copy.deepcopy(state))


def test_the_saved_state_loads_and_optional_keys_stay_optional(saved):
    cfg, run, state = saved
    trainer = fresh_trainer(cfg, run)
    trainer.load_state_dict(copy.deepcopy(state))
    assert (trainer.epoch, trainer.step_in_epoch, trainer.global_step) == (state["epoch"], state["step_in_epoch"], 5)
    # a state of rnn_nlp 0.2: none of the keys added since (read with .get)
    old = {
        k: v
        for k, v in copy.deepcopy(state).items()
        if k not in ("stop_reason", "window_loss_sum", "window_loss_steps", "skipped_steps", "rollbacks", "callbacks", "ranks", "data")
    }
    fresh_trainer(cfg, run).load_state_dict(old)
    fresh_trainer(cfg, run).load_state_dict({**copy.deepcopy(state), "stop_reason": None, "data": None})


def test_variable_bptt_epochs_are_bounded_by_their_own_length(tmp_path, corpus):
    """With trainer.bptt_variation every epoch draws its own chunks: a step past epoch 1's count may be
    within epoch 2's, and is bounded by that epoch's count (Task.epoch_steps), not the first's."""
    cfg = build_config(tiny_raw(corpus, trainer={"bptt_variation": True, "epochs": 20}))
    trainer = fresh_trainer(cfg, tmp_path / "run")
    lengths = [trainer.task.epoch_steps(e) for e in range(20)]
    epoch = max(range(20), key=lambda e: lengths[e])
    assert lengths[epoch] > trainer.steps_per_epoch  # the test needs an epoch longer than the first
    state = trainer.state_dict()
    state.update(epoch=epoch, step_in_epoch=lengths[epoch], global_step=sum(lengths[: epoch + 1]))
    trainer.load_state_dict(state)
    with pytest.raises(
        CheckpointError, match=rf"step_in_epoch is {lengths[epoch] + 1}, past the {lengths[epoch]} batches of epoch {epoch + 1}"
    ):
        trainer.load_state_dict({**state, "step_in_epoch": lengths[epoch] + 1, "global_step": state["global_step"] + 1})


@pytest.mark.slow
@pytest.mark.parametrize(
    "change, message",
    [
        (_drop("optimizer"), r"missing key 'optimizer'"),
        (_set("history", 7), r"history must be a list"),
        (_set("step_in_epoch", 10**12), r"step_in_epoch is 1000000000000"),
    ],
    ids=["no optimizer", "history an int", "step past the epoch"],
)
def test_resume_from_a_rehashed_state_is_refused_and_leaves_the_run_alone(tmp_path, corpus, change, message):
    """The issue's case end to end: trainer_state.pt rewritten with its hash in meta.json, then --resume."""
    cfg = build_config(tiny_raw(corpus, trainer={"max_steps": 5}))
    run = tmp_path / "run"
    train_run(cfg, run)
    rewrite_state(run / LAST, change)
    before = snapshot(run)
    with pytest.raises(CheckpointError, match=r"trainer_state\.pt: .*" + message):
        train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 10})), run, resume=True)
    assert snapshot(run) == before
