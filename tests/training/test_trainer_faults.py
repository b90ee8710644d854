"""Faults during training: NaN/inf losses (skip, roll back, stop) and saves that cannot be written."""

import errno
import logging
import os

import pytest
import torch

from rnn_nlp.errors import NonFiniteLossError, SaveError
from rnn_nlp.nn.heads.lm import LanguageModelNetwork
from rnn_nlp.runs import build_config, train_run
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.run_folder import LAST
from rnn_nlp.training.trainer import Trainer, resolve_device
from tests.conftest import tiny_raw


def _poison(monkeypatch, bad_calls: set[int]) -> list[int]:
    """Make the loss NaN on the given training forward calls (1-based); returns the call counter."""
    original = LanguageModelNetwork.forward
    calls = [0]

    def forward(self, batch):
        out = original(self, batch)
        if self.training:
            calls[0] += 1
            if calls[0] in bad_calls:
                out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(LanguageModelNetwork, "forward", forward)
    return calls


def _finite(run_dir) -> bool:
    return all(torch.isfinite(t).all() for t in ckpt.load_weights(run_dir / LAST).values())


def test_nonfinite_step_is_skipped(tmp_path, corpus, monkeypatch, caplog):
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "on_nonfinite": "skip"}))
    _poison(monkeypatch, {5, 9})
    with caplog.at_level(logging.WARNING):
        trainer = train_run(cfg, tmp_path / "run")
    assert trainer.skipped_steps == 2
    assert trainer.global_step == trainer.steps_per_epoch  # the data position still moves on
    assert "non-finite loss or gradient at epoch 1, step 5: step skipped" in caplog.text
    assert trainer.history[-1]["skipped_steps"] == 2
    assert _finite(tmp_path / "run") and trainer.history[-1]["valid_loss"] < 10


def test_skipped_step_leaves_weights_and_optimizer_untouched(tmp_path, corpus, monkeypatch):
    from rnn_nlp.tasks.lm import LMTask

    cfg = build_config(tiny_raw(corpus, trainer={"optimizer": "adam", "lr": 0.01}))
    task = LMTask(cfg)
    trainer = Trainer(cfg, task, task.build_model(), tmp_path / "run", resolve_device("cpu"))
    batch = next(iter(task.train_batches(0, 0, torch.device("cpu"))))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    _poison(monkeypatch, {1})
    assert trainer._step(batch) is None
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert trainer.optimizer.state_dict()["state"] == {}


@pytest.mark.slow
def test_nonfinite_rolls_back_with_lower_lr(tmp_path, corpus, monkeypatch, caplog):
    cfg = build_config(
        tiny_raw(corpus, trainer={"epochs": 1, "checkpoint_every": 5, "on_nonfinite": "rollback", "rollback_lr_factor": 0.1})
    )
    calls = _poison(monkeypatch, {13})
    with caplog.at_level(logging.WARNING):
        trainer = train_run(cfg, tmp_path / "run")
    assert "non-finite loss or gradient at step 13: rolled back to step 10" in caplog.text
    assert "learning rate x0.1 -> 0.5" in caplog.text
    assert trainer.rollbacks == 1 and trainer.current_lr() == pytest.approx(0.5)
    # steps 11 and 12 were trained twice: once before the rollback, once after
    assert calls[0] == trainer.steps_per_epoch + 3
    assert trainer.history[-1]["lr"] == pytest.approx(0.5) and trainer.history[-1]["rollbacks"] == 1
    assert _finite(tmp_path / "run")
    assert ckpt.load_trainer_state(tmp_path / "run" / LAST)["rollbacks"] == 1


def test_rollback_before_any_checkpoint_and_give_up(tmp_path, corpus, monkeypatch):
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "on_nonfinite": "rollback", "max_rollbacks": 2, "schedule": "cosine"}))
    _poison(monkeypatch, set(range(1, 10_000)))  # every step diverges
    with pytest.raises(NonFiniteLossError, match="after 2 rollbacks"):
        train_run(cfg, tmp_path / "run")
    state = ckpt.load_trainer_state(tmp_path / "run" / LAST)  # the checkpoint taken before step 1
    assert state["global_step"] == 0


