"""Checks of a whole run config that types alone cannot express (ranges, stage order), and the
assembly of a raw mapping into a RunConfig with a task's own sections. Errors name the dotted key."""

from __future__ import annotations

from typing import Any

from rnn_nlp.config import RunConfig, TrainerConfig, from_dict
from rnn_nlp.errors import ConfigError, abbreviate

SECTIONS = ("data", "backbone", "head", "trainer")


def assemble(raw: dict, task: Any, source: str = "config") -> RunConfig:
    """Validate a raw mapping into a RunConfig whose data and head sections are `task`'s own dataclasses.

    `task` is the registered Task class (it declares `data_config` and `head_config`); finding it by
    name is the runs layer's business (`rnn_nlp.runs.build_config`), so this module knows no task.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(raw).__name__}")
    if not raw:  # an empty mapping must not silently train every default (the PTB LM)
        raise ConfigError(f"{source}: the config holds no settings; give at least `task:` and `data:`")
    empty = [key for key in SECTIONS if key in raw and raw[key] is None]
    if empty:  # `data:` with nothing under it would train the task's default corpus
        raise ConfigError(f"{source}: {empty[0]}: the section is empty (nothing under `{empty[0]}:`); give its keys or remove the line")
    raw = dict(raw)
    try:
        data = from_dict(task.data_config, raw.pop("data", None), "data")
        head = from_dict(task.head_config, raw.pop("head", None), "head")
        cfg = from_dict(RunConfig, raw)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    cfg.data = data
    cfg.head = head
    validate(cfg, source)
    task.validate_config(cfg, source)
    return cfg


def _positive(cfg: RunConfig, source: str, keys: list[str]) -> None:
    """Each dotted key (section.name) is None or a number > 0 (NaN is refused)."""
    for key in keys:
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value is not None and not value > 0:
            raise ConfigError(f"{source}: {key} must be positive, got {value}")


def _probability(cfg: RunConfig, source: str, keys: list[str]) -> None:
    for key in keys:
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{source}: {key} must be in [0, 1), got {value}")


# Upper bounds of the floats that scale weights or updates: beyond them torch's optimisers overflow
# float32 (a traceback mid-run) or the first step turns every weight into NaN. Momentum stays below 1.
UPPER_BOUNDS = {
    "trainer.lr": 1e4,
    "trainer.weight_decay": 1e4,
    "trainer.momentum": 1.0,
    "trainer.discriminative_lr": 100.0,
    "trainer.stlr_ratio": 1e9,
    "backbone.init_range": 100.0,
}


def _bounded(cfg: RunConfig, source: str) -> None:
    """Each key of UPPER_BOUNDS is at most its bound (momentum: below it)."""
    for key, high in UPPER_BOUNDS.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value is None:
            continue
        below = key == "trainer.momentum"
        if value > high or (below and value >= high):
            raise ConfigError(f"{source}: {key} must be at most {high:g}{' (exclusive)' if below else ''}, got {value:g}")


positive_keys = _positive
probability_keys = _probability


def validate(cfg: RunConfig, source: str = "config") -> None:
    """Range checks that types alone cannot express."""
    _positive(
        cfg,
        source,
        [
            "backbone.emb_size",
            "backbone.hidden_size",
            "backbone.layers",
            "backbone.top_size",
            "trainer.epochs",
            "trainer.max_steps",
            "trainer.time_budget_s",
            "trainer.batch_size",
            "trainer.eval_batch_size",
            "trainer.bptt",
            "trainer.lr",
            "trainer.checkpoint_every",
            "trainer.log_every",
            "trainer.clip_norm",
            "trainer.threads",
            "trainer.discriminative_lr",
            "trainer.max_rollbacks",
            "trainer.early_stopping_patience",
        ],
    )
    _probability(
        cfg,
        source,
        [
            "backbone.embed_dropout",
            "backbone.input_dropout",
            "backbone.hidden_dropout",
            "backbone.output_dropout",
            "backbone.weight_drop",
        ],
    )
    _trainer_ranges(cfg, source)
    _bounded(cfg, source)
    _backbone_size(cfg, source)
    if not cfg.backbone.init_range > 0:
        raise ConfigError(f"{source}: backbone.init_range must be positive")
    validate_stages(cfg, source)


def _trainer_ranges(cfg: RunConfig, source: str) -> None:
    t = cfg.trainer
    if not t.weight_decay >= 0:
        raise ConfigError(f"{source}: trainer.weight_decay must be >= 0")
    if not (0 <= t.adversarial < float("inf")):
        raise ConfigError(f"{source}: trainer.adversarial must be a finite number >= 0 (0: off), got {t.adversarial}")
    if not t.momentum >= 0:
        raise ConfigError(f"{source}: trainer.momentum must be >= 0")
    if not t.stlr_ratio >= 1:
        raise ConfigError(f"{source}: trainer.stlr_ratio must be >= 1 (peak lr / lowest lr)")
    if not 0 <= t.min_lr <= t.lr:
        raise ConfigError(f"{source}: trainer.min_lr must be in [0, trainer.lr], got {t.min_lr}")
    if not 0.0 < cfg.trainer.plateau_factor < 1.0:
        raise ConfigError(f"{source}: trainer.plateau_factor must be in (0, 1), e.g. 0.5 to halve")
    if not 0.0 < cfg.trainer.warmup_frac < 1.0:
        raise ConfigError(f"{source}: trainer.warmup_frac must be in (0, 1)")
    if not 0.0 < t.rollback_lr_factor <= 1.0:
        raise ConfigError(f"{source}: trainer.rollback_lr_factor must be in (0, 1], e.g. 0.5 to halve")
    if not 0 <= t.seed < 2**63:
        raise ConfigError(f"{source}: trainer.seed must be in [0, 2**63), got {t.seed}")
    if t.threads is not None and t.threads > 4096:
        raise ConfigError(f"{source}: trainer.threads must be at most 4096, got {t.threads}")
    if getattr(cfg.data, "train_with_dev", False) and t.early_stopping_patience:
        raise ConfigError(
            f"{source}: trainer.early_stopping_patience stops when valid stops improving, but data.train_with_dev trains on "
            "valid too: set a number of epochs (trainer.epochs) instead"
        )


GATES = {"lstm": 4, "gru": 3, "elman_tanh": 1, "elman_relu": 1}
MAX_PARAMETERS = 2_000_000_000  # 8 GB of float32 weights, before gradients and optimiser state


def backbone_parameters(b: Any, vocab_size: int = 4) -> int:
    """The backbone's parameter count from its config alone (embeddings of `vocab_size` words)."""
    gates, top = GATES[b.rnn], b.top_size or b.hidden_size
    per_layer = lambda inp, h: gates * h * (inp + h + 2)  # noqa: E731  (input and hidden matrices, two biases)
    if b.layers == 1:
        stack = per_layer(b.emb_size, top)
    else:
        middle = (b.layers - 2) * per_layer(b.hidden_size, b.hidden_size)
        stack = per_layer(b.emb_size, b.hidden_size) + middle + per_layer(b.hidden_size, top)
    return stack * (2 if b.direction == "both" else 1) + vocab_size * b.emb_size


