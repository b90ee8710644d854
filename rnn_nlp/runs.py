"""Run folders: start, resume and reload training runs (what `rnn-nlp train/evaluate/generate` call)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Callable

import torch

from rnn_nlp.config import RESUMABLE_CHANGES, RunConfig, build_config, save_config, to_dict
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError, SaveError
from rnn_nlp.train import checkpoint as ckpt
from rnn_nlp.train import distributed
from rnn_nlp.train.trainer import LAST, Trainer, resolve_device, seed_everything
from tasks.registry import get_task

log = logging.getLogger(__name__)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def config_changes(old: RunConfig, new: RunConfig) -> list[str]:
    """Dotted keys whose values differ, other than those a resume may change."""
    a, b = _flatten(to_dict(old)), _flatten(to_dict(new))
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k) and k not in RESUMABLE_CHANGES)


def load_run_config(run_dir: str | Path) -> RunConfig:
    run_dir = ckpt.resolve(Path(run_dir))
    return build_config(ckpt.load_raw_config(run_dir), str(run_dir / ckpt.CONFIG))


def load_run(run_dir: str | Path, device: str = "cpu") -> tuple[RunConfig, Any, torch.nn.Module]:
    """(config, task, model in eval mode) from a run or checkpoint folder, checked before use."""
    run_dir = Path(run_dir)
    ckpt.verify(run_dir)
    cfg = load_run_config(run_dir)
    task = get_task(cfg.task)(cfg, vocab_json=ckpt.load_vocab_json(run_dir))
    model = task.build_model()
    ckpt.load_model_weights(model, ckpt.load_weights(run_dir), run_dir)
    model.to(resolve_device(device))
    model.eval()
    return cfg, task, model


def transfer_backbone(model: torch.nn.Module, vocab: Vocab, source: str | Path, only_forward: bool = False) -> None:
    """Start `model.backbone` from a pretrained run; embedding rows are matched by token string.

    Words the pretrained vocabulary lacks start at the mean pretrained embedding (as ULMFiT does).
    `only_forward` takes just the forward direction of a bidirectional run (for a forward model).
    """
    ckpt.verify(source)
    weights = {k[len("backbone.") :]: v for k, v in ckpt.load_weights(source).items() if k.startswith("backbone.")}
    if only_forward:
        weights = {k: v for k, v in weights.items() if not k.startswith("stacks.bwd.")}
    old_vocab = Vocab(**ckpt.load_vocab_json(source)["tokens"])
    if old_vocab.unit != vocab.unit:
        raise CheckpointError(f"{source}: its backbone reads {old_vocab.unit}s, this task reads {vocab.unit}s")
    own = model.backbone.state_dict()
    emb_key = "embedding.weight"
    if emb_key in weights:
        old = weights[emb_key]
        if old.size(1) != own[emb_key].size(1):
            raise CheckpointError(f"{source}: embedding width {old.size(1)} differs from backbone.emb_size {own[emb_key].size(1)}")
        new = old.mean(0, keepdim=True).repeat(len(vocab), 1)
        hits = 0
        for i, tok in enumerate(vocab.itos):
            j = old_vocab.stoi.get(tok)
            if j is not None:
                new[i] = old[j]
                hits += 1
        weights[emb_key] = new
        log.info("pretrained embeddings: %d of %d words found in %s", hits, len(vocab), source)
    # weight drop renames parameters (`.module.`, `_raw`): match on the plain names
    plain = {canonical(k): k for k in own}
    renamed = {}
    for k, v in weights.items():
        target = plain.get(canonical(k))
        if target is None or own[target].shape != v.shape:
            raise CheckpointError(f"{source}: backbone weight {k} does not fit this backbone; use the same backbone config")
        renamed[target] = v
    model.backbone.load_state_dict(renamed, strict=False)


def canonical(name: str) -> str:
    """A backbone parameter's name as it would be without weight drop's wrapper."""
    return name.replace(".module.", ".").replace("_raw", "")


ARCHITECTURE = ("rnn", "emb_size", "hidden_size", "layers", "direction", "top_size", "residual")


def adopt_architecture(cfg: RunConfig, source: str | Path) -> None:
    """A run starting from a pretrained backbone takes that backbone's shape (its dropouts stay its own)."""
    pretrained = load_run_config(source).backbone
    changed = [k for k in ARCHITECTURE if getattr(cfg.backbone, k) != getattr(pretrained, k)]
    for key in changed:
        setattr(cfg.backbone, key, getattr(pretrained, key))
    if changed:
        log.info("backbone shape taken from %s: %s", source, ", ".join(f"{k}={getattr(pretrained, k)}" for k in changed))


