"""A run named by a path, by a built-in recipe's name or by a hub name: where `rnn_nlp.load(NAME)` and
`pretrained: NAME` find a recipe's trained run (runs/NAME, then the cache's runs/NAME), and a model
on the Hugging Face hub (`hf://owner/name[@revision]`, through `rnn_nlp.training.hub`)."""

from __future__ import annotations

import os
from pathlib import Path

from rnn_nlp.builtin_recipes import recipe_names
from rnn_nlp.errors import CheckpointError, os_reason, shown_path
from rnn_nlp.training import run_folder
from rnn_nlp.training.hub import hub_snapshot, is_hub_name


def recipe_run_dirs(name: str) -> list[Path]:
    """Where a built-in recipe's trained run is looked for, in order: runs/NAME (where `rnn-nlp train
    NAME` and `rnn_nlp.train(NAME)` put it), then the cache's runs/NAME."""
    root = os.environ.get("RNN_NLP_CACHE") or Path.home() / ".cache" / "rnn_nlp"
    return [Path("runs") / name, Path(root) / "runs" / name]


def run_or_recipe(path_or_recipe: str | Path, what: str = "load") -> Path:
    """The run folder `path_or_recipe` names: the path when it exists, else the built-in recipe's trained run.

    A CheckpointError says which folders were tried and how to train the recipe's run.
    """
    if is_hub_name(path_or_recipe):  # hf://owner/name[@revision]: the hub snapshot, from its cache or downloaded
        return hub_snapshot(str(path_or_recipe))
    path = Path(path_or_recipe)
    try:
        if path.exists() or run_folder.resolve(path).exists():  # also a checkpoint folder caught mid-swap (as .NAME.old)
            return path
    except OSError as exc:  # a name over 255 bytes (text given as a path), no permission to look
        raise CheckpointError(f"{what}: {shown_path(path_or_recipe)}: {os_reason(exc)}") from None
    name = str(path_or_recipe)
    if name in recipe_names():
        for folder in recipe_run_dirs(name):
            if run_folder.resolve(folder).exists():
                return folder
        raise CheckpointError(
            f"no trained run of recipe {name!r} in {' or '.join(map(str, recipe_run_dirs(name)))}; "
            f"train it first: rnn_nlp.train({name!r}) or `rnn-nlp train {name}`"
        )
    raise CheckpointError(f"{name}: no such run folder (nor a built-in recipe's name; see rnn_nlp.recipes())")