def _backbone_size(cfg: RunConfig, source: str) -> None:
    """Refuse a backbone too large to build before any memory is asked for (an allocator traceback otherwise)."""
    b = cfg.backbone
    n = backbone_parameters(b)
    if n > MAX_PARAMETERS:
        raise ConfigError(
            f"{source}: backbone.hidden_size={b.hidden_size}, backbone.emb_size={b.emb_size}, backbone.layers={b.layers}: "
            f"the backbone alone would hold {n:.3g} parameters ({4 * n / 2**30:,.0f} GiB of float32 weights, about 4x that "
            f"to train); at most {MAX_PARAMETERS:.0e} are allowed"
        )


STAGE_ORDER = ("lm_pretrain", "lm_finetune", "task")


def validate_stages(cfg: RunConfig, source: str) -> None:
    """`stages`: lm_pretrain, lm_finetune, task, each at most once and in that order; each LM stage's keys checked."""
    names = [s.name for s in cfg.stages]
    if len(set(names)) < len(names) or names != sorted(names, key=STAGE_ORDER.index):
        raise ConfigError(f"{source}: stages: {names} must be in the order {list(STAGE_ORDER)}, each at most once")
    if "lm_pretrain" in names and cfg.pretrained:
        raise ConfigError(f"{source}: stages: lm_pretrain trains a new LM, but `pretrained` names one ({cfg.pretrained}); drop one of them")
    if "lm_finetune" in names and not cfg.pretrained and "lm_pretrain" not in names:
        raise ConfigError(
            f"{source}: stages: lm_finetune fine-tunes an LM: set `pretrained` or put lm_pretrain before it (stages=[]: the task alone)"
        )
    for i, stage in enumerate(cfg.stages):
        key = f"stages[{i}]"
        if stage.name == "task" and (stage.trainer is not None or stage.corpora or stage.time_budget_s is not None):
            raise ConfigError(f"{source}: {key}: the task stage trains with the run's own `trainer` section; give it only a name")
        if not stage.epochs > 0:
            raise ConfigError(f"{source}: {key}.epochs must be positive, got {stage.epochs}")
        if stage.time_budget_s is not None and not stage.time_budget_s > 0:
            raise ConfigError(f"{source}: {key}.time_budget_s must be positive, got {stage.time_budget_s}")
        if stage.trainer is not None:
            if not isinstance(stage.trainer, dict):
                raise ConfigError(f"{source}: {key}.trainer: expected a mapping of trainer keys, got {abbreviate(stage.trainer)}")
            try:
                from_dict(TrainerConfig, stage.trainer, f"{key}.trainer")
            except ConfigError as exc:
                raise ConfigError(f"{source}: {exc}") from None
