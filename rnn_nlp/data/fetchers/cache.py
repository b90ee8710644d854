"""Fetched corpora as `datasets` Arrow tables in the cache: built once by their fetcher, then read.

`fetch(name)` returns the named corpus (`rnn-nlp data list`) as a DatasetDict, building it the
first time and writing it atomically to `cache_path(name)`; a damaged cache is rebuilt, not trusted.
A fetcher that `writes_folder` (a corpus too large to hold as lists) writes the DatasetDict itself,
a line at a time, into the temporary folder it is given, with any files beside it (`manifest`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from rnn_nlp.data.fetchers.download import cache_dir
from rnn_nlp.data.fetchers.quiet import quiet_datasets
from rnn_nlp.data.fetchers.registrations import FETCHERS
from rnn_nlp.data.fetchers.registry import MANIFEST, Splits, did_you_mean
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)


def cache_path(name: str) -> Path:
    """Where the named corpus's table is cached: cache_dir()/NAME for version 1, cache_dir()/NAME.vN after
    (an older build stays where it was, for code that still reads it, and is never taken for the new one)."""
    version = FETCHERS[name].version if name in FETCHERS else 1
    return cache_dir() / (name if version == 1 else f"{name}.v{version}")


def _write(name: str, target: Path, fill: Callable[[Path], object]) -> None:
    """`fill(folder)` writes the corpus into a temporary folder beside `target`, renamed to `target` once
    whole: a failed or interrupted build leaves neither half a table nor its temporary folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        fill(tmp / "data")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp / "data", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _save(name: str, splits: Splits, target: Path) -> None:
    """Write the splits as a DatasetDict to `target`, through a temporary folder beside it."""
    sizes = {}

    def fill(folder: Path) -> None:
        with quiet_datasets() as datasets:
            table = datasets.DatasetDict({k: datasets.Dataset.from_dict(columns) for k, columns in splits.items()})
            table.save_to_disk(str(folder))
        sizes.update({k: len(v) for k, v in table.items()})

    _write(name, target, fill)
    log.info("%s: %s rows cached in %s", name, ", ".join(f"{k} {n:,}" for k, n in sizes.items()), target)


def _load(target: Path):
    with quiet_datasets() as datasets:
        return datasets.load_from_disk(str(target))


def fetch(name: str, refresh: bool = False):
    """Return the named corpus as a `datasets.DatasetDict`, fetching it once. The corpora a fetcher
    requires are fetched first and handed to its build function."""
    if name not in FETCHERS:
        raise DataError(f"unknown corpus '{name}'{did_you_mean(name, FETCHERS)}; known: {', '.join(sorted(FETCHERS))}")
    fetcher = FETCHERS[name]
    target = cache_path(name)
    if target.exists() and not refresh:
        try:
            return _load(target)
        except Exception:  # a damaged cache is rebuilt, not trusted
            shutil.rmtree(target, ignore_errors=True)
    tables = [fetch(required) for required in fetcher.requires]
    if fetcher.writes_folder:
        _write(name, target, lambda folder: fetcher.build(folder, *tables))
    else:
        splits = fetcher.build(*tables)
        if splits is None:
            raise DataError(f"corpus '{name}': its fetcher returned no splits (one that writes its own folder says writes_folder)")
        _save(name, splits, target)
    return _load(target)


def manifest(name: str) -> dict | None:
    """The manifest a corpus keeps beside its table (MANIFEST: sources, word counts, licences), or None."""
    path = cache_path(name) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
