"""The table of fetchers: corpus name -> the function that builds its splits. A leaf module.

The built-in corpora are entered in `registrations`; a user's own fetcher registers with
`register_fetcher`. Read FETCHERS through `registrations` (or `cache`) to see them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Splits = dict[str, dict[str, list]]  # split name -> columns ("text", maybe "label", ...)
MANIFEST = "manifest.json"  # what a corpus that records its sources (words, licences) writes beside its table


@dataclass(frozen=True)
class Fetcher:
    """A named corpus: how to build its splits, and what it is. `requires` names corpora whose cached
    tables `build` takes as arguments, in that order (bbc-headlines is made from bbc-news). With
    `writes_folder`, `build(folder, *tables)` writes the DatasetDict into `folder` itself (datasets'
    `save_to_disk` layout, plus any files beside it) and returns nothing: for corpora too large for lists."""

    name: str
    description: str
    build: Callable[..., Splits | None]
    version: int = 1  # raised when the construction changes, so an older cached table is not read
    requires: tuple[str, ...] = ()
    writes_folder: bool = False


FETCHERS: dict[str, Fetcher] = {}


def register_fetcher(name: str, description: str, version: int = 1, requires: tuple[str, ...] = ()):
    """Decorator: register a function returning {split: {column: values}} under a corpus name. Raise
    `version` when what the function builds changes: the table is then cached under a new folder."""

    def wrap(fn: Callable[..., Splits]):
        FETCHERS[name] = Fetcher(name, description, fn, version, tuple(requires))
        return fn

    return wrap


def did_you_mean(name: str, names: Iterable[str]) -> str:
    """ " (did you mean 'ptb'?)" when `name` is close to one of `names` (difflib), else ""."""
    close = difflib.get_close_matches(name, sorted(set(names)), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"