def test_nonfinite_raise_keeps_last_checkpoint(tmp_path, corpus, monkeypatch):
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "checkpoint_every": 5, "on_nonfinite": "raise"}))
    _poison(monkeypatch, {7})
    with pytest.raises(NonFiniteLossError, match="epoch 1, step 7.*checkpoint-last"):
        train_run(cfg, tmp_path / "run")
    ckpt.verify(tmp_path / "run" / LAST)
    assert ckpt.load_trainer_state(tmp_path / "run" / LAST)["global_step"] == 5


def test_infinite_gradient_is_caught(tmp_path, corpus, monkeypatch):
    """A finite loss whose gradient overflows is caught through the clipped norm."""
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "max_steps": 4, "on_nonfinite": "skip"}))
    original = LanguageModelNetwork.forward

    def forward(self, batch):
        out = original(self, batch)
        if self.training:
            out["loss"] = out["loss"] + 0.0 * self.head.decoder.weight.sum() * float("inf")
        return out

    monkeypatch.setattr(LanguageModelNetwork, "forward", forward)
    trainer = train_run(cfg, tmp_path / "run")
    assert trainer.skipped_steps == 4


def test_nan_gradient_with_a_finite_loss_is_caught_without_clipping(tmp_path, corpus):
    from rnn_nlp.tasks.lm import LMTask

    cfg = build_config(tiny_raw(corpus, trainer={"clip_norm": None, "on_nonfinite": "skip"}))
    task = LMTask(cfg)
    trainer = Trainer(cfg, task, task.build_model(), tmp_path / "run", resolve_device("cpu"))
    batch = next(iter(task.train_batches(0, 0, torch.device("cpu"))))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    handle = trainer.model.backbone.embedding.weight.register_hook(lambda g: g * float("nan"))
    assert trainer._step(batch) is None
    handle.remove()
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert trainer._step(batch) is not None


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.slow
def test_full_disk_while_training_keeps_the_previous_checkpoint(tmp_path, corpus, monkeypatch):
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "checkpoint_every": 5}))
    run = tmp_path / "run"
    original = ckpt.save_file
    saves = [0]

    def fill_up_on_third_save(*args, **kwargs):
        saves[0] += 1
        if saves[0] == 3:
            _disk_full()
        return original(*args, **kwargs)

    monkeypatch.setattr(ckpt, "save_file", fill_up_on_third_save)
    with pytest.raises(SaveError, match=f"{run / LAST}.*No space left on device.*previous one is untouched"):
        train_run(cfg, run)
    ckpt.verify(run / LAST)
    assert ckpt.load_trainer_state(run / LAST)["global_step"] == 10
    assert not any(p.name.endswith(".tmp") for p in run.iterdir())
    monkeypatch.undo()
    assert train_run(cfg, run, resume=True).global_step > 10  # and it resumes from there


def _permission_denied(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")


def test_unwritable_run_folder(tmp_path, corpus, monkeypatch):
    from rnn_nlp.tasks.lm import LMTask

    cfg = build_config(tiny_raw(corpus))
    task = LMTask(cfg)
    run = tmp_path / "run"
    trainer = Trainer(cfg, task, task.build_model(), run, resolve_device("cpu"))
    first = trainer.save_last()
    before = (first / ckpt.WEIGHTS).read_bytes()
    # a run folder that cannot be created (a file sits where its parent should be)
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    trainer.run_dir = blocked / "run"
    with pytest.raises(SaveError, match="a-file/run/checkpoint-last"):
        trainer.save_last()
    with pytest.raises(SaveError, match="cannot create the run folder .*a-file/run"):
        trainer.fit()
    # a read-only folder: chmod where that binds (not root), else the EACCES the kernel would give
    trainer.run_dir = run
    run.chmod(0o555)
    try:
        if os.geteuid() == 0:
            monkeypatch.setattr(ckpt.Path, "mkdir", _permission_denied)
        with pytest.raises(SaveError, match="checkpoint-last.*Permission denied.*previous one is untouched"):
            trainer.save_last()
    finally:
        run.chmod(0o755)
    monkeypatch.undo()
    ckpt.verify(first)
    assert (first / ckpt.WEIGHTS).read_bytes() == before


def test_overwrite_with_bad_data_keeps_the_old_run(tmp_path, corpus):
    """--overwrite removes the old run only once the new run's data have loaded."""
    from rnn_nlp.errors import DataError

    run = tmp_path / "run"
    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 3})), run)
    before = (run / LAST / ckpt.WEIGHTS).read_bytes()
    broken = build_config(tiny_raw(tmp_path / "typo.txt", trainer={"max_steps": 3}))
    with pytest.raises(DataError, match="corpus not found"):
        train_run(broken, run, overwrite=True)
    ckpt.verify(run)
    assert (run / LAST / ckpt.WEIGHTS).read_bytes() == before


