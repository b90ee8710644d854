"""`datasets`' progress bars held off while a fetcher writes its Arrow tables (a leaf: corpus modules and the cache both use it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def quiet_datasets() -> Iterator[Any]:
    """`datasets`' own progress bars off for a quick Arrow conversion (it draws one a split and shard,
    "Saving the dataset", for work of a second), then back as they were."""
    import datasets

    was_on = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield datasets
    finally:
        if was_on:
            datasets.enable_progress_bars()
