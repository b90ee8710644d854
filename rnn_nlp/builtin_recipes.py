"""The built-in recipes: the YAML files of `configs/`, shipped inside the wheel as `rnn_nlp/configs/`
and found by name (`rnn-nlp train ner-conll03`, `rnn_nlp.train("ner-conll03")`).

In a checkout (or an editable install) the package `rnn_nlp.configs` is the repository's own
`configs/` folder, so there is one copy of each recipe.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path

from rnn_nlp.errors import ConfigError

SUFFIX = ".yaml"


def recipes_dir() -> Path:
    """The folder holding the built-in recipes."""
    return Path(str(resources.files("rnn_nlp.configs")))


EXPERIMENTS = "experiments"  # configs/experiments/: parameters of `rnn-nlp experiment NAME --config FILE`, not run configs


def recipe_names() -> list[str]:
    """Every built-in recipe's name (`lm-ptb`, `ner-conll03`, ...): the run configs of configs/."""
    root = recipes_dir()
    return sorted(p.stem for p in root.glob(f"*{SUFFIX}"))


def recipe_path(name: str) -> Path:
    """The file of the built-in recipe `name` (with or without `.yaml`); ConfigError with the closest names."""
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name
    names = recipe_names()
    if stem in names:
        return recipes_dir() / f"{stem}{SUFFIX}"
    close = difflib.get_close_matches(stem, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; built-in recipes: {', '.join(names)}"
    raise ConfigError(f"no config file or built-in recipe named {name!r}{hint} (rnn-nlp recipes lists them)")


def find_config(path_or_name: str | Path) -> Path:
    """A config file: the path if it is a file, else the built-in recipe of that name."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    if path.suffix in ("", SUFFIX) and len(path.parts) == 1:
        return recipe_path(str(path_or_name))
    raise ConfigError(f"config file not found: {path}")


def recipe_description(name: str) -> str:
    """A recipe's first comment line: what it trains."""
    for line in recipe_path(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    return ""