def test_an_epoch_whose_every_step_was_skipped_logs_nan_not_zero(tmp_path, corpus, monkeypatch, caplog):
    import csv
    import math

    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "max_steps": 3, "on_nonfinite": "skip"}))
    _poison(monkeypatch, {1, 2, 3})
    with caplog.at_level(logging.WARNING):
        trainer = train_run(cfg, tmp_path / "run")
    row = trainer.history[-1]
    assert trainer.skipped_steps == 3 and math.isnan(row["train_loss"]) and math.isnan(row["train_ppl"])
    assert "no step had a finite loss, so train_loss is NaN" in caplog.text
    with open(tmp_path / "run" / "metrics.csv", newline="") as fh:
        assert math.isnan(float(next(csv.DictReader(fh))["train_loss"]))


@pytest.mark.slow
def test_repeated_rollbacks_to_one_checkpoint_compound_the_lr_factor(tmp_path, corpus, monkeypatch, caplog):
    cfg = build_config(
        tiny_raw(
            corpus, trainer={"epochs": 1, "checkpoint_every": 5, "on_nonfinite": "rollback", "rollback_lr_factor": 0.5, "max_rollbacks": 3}
        )
    )
    calls = _poison(monkeypatch, {8, 11, 14})  # steps 8, then 8 and 8 again after each rollback to step 5
    with caplog.at_level(logging.WARNING):
        trainer = train_run(cfg, tmp_path / "run")
    assert trainer.rollbacks == 3
    assert "learning rate x0.5 -> 2.5" in caplog.text and "x0.25 -> 1.25" in caplog.text and "x0.125 -> 0.625" in caplog.text
    assert trainer.current_lr() == pytest.approx(5.0 * 0.125)
    assert calls[0] == trainer.steps_per_epoch + 9  # three retries of steps 6-8


def test_raise_before_any_checkpoint_does_not_claim_one_is_intact(tmp_path, corpus, monkeypatch):
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 1, "checkpoint_every": 50, "on_nonfinite": "raise"}))
    _poison(monkeypatch, {2})
    with pytest.raises(NonFiniteLossError, match="no checkpoint had been written yet") as err:
        train_run(cfg, tmp_path / "run")
    assert "intact" not in str(err.value)


def test_roll_back_restores_the_last_checkpoint_and_lowers_the_lr(tmp_path, corpus):
    from rnn_nlp.tasks.lm import LMTask

    cfg = build_config(tiny_raw(corpus, trainer={"on_nonfinite": "rollback", "rollback_lr_factor": 0.1, "schedule": "cosine"}))
    task = LMTask(cfg)
    trainer = Trainer(cfg, task, task.build_model(), tmp_path / "run", resolve_device("cpu"))
    trainer.save_last()
    saved = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    lr, base = trainer.current_lr(), list(trainer.scheduler.base_lrs)
    for _ in range(3):  # three steps on, then a failure
        trainer._step(next(iter(task.train_batches(0, 0, torch.device("cpu")))))
    trainer.global_step = trainer.step_in_epoch = 3
    trainer.roll_back()
    assert (trainer.global_step, trainer.step_in_epoch, trainer.rollbacks) == (0, 0, 1)
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, saved[k]), k
    assert trainer.current_lr() == pytest.approx(lr * 0.1)
    assert trainer.scheduler.base_lrs == pytest.approx([b * 0.1 for b in base])
    trainer.roll_back()  # a second retry from the same checkpoint: the factor compounds
    assert trainer.rollbacks == 2 and trainer.current_lr() == pytest.approx(lr * 0.01)
