"""The training loop: a loss that falls, logs, exact resumption, interruption."""

import csv

import pytest
import torch

from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.training.run_folder import LAST
from rnn_nlp.training.trainer import TrainingInterrupted
from tests.conftest import ctrl_c_at, tiny_raw


def _interrupt_at(monkeypatch, step: int) -> None:
    """Ctrl-C while batch number `step` (0-based, first epoch) of the LM task is being trained."""
    from rnn_nlp.tasks.lm import LMTask

    ctrl_c_at(monkeypatch, LMTask, step)


def _weights(run_dir):
    return ckpt.load_weights(run_dir / LAST)


@pytest.mark.slow
def test_loss_falls_and_logs_are_written(tmp_path, corpus):
    cfg = build_config(tiny_raw(corpus, trainer={"epochs": 3}))
    trainer = train_run(cfg, tmp_path / "run")
    losses = [row["valid_loss"] for row in trainer.history]
    assert len(losses) == 3
    assert losses[-1] < losses[0] - 0.5
    assert trainer.history[-1]["valid_ppl"] < 20  # the patterned corpus has ~30 word types
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [float(r["valid_loss"]) for r in rows] == pytest.approx(losses)
    assert {"train_loss", "train_ppl", "valid_ppl", "lr", "tokens_per_s"} <= set(rows[0])
    assert (tmp_path / "run" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    steps = list(csv.DictReader(open(tmp_path / "run" / "steps.csv")))
    assert [int(r["step"]) for r in steps] == list(range(50, trainer.global_step + 1, 50))  # trainer.log_every
    ckpt.verify(tmp_path / "run")  # the run folder gives its best model, in best/
    assert run_folder.resolve(tmp_path / "run") == tmp_path / "run" / run_folder.BEST
    assert not (tmp_path / "run" / ckpt.WEIGHTS).exists()
    ckpt.verify(tmp_path / "run" / LAST)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sections",
    [
        {},
        {"trainer": {"bptt_variation": True, "optimizer": "adam", "lr": 0.01, "schedule": "cosine"}},
        {"backbone": {"direction": "both", "rnn": "gru", "weight_drop": 0.3, "hidden_dropout": 0.2, "embed_dropout": 0.1}},
    ],
    ids=["sgd", "adam-cosine-variable-bptt", "bidirectional-gru-dropout"],
)
def test_resume_matches_an_uninterrupted_run(tmp_path, corpus, sections, monkeypatch):
    full_cfg = build_config(tiny_raw(corpus, **sections))
    full = train_run(full_cfg, tmp_path / "full")
    total = full.global_step
    assert total > 20

    # Stop part-way through the first epoch with Ctrl-C, then resume with the same config.
    _interrupt_at(monkeypatch, 13)
    with pytest.raises(TrainingInterrupted):
        train_run(full_cfg, tmp_path / "part")
    monkeypatch.undo()
    resumed = train_run(full_cfg, tmp_path / "part", resume=True)

    assert resumed.global_step == total
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "part")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
    assert resumed.history[-1]["valid_loss"] == pytest.approx(full.history[-1]["valid_loss"], abs=1e-6)


def test_resume_with_changed_config_names_the_keys(tmp_path, corpus):
    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 5})), tmp_path / "run")
    changed = build_config(tiny_raw(corpus, trainer={"lr": 1.0}, backbone={"rnn": "gru"}))
    with pytest.raises(ConfigError, match=r"backbone.rnn, trainer.lr"):
        train_run(changed, tmp_path / "run", resume=True)


@pytest.mark.slow
def test_existing_run_is_not_overwritten(tmp_path, corpus):
    cfg = build_config(tiny_raw(corpus, trainer={"max_steps": 3}))
    train_run(cfg, tmp_path / "run")
    with pytest.raises(ConfigError, match="--resume.*--overwrite"):
        train_run(cfg, tmp_path / "run")
    train_run(cfg, tmp_path / "run", overwrite=True)


@pytest.mark.slow
def test_interrupt_saves_a_resumable_checkpoint(tmp_path, corpus, monkeypatch):
    cfg = build_config(tiny_raw(corpus))
    _interrupt_at(monkeypatch, 7)
    with pytest.raises(TrainingInterrupted) as err:
        train_run(cfg, tmp_path / "run")
    state = ckpt.load_trainer_state(err.value.path)
    assert state["global_step"] == 8
    monkeypatch.undo()
    resumed = train_run(cfg, tmp_path / "run", resume=True)
    assert resumed.epoch == 2


def test_max_steps_and_time_budget_stop_training(tmp_path, corpus):
    t = train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 4})), tmp_path / "a")
    assert t.global_step == 4
    t = train_run(build_config(tiny_raw(corpus, trainer={"time_budget_s": 1e-9})), tmp_path / "b")
    assert t.global_step == 1


