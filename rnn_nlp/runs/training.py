"""Training runs into run folders: start, replace, resume; the steps that come before a task's own training."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from rnn_nlp.config import RunConfig, save_config
from rnn_nlp.errors import CheckpointError, ConfigError, NonFiniteLossError, SaveError
from rnn_nlp.files import replace_text
from rnn_nlp.runs.configs import build_config, checkpoint_config, config_changes
from rnn_nlp.runs.folders import DropReplaced, check_out_folder, check_out_path, run_lock, set_aside, settle_replaced
from rnn_nlp.runs.model_card import write_run_card
from rnn_nlp.runs.shorthand import resolve_shorthand
from rnn_nlp.runs.stages import train_stage
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import distributed, run_folder
from rnn_nlp.training.callbacks import Callback
from rnn_nlp.training.recipe_runs import run_or_recipe
from rnn_nlp.training.run_folder import FINISHED, LAST, RUN_CONFIG
from rnn_nlp.training.trainer import Trainer, resolve_device, seed_everything
from rnn_nlp.training.transfer import adopt_architecture, transfer_backbone

log = logging.getLogger(__name__)


def check_pretrained(cfg: RunConfig, out: Path) -> str | None:
    """The run folder `pretrained` names (a path, or a built-in recipe's name: its trained run), complete and
    other than `out`; a ConfigError naming the key, before anything is written."""
    if not cfg.pretrained:
        return None
    try:
        source = run_or_recipe(cfg.pretrained, "pretrained")
    except CheckpointError as exc:
        raise ConfigError(f"pretrained: {exc}") from None
    if source.resolve() == out.resolve():
        raise ConfigError(f"pretrained: {cfg.pretrained} is the run folder being trained (--out); start from another run")
    try:
        ckpt.verify(source)
    except CheckpointError as exc:
        raise ConfigError(f"pretrained: {exc}") from None
    if str(source) != cfg.pretrained:
        log.info("pretrained: recipe %s's trained run %s", cfg.pretrained, source)
    return str(source)


def resolve_pretrained(cfg: RunConfig, task: Any, out: Path) -> str | None:
    """Run the task's stages (LM pretraining / fine-tuning on its text), settle the backbone's shape,
    and return the run folder the backbone starts from (None: a fresh backbone).

    The config stays as built (`stages:`, the shorthand resolved into it, and `pretrained` as written): the
    stages' folders are found again on resume, where finished stages are reused.
    """
    resolved = check_pretrained(cfg, out)
    task.adopt_pretrained()  # may take `pretrained` for itself (a tagger: a char-level LM as its string embedder)
    start = checked = resolved if cfg.pretrained else None
    for stage in task.pre_stages():
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SaveError(f"cannot make the run folder {out}: {exc.strerror or exc}") from None
        start = train_stage(stage, cfg, start, out, train_once)
        seed_everything(cfg.trainer.seed)
    if start:
        if start != checked:  # a stage's run (checked above otherwise)
            ckpt.verify(start)
        adopt_architecture(cfg, start)
    return start


def train_run(
    cfg: RunConfig, out: str | Path, resume: bool = False, overwrite: bool = False, callbacks: Sequence[Callback] = ()
) -> Trainer:
    """Train `cfg` into folder `out`; with `resume`, continue from its last checkpoint.

    `out` must be new, empty or a run folder, and is locked while training (one writer at a time).
    `callbacks` are the caller's own, added to those the config asks for (see
    `rnn_nlp.training.callbacks`). Under `torchrun` (several processes), every process calls this;
    they train data-parallel (rank 0 holds the lock and writes). A shorthand of LM stages set on `cfg`
    after it was built is resolved into `stages:` here (`resolve_shorthand`; a no-op on a built config).
    """
    resolve_shorthand(cfg, "config")
    out = Path(out)
    check_out_path(out)
    if out.is_symlink():  # set aside, restore and lock the folder itself, not the link to it
        out = out.resolve()
    dist = distributed.setup(cfg.trainer.device)
    if dist.active:
        distributed.check_batch_size(cfg.trainer.batch_size, dist.world_size)
    check_out_folder(out)
    with run_lock(out) if dist.is_main else contextlib.nullcontext():
        if dist.is_main:
            settle_replaced(out)  # an --overwrite killed before its first checkpoint: the old run comes back
            run_folder.tidy(out)
        dist.barrier()  # the other ranks look at the folder only once it is settled
        try:
            trainer = _prepare(cfg, out, resume, overwrite, callbacks, dist)
            trainer.fit()
            check_finite_best(trainer, out)
        except BaseException:
            if dist.is_main:
                try:
                    settle_replaced(out)
                except SaveError as exc:  # said, but the run's own error is the one to raise
                    log.error("%s", exc)
            raise
        if dist.is_main:
            settle_replaced(out)
            write_run_card(out, trainer.data_fingerprint())  # README.md: what the run is, what it read, how it measured
        dist.barrier()  # every rank returns once rank 0 has written the last best/ and checkpoint (then read by all)
    return trainer


def check_finite_best(trainer: Trainer, out: Path) -> None:
    """A run none of whose evaluations gave a finite selection metric has no model worth serving
    (its weights went NaN or infinite): no best/ was written, and this says so."""
    if trainer.best is not None:
        return
    key = trainer.selection[0]
    raise NonFiniteLossError(
        f"run {out}: no evaluation had finite weights and a finite valid {key}, so no best model "
        "was saved; try a lower trainer.lr, a trainer.clip_norm, or trainer.on_nonfinite=rollback"
    )


def _prepare(cfg: RunConfig, out: Path, resume: bool, overwrite: bool, callbacks: Sequence[Callback], dist: Any) -> Trainer:
    """The trainer of a new, replaced or resumed run, with everything checked before anything is removed."""
    last = out / LAST
    have_last = run_folder.resolve(last).exists()
    if resume and not have_last:
        log.warning("%s has no checkpoint to resume from; starting a new run", out)
    replace = not resume and (have_last or (run_folder.resolve(out) / run_folder.WEIGHTS).exists())  # best/ or an old run's own
    if replace and not overwrite:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or --overwrite to start over")
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    device = resolve_device(cfg.trainer.device)
    if dist.active and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    seed_everything(cfg.trainer.seed)
    if replace:
        # the old run goes only once the new one's data, start and model are checked: a typo must not cost a run
        check_pretrained(cfg, out)
        get_task(cfg.task)(cfg).build_model()
        seed_everything(cfg.trainer.seed)
        if dist.is_main:
            set_aside(out)  # removed at the new run's first best model (DropReplaced), put back if it fails first
        dist.barrier()
        callbacks = [*callbacks, DropReplaced(out)]
    trainer = _resumed(cfg, out, device, dist, callbacks) if resume and have_last else _fresh(cfg, out, device, dist, callbacks)
    if dist.is_main:
        try:
            out.mkdir(parents=True, exist_ok=True)
            save_config(cfg, out / RUN_CONFIG)
        except OSError as exc:
            raise SaveError(f"cannot write into the run folder {out}: {exc}") from None
    return trainer


def _resumed(cfg: RunConfig, out: Path, device: torch.device, dist: Any, callbacks: Sequence[Callback]) -> Trainer:
    checkpoint = ckpt.read_checkpoint(out / LAST)
    saved = checkpoint_config(checkpoint)
    task = get_task(cfg.task)(cfg, vocab_json=checkpoint.vocab_json())
    resolve_pretrained(cfg, task, out)
    changed = config_changes(saved, cfg)
    if changed:
        raise ConfigError(
            f"--resume: the config differs from the checkpoint's in {', '.join(changed)}; "
            f"resume with the same config ({checkpoint.folder / ckpt.CONFIG}) or start a new run"
        )
    model = task.build_model().to(device)
    ckpt.load_model_weights(model, checkpoint.weights(), checkpoint.folder)
    trainer = Trainer(cfg, task, model, out, device, dist, callbacks)
    trainer.load_state_dict(checkpoint.trainer_state(), source=checkpoint.folder / ckpt.TRAINER_STATE)
    log.info("resuming %s at epoch %d, step %d", out, trainer.epoch + 1, trainer.global_step)
    return trainer


def _fresh(cfg: RunConfig, out: Path, device: torch.device, dist: Any, callbacks: Sequence[Callback]) -> Trainer:
    task = get_task(cfg.task)(cfg)
    start = resolve_pretrained(cfg, task, out)
    model = task.build_model()
    if start:
        transfer_backbone(model, task.token_vocab(), start)
    task.start_from_pretrained(model)  # e.g. a seq2seq decoder from a target-language LM
    model.to(device)
    return Trainer(cfg, task, model, out, device, dist, callbacks)


def train_once(target: Path, what: str, make_config: Callable[[], dict]) -> str:
    """Train a run into `target` once, for a step that comes before a task's own training (ULMFiT's
    LM fine-tuning, a tagger's LM pretraining): reused when a FINISHED marker says it completed,
    resumed when it was cut short. `make_config` (which may write the run's text first) returns the
    raw config; it is called only when there is training to do. Returns the run folder."""
    done = target / FINISHED
    if done.exists():
        log.info("reusing the %s in %s", what, target)
        return str(target)
    resume = run_folder.resolve(target / LAST).exists()  # also when a kill mid-swap left it as .checkpoint-last.old
    train_run(build_config(make_config(), f"{what} config"), target, resume=resume, overwrite=not resume)
    try:
        replace_text(done, f"{what} complete\n")
    except OSError as exc:
        raise SaveError(
            f"cannot mark the {what} in {target} complete: {exc.strerror or exc}; it is trained: --resume takes it up"
        ) from None
    return str(target)
