"""Run configs with their task: the raw mapping validated against the registered task's own sections.

This is where a config name meets the task registry, above `rnn_nlp.config` (which knows no task).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from rnn_nlp.builtin_recipes import find_config
from rnn_nlp.config import RESUMABLE_CHANGES, RunConfig, apply_overrides, read_yaml_mapping, to_dict
from rnn_nlp.errors import ConfigError, abbreviate, os_reason, shown_path
from rnn_nlp.runs.shorthand import resolve_shorthand
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.validation import assemble


def task_of(raw: Any, source: str = "config") -> type:
    """The Task class a raw config names (`task:`, default `lm`)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(raw).__name__}")
    name = raw.get("task", "lm")
    if not isinstance(name, str):
        raise ConfigError(f"{source}: task: expected a string, got {abbreviate(name)}")
    try:
        return get_task(name)
    except KeyError as exc:
        raise ConfigError(f"{source}: task: {exc.args[0]}") from None


def build_config(raw: dict, source: str = "config", saved_in: Path | None = None) -> RunConfig:
    """Validate a raw mapping into a RunConfig, with the data and head sections of its task, the shorthand
    of LM stages resolved into `stages:` (`rnn_nlp.runs.shorthand`). `saved_in`: `raw` is the saved config
    of that checkpoint or run folder (an older run may have saved the shorthand its own way)."""
    return resolve_shorthand(assemble(raw, task_of(raw, source), source), source, saved_in)


def load_config(path_or_recipe: str | Path, overrides: list[str] | tuple = ()) -> RunConfig:
    """Read a YAML file (or a built-in recipe by name), apply dotted overrides and validate everything."""
    try:
        path = find_config(path_or_recipe)
        raw = read_yaml_mapping(path)
    except OSError as exc:  # unreadable (permissions), a name the system refuses, a folder where the file was expected
        raise ConfigError(f"config file {shown_path(path_or_recipe)}: cannot read it: {os_reason(exc)}") from None
    return build_with_overrides(raw, list(overrides), str(path))


def build_with_overrides(raw: dict, overrides: list[str], source: str, saved_in: Path | None = None) -> RunConfig:
    """`build_config` of `raw` with dotted `overrides` applied; an error the overrides cause is blamed on
    the first override that causes it ("override KEY=VALUE: ..."), not on the file they were applied to."""
    try:
        return build_config(apply_overrides(copy.deepcopy(raw), overrides), source, saved_in)
    except ConfigError as exc:
        if not overrides:
            raise
        error = exc
    try:
        build_config(copy.deepcopy(raw), source, saved_in)
    except ConfigError:
        raise error from None  # the file alone is wrong: its own error stands
    for i, text in enumerate(overrides):
        try:
            build_config(apply_overrides(copy.deepcopy(raw), overrides[: i + 1]), f"override {text.strip()}", saved_in)
        except ConfigError as exc:
            raise exc from None
    raise error


def load_run_config(run_dir: str | Path) -> RunConfig:
    """The validated config of a run or checkpoint folder."""
    run_dir = run_folder.resolve(Path(run_dir))
    return build_config(ckpt.load_raw_config(run_dir), str(run_dir / ckpt.CONFIG), run_dir)


def checkpoint_config(checkpoint: ckpt.Checkpoint) -> RunConfig:
    """The validated config of a checkpoint read whole (`rnn_nlp.training.checkpoint.read_checkpoint`)."""
    return build_config(checkpoint.raw_config(), str(checkpoint.folder / ckpt.CONFIG), checkpoint.folder)


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