def test_pretrained_backbone_is_transferred(tmp_path, corpus):
    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 30})), tmp_path / "pre")
    _, _, pre = load_run(tmp_path / "pre")
    cfg = build_config(tiny_raw(corpus, trainer={"max_steps": 1, "lr": 1e-9}))
    cfg.pretrained = str(tmp_path / "pre")
    from rnn_nlp.tasks.lm import LMTask
    from rnn_nlp.training.transfer import transfer_backbone

    task = LMTask(cfg)
    model = task.build_model()
    transfer_backbone(model, task.token_vocab(), cfg.pretrained)
    for (name, a), b in zip(pre.backbone.state_dict().items(), model.backbone.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_lr_scale_applies_to_one_step_only(tmp_path, corpus):
    """A model's `lr_scale` (variable BPTT) scales that step's update, then the lr is restored."""
    from rnn_nlp.tasks.lm import LMTask
    from rnn_nlp.training.trainer import Trainer, resolve_device

    cfg = build_config(tiny_raw(corpus, trainer={"bptt_variation": True, "max_steps": 3, "clip_norm": 0.01}))
    task = LMTask(cfg)
    trainer = Trainer(cfg, task, task.build_model(), tmp_path / "run", resolve_device("cpu"))
    batch = next(iter(task.train_batches(0, 0, torch.device("cpu"))))
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer._step({**batch, "scale": 0.5})
    moved = sum(float((p.detach() - b).norm() ** 2) for p, b in zip(trainer.model.parameters(), before)) ** 0.5
    # clipped to norm 0.01, then lr 5 x 0.5: the update's norm is 0.025 exactly
    assert moved == pytest.approx(5.0 * 0.5 * 0.01, rel=1e-3)
    assert trainer.current_lr() == 5.0


def test_transfer_ignores_weight_drop_naming(tmp_path, corpus):
    """A backbone pretrained with weight drop starts a backbone without it, and the reverse."""
    from rnn_nlp.tasks.lm import LMTask
    from rnn_nlp.training.transfer import transfer_backbone

    train_run(build_config(tiny_raw(corpus, backbone={"weight_drop": 0.5}, trainer={"max_steps": 3})), tmp_path / "pre")
    _, _, pre = load_run(tmp_path / "pre")
    task = LMTask(build_config(tiny_raw(corpus)))
    model = task.build_model()
    transfer_backbone(model, task.token_vocab(), tmp_path / "pre")
    raw = pre.backbone.stacks["fwd"].layers[0].weight_hh_l0_raw
    torch.testing.assert_close(model.backbone.stacks["fwd"].layers[0].weight_hh_l0, raw)


@pytest.mark.slow
def test_a_budget_ending_on_the_last_batch_completes_the_epoch(tmp_path, corpus):
    from rnn_nlp.tasks.lm import LMTask

    steps = LMTask(build_config(tiny_raw(corpus))).steps_per_epoch()
    t = train_run(build_config(tiny_raw(corpus, trainer={"max_steps": steps})), tmp_path / "run")
    assert t.epoch == 1 and t.step_in_epoch == 0
    assert [row["epoch"] for row in t.history] == [1]


@pytest.mark.parametrize("held_out", [True, False])
def test_valid_trained_on_selects_nothing_and_the_plateau_reads_the_training_loss(tmp_path, corpus, monkeypatch, held_out):
    """data.train_with_dev: the valid split is no judge, so every evaluation is the best (the latest model is
    kept) and the plateau schedule anneals on the training loss, which falls here, not on valid's, which rises."""
    from rnn_nlp.tasks.lm import LMTask

    losses = iter([5.0, 6.0, 7.0])
    monkeypatch.setattr(LMTask, "valid_held_out", held_out)
    monkeypatch.setattr(LMTask, "evaluate", lambda self, model, split, device: {"loss": next(losses), "ppl": 1.0})
    raw = tiny_raw(corpus, data={"max_train_tokens": 400}, trainer={"epochs": 3, "lr": 1.0, "schedule": "plateau", "plateau_factor": 0.5})
    trainer = train_run(build_config(raw), tmp_path / "run")
    train_losses = [row["train_loss"] for row in trainer.history]
    assert train_losses[-1] < train_losses[0]
    lrs = [row["lr"] for row in trainer.history]
    if held_out:
        assert trainer.best == 5.0 and lrs == [1.0, 1.0, 0.5]  # valid picked epoch 1 and cut the lr (a row shows it before)
    else:
        assert trainer.best == 7.0 and lrs == [1.0, 1.0, 1.0]  # the latest is the best; the training loss kept falling
    best, last = ckpt.load_weights(tmp_path / "run" / run_folder.BEST), _weights(tmp_path / "run")
    assert all(torch.equal(best[k], last[k]) for k in last) is (not held_out)  # best/ is the last model only then
