"""The shorthand of LM stages, resolved into `stages:` once, when a config is built.

`stages:` is how a config says "train a language model first". Some tasks also accept a shorthand:
data.pretrain_epochs (with data.pretrain_corpora and data.pretrain_time_budget_s; tagging and QA) for
an lm_pretrain stage, and head.lm_finetune_epochs (classification) for ULMFiT's lm_finetune stage from
`pretrained`. `resolve_shorthand` rewrites the shorthand into the `stages:` list it stands for and sets
its keys back to their defaults, so a run holds, saves and compares on `--resume` one form only.

Runs saved before this resolution recorded the shorthand's stage folder in `pretrained`
(RUN/lm-pretrained, RUN/lm-finetuned) and kept the shorthand keys. Read as a saved config
(`saved_in`: the checkpoint or run folder it came from), such a config becomes the same `stages:`
a config written today would.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from rnn_nlp.config import RunConfig, StageConfig
from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.run_folder import STAGE_FOLDERS

log = logging.getLogger(__name__)

PRETRAIN_KEYS = ("pretrain_epochs", "pretrain_corpora", "pretrain_time_budget_s")  # in the data section
FINETUNE_KEY = "lm_finetune_epochs"  # in the head section


def stages_text(stages: list[StageConfig]) -> str:
    """`stages:` as a user would write it in a config, in YAML flow style (only the keys that differ from the defaults)."""
    items = []
    for stage in stages:
        keys = [f"name: {stage.name}"]
        if stage.name != "task":
            keys.append(f"epochs: {stage.epochs}")
            if stage.corpora:
                keys.append(f"corpora: [{', '.join(stage.corpora)}]")
            if stage.time_budget_s is not None:
                keys.append(f"time_budget_s: {stage.time_budget_s:g}")
        items.append("{" + ", ".join(keys) + "}")
    return f"stages: [{', '.join(items)}]"


def resolve_shorthand(cfg: RunConfig, source: str, saved_in: Path | None = None) -> RunConfig:
    """Rewrite the shorthand keys of `cfg` into `cfg.stages` (a ConfigError when `stages:` is given too) and
    reset them to their defaults; log the `stages:` form. `saved_in`: `cfg` was read from that checkpoint or
    run folder, where an older run may have recorded its stage's folder in `pretrained`."""
    said: list[str] = []
    stage = _pretrain_stage(cfg, source, saved_in, said)
    stages = [stage] if stage else []
    stage = _finetune_stage(cfg, source, saved_in, said)
    stages += [stage] if stage else []
    if stages:
        cfg.stages = [*stages, StageConfig("task")]
        log.info(
            "%s: the shorthand %s is read as %s (the form to write; the run saves it)", source, ", ".join(said), stages_text(cfg.stages)
        )
    return cfg


def _pretrain_stage(cfg: RunConfig, source: str, saved_in: Path | None, said: list[str]) -> StageConfig | None:
    """data.pretrain_epochs > 0 and no `pretrained` LM: an lm_pretrain stage on the task's text + corpora."""
    d = cfg.data
    if not all(hasattr(d, key) for key in PRETRAIN_KEYS):
        return None
    epochs, corpora, budget = d.pretrain_epochs, list(d.pretrain_corpora), d.pretrain_time_budget_s
    if epochs and cfg.stages:
        wanted = stages_text([StageConfig("lm_pretrain", epochs, None, corpora), StageConfig("task")])
        raise ConfigError(
            f"{source}: data.pretrain_epochs and stages both say how the LM is pretrained; keep stages and write it there: {wanted}"
        )
    _reset(d, PRETRAIN_KEYS)
    if not epochs:
        return None  # corpora and a budget without epochs ask for nothing
    if cfg.pretrained and not _recorded_stage(cfg.pretrained, "lm_pretrain", saved_in):
        log.warning("%s: data.pretrain_epochs is ignored: `pretrained` names the LM the backbone starts from (%s)", source, cfg.pretrained)
        return None
    cfg.pretrained = None
    said.append(f"data.pretrain_epochs={epochs}" + (f", data.pretrain_corpora=[{', '.join(corpora)}]" if corpora else ""))
    return StageConfig("lm_pretrain", epochs, budget, corpora)


def _finetune_stage(cfg: RunConfig, source: str, saved_in: Path | None, said: list[str]) -> StageConfig | None:
    """head.lm_finetune_epochs > 0 with a `pretrained` LM: an lm_finetune stage of that LM on the task's text."""
    epochs = getattr(cfg.head, FINETUNE_KEY, None)
    if not isinstance(epochs, int) or not epochs:
        return None
    if cfg.stages:
        wanted = stages_text([StageConfig("lm_finetune", epochs), StageConfig("task")])
        raise ConfigError(
            f"{source}: head.lm_finetune_epochs and stages both say how the LM is fine-tuned; keep stages and write it there: {wanted}"
        )
    _reset(cfg.head, (FINETUNE_KEY,))
    if not cfg.pretrained:
        log.warning("%s: head.lm_finetune_epochs is ignored: there is no `pretrained` LM to fine-tune", source)
        return None
    if _recorded_stage(cfg.pretrained, "lm_finetune", saved_in):
        cfg.pretrained = _finetuned_from(cfg.pretrained, saved_in)
    said.append(f"head.lm_finetune_epochs={epochs}")
    return StageConfig("lm_finetune", epochs)


def _reset(section: Any, names: tuple[str, ...]) -> None:
    """Set each named field of a config dataclass back to its default."""
    for f in dataclasses.fields(section):
        if f.name in names:
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            setattr(section, f.name, default)


def _recorded_stage(pretrained: str, kind: str, saved_in: Path | None) -> bool:
    """Whether a saved config's `pretrained` is the stage folder an older run recorded there (by its name:
    the run folder may have moved since)."""
    return saved_in is not None and Path(pretrained).name == STAGE_FOLDERS[kind]


def _finetuned_from(recorded: str, saved_in: Path | None) -> str:
    """The LM an older run's lm_finetune stage started from: the `pretrained` of that stage's own config,
    found where the run recorded it or beside the checkpoint it was read from."""
    name = Path(recorded).name
    places = [Path(recorded)] + ([saved_in.parent / name, saved_in / name] if saved_in else [])
    for place in places:
        try:
            start = ckpt.load_raw_config(place).get("pretrained")
        except (CheckpointError, ConfigError):
            continue
        if isinstance(start, str) and start:
            return start
    log.warning("%s: cannot read the LM the fine-tuned LM started from; `pretrained` stays %s", recorded, recorded)
    return recorded
