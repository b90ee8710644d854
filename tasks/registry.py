"""The task registry, a leaf module: names -> Task classes, imported by nothing it would import back.

Built-in tasks are entered in one place, `rnn_nlp.tasks.registrations`, by import path, and loaded on
first use. A user's own task registers with `@register_task`, is named in a config as
`task: "package.module:ClassName"`, or comes through the `rnn_nlp.tasks` entry-point group of an
installed package.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

TASKS: dict[str, type] = {}
LAZY: dict[str, str] = {}  # name -> "module:Class", imported when first asked for


def register_task(cls: type) -> type:
    """Class decorator: register a Task subclass under its `name`."""
    if not getattr(cls, "name", ""):
        raise ValueError(f"{cls.__name__} needs a `name` to register")
    TASKS[cls.name] = cls
    return cls


def register_lazy(name: str, target: str) -> None:
    """Register `module:Class` under `name` without importing it yet."""
    if ":" not in target:
        raise ValueError(f"task {name!r}: expected 'module:Class', got {target!r}")
    LAZY[name] = target


def _import(target: str) -> type:
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise KeyError(f"cannot load task {target!r}: {exc}") from None


def task_names() -> list[str]:
    """Every registered task name (built-in, decorated and from entry points), sorted."""
    _load_entry_points()
    return sorted(set(TASKS) | set(LAZY))


def _load_entry_points() -> None:
    for ep in entry_points(group="rnn_nlp.tasks"):
        if ep.name not in TASKS and ep.name not in LAZY:
            LAZY[ep.name] = ep.value


def get_task(name: str) -> type:
    """The Task class registered as `name`, or loaded from `module:Class`; KeyError listing the known names."""
    if ":" in name:
        return _import(name)
    if name not in TASKS and name not in LAZY:
        _load_entry_points()
    if name in TASKS:
        return TASKS[name]
    if name in LAZY:
        TASKS[name] = _import(LAZY[name])
        return TASKS[name]
    raise KeyError(f"unknown task {name!r}; known: {', '.join(task_names())}")