def resolve_pretrained(cfg: RunConfig, task: Any, out: Path) -> None:
    """Settle where the backbone starts (after any task-specific LM fine-tuning) and its shape."""
    if hasattr(task, "prepare_pretrained"):  # e.g. ULMFiT's LM fine-tuning on the task's text
        out.mkdir(parents=True, exist_ok=True)
        cfg.pretrained = task.prepare_pretrained(out)
        seed_everything(cfg.trainer.seed)
    if cfg.pretrained:
        ckpt.verify(cfg.pretrained)
        adopt_architecture(cfg, cfg.pretrained)


def train_run(cfg: RunConfig, out: str | Path, resume: bool = False, overwrite: bool = False) -> Trainer:
    """Train `cfg` into folder `out`; with `resume`, continue from its last checkpoint.

    Under `torchrun` (several processes), every process calls this; they train data-parallel.
    """
    out = Path(out)
    last = out / LAST
    have_last = ckpt.resolve(last).exists()
    dist = distributed.setup(cfg.trainer.device)
    if dist.active:
        distributed.check_batch_size(cfg.trainer.batch_size, dist.world_size)
    if resume and not have_last:
        log.warning("%s has no checkpoint to resume from; starting a new run", out)
    replace = not resume and (have_last or (out / ckpt.WEIGHTS).exists())
    if replace and not overwrite:
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or --overwrite to start over")
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    device = resolve_device(cfg.trainer.device)
    if dist.active and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    seed_everything(cfg.trainer.seed)
    if replace:
        # the old run goes only once the new one's data have loaded: a typo must not cost a run
        get_task(cfg.task)(cfg).steps_per_epoch()
        seed_everything(cfg.trainer.seed)
        if dist.is_main:
            shutil.rmtree(out)
        dist.barrier()
    if resume and have_last:
        ckpt.verify(last)
        saved = load_run_config(last)
        task = get_task(cfg.task)(cfg, vocab_json=ckpt.load_vocab_json(last))
        resolve_pretrained(cfg, task, out)
        changed = config_changes(saved, cfg)
        if changed:
            raise ConfigError(
                f"--resume: the config differs from the checkpoint's in {', '.join(changed)}; "
                f"resume with the same config ({ckpt.resolve(last) / ckpt.CONFIG}) or start a new run"
            )
        model = task.build_model().to(device)
        ckpt.load_model_weights(model, ckpt.load_weights(last), last)
        trainer = Trainer(cfg, task, model, out, device, dist)
        trainer.load_state_dict(ckpt.load_trainer_state(last))
        log.info("resuming %s at epoch %d, step %d", out, trainer.epoch + 1, trainer.global_step)
    else:
        task = get_task(cfg.task)(cfg)
        resolve_pretrained(cfg, task, out)
        model = task.build_model()
        if cfg.pretrained:
            transfer_backbone(model, task.token_vocab(), cfg.pretrained)
        if hasattr(task, "transfer_pretrained"):  # e.g. a seq2seq decoder from a target-language LM
            task.transfer_pretrained(model)
        model.to(device)
        trainer = Trainer(cfg, task, model, out, device, dist)
    if dist.is_main:
        try:
            out.mkdir(parents=True, exist_ok=True)
            save_config(cfg, out / "run-config.yaml")
        except OSError as exc:
            raise SaveError(f"cannot write into the run folder {out}: {exc}") from None
    trainer.fit()
    return trainer


def train_once(target: Path, what: str, make_config: Callable[[], dict]) -> str:
    """Train a run into `target` once, for a step that comes before a task's own training (ULMFiT's
    LM fine-tuning, a tagger's LM pretraining): reused when a FINISHED marker says it completed,
    resumed when it was cut short. `make_config` (which may write the run's text first) returns the
    raw config; it is called only when there is training to do. Returns the run folder."""
    done = target / "FINISHED"
    if done.exists():
        log.info("reusing the %s in %s", what, target)
        return str(target)
    resume = (target / LAST).exists()
    train_run(build_config(make_config(), f"{what} config"), target, resume=resume, overwrite=not resume)
    done.write_text(f"{what} complete\n", encoding="utf-8")
    return str(target)
