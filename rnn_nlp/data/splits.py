"""Train/valid/test splits: contiguous by line, seeded by item or document, stratified by label.

Each helper's cut (which part comes first, how sizes round) is pinned: fetched corpora are cached
splits of these functions, and a change would make a fresh fetch differ from a cached one.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter

from rnn_nlp.errors import ConfigError, DataError

log = logging.getLogger(__name__)

TEXT_HELD_OUT = 0.05  # valid and test carved off a text corpus's train split when it has none
SHOWN = 5  # classes quoted in a warning


# ---- contiguous (keeps neighbouring lines and documents together) -----------------------------


def split_sizes(n: int, valid_frac: float, test_frac: float) -> tuple[int, int, int]:
    """(train, valid, test) sizes of a contiguous split of n items: each asked-for held-out part gets
    at least one item once there are three, the rest is train. Every contiguous split uses this."""
    n_test = max(1, int(n * test_frac)) if n >= 3 and test_frac > 0 else 0
    n_valid = max(1, int(n * valid_frac)) if n >= 3 and valid_frac > 0 else 0
    return n - n_valid - n_test, n_valid, n_test


def contiguous_split(columns: dict[str, list], valid_frac: float = 0.1, test_frac: float = 0.1) -> dict[str, dict[str, list]]:
    """Aligned columns cut in order: the first items train, then valid, then test."""
    n = len(next(iter(columns.values()), []))
    n_train, n_valid, _ = split_sizes(n, valid_frac, test_frac)
    cuts = {"train": (0, n_train), "valid": (n_train, n_train + n_valid), "test": (n_train + n_valid, n)}
    return {s: {k: v[a:b] for k, v in columns.items()} for s, (a, b) in cuts.items()}


def split_lines(lines: list[str], valid_frac: float = TEXT_HELD_OUT, test_frac: float = TEXT_HELD_OUT) -> dict[str, list[str]]:
    """Contiguous split (keeps documents whole for LMs): first 90% train, then valid, then test."""
    return {split: part["lines"] for split, part in contiguous_split({"lines": lines}, valid_frac, test_frac).items()}


def fill_missing_splits(splits: dict[str, list[str]]) -> dict[str, list[str]]:
    """Carve a missing valid and/or test split (5% each) off the end of train."""
    missing = [s for s in ("valid", "test") if s not in splits]
    if missing:
        fracs = {f"{s}_frac": (TEXT_HELD_OUT if s in missing else 0.0) for s in ("valid", "test")}
        parts = split_lines(splits["train"], **fracs)
        splits = {**splits, "train": parts["train"], **{s: parts[s] for s in missing}}
    return splits


def with_valid_in_train(splits: dict[str, dict[str, list]], where: str, documents: str = "document") -> dict[str, dict[str, list]]:
    """The splits with the valid split's examples appended to train (flair's `train_with_dev`, as the published
    CoNLL-2003 figures of Akbik et al. 2018 were trained); valid stays as it is, now seen in training.

    Both splits must have the same columns. A `documents` column's valid values are prefixed "valid:" so that
    a train document and a valid one never read as one (document context crosses only within a document).
    """
    if not splits.get("valid") or not next(iter(splits["valid"].values()), None):
        raise ConfigError(f"data.train_with_dev: {where} has no valid split to add to train")
    train, valid = splits["train"], splits["valid"]
    if set(train) != set(valid):
        raise DataError(f"{where}: data.train_with_dev joins valid to train, but their columns differ: {sorted(train)}, {sorted(valid)}")
    joined = {}
    for key, column in train.items():
        extra = valid[key]
        if key == documents:
            extra = [f"valid:{d}" for d in extra]
        joined[key] = list(column) + list(extra)
    sizes = len(next(iter(train.values()), [])), len(next(iter(valid.values())))
    log.info("%s: training on train + valid (%d + %d examples; valid is no longer held out)", where, *sizes)
    return {**splits, "train": joined}


def train_alone(splits: dict[str, dict[str, list]]) -> dict[str, list]:
    """The train columns as they were before `with_valid_in_train` appended the valid split to them."""
    n = len(next(iter(splits["valid"].values())))
    return {key: column[: len(column) - n] for key, column in splits["train"].items()}


# ---- seeded shuffles ---------------------------------------------------------------------------


def seeded_split(items: list, fractions=(0.9, 0.05, 0.05), seed: int = 0) -> dict[str, list]:
    """Shuffle with `seed` and cut into train/valid/test by `fractions` (each split non-empty)."""
    order = list(items)
    random.Random(seed).shuffle(order)
    n_valid = max(1, round(len(order) * fractions[1]))
    n_test = max(1, round(len(order) * fractions[2]))
    n_train = len(order) - n_valid - n_test
    return {"train": order[:n_train], "valid": order[n_train : n_train + n_valid], "test": order[n_train + n_valid :]}


def held_out_first(n: int, seed: int, valid_frac: float, test_frac: float) -> dict[str, list[int]]:
    """Indices 0..n-1 shuffled with `seed`: valid first, then test, the rest train (unsorted). Each
    asked-for held-out part gets at least one index once there are three."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_test = max(1, round(n * test_frac)) if n >= 3 and test_frac > 0 else 0
    n_valid = max(1, round(n * valid_frac)) if n >= 3 and valid_frac > 0 else 0
    return {"valid": order[:n_valid], "test": order[n_valid : n_valid + n_test], "train": order[n_valid + n_test :]}


def split_pairs(pairs: tuple[list[str], list[str]], seed: int = 0, valid_frac: float = 0.05, test_frac: float = 0.05):
    """A seeded shuffle of aligned (sources, targets) cut into train/valid/test, each part in corpus order."""
    parts = held_out_first(len(pairs[0]), seed, valid_frac, test_frac)
    return {split: ([pairs[0][i] for i in sorted(idx)], [pairs[1][i] for i in sorted(idx)]) for split, idx in parts.items()}


def split_documents(n: int, seed: int = 0, valid_frac: float = 0.1, test_frac: float = 0.1) -> dict[str, list[int]]:
    """Document indices per split: a seeded shuffle, then test, valid, and the rest train (each sorted)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_test, n_valid = round(n * test_frac), round(n * valid_frac)
    return {
        "train": sorted(order[n_test + n_valid :]),
        "valid": sorted(order[n_test : n_test + n_valid]),
        "test": sorted(order[:n_test]),
    }


def hashed_split(key: str, seed: int = 0, valid_frac: float = 0.01, test_frac: float = 0.01) -> str:
    """The split of the item (a document) named `key`, from a seeded hash of the key alone: valid below
    `valid_frac`, then test, the rest train. Streaming needs no count of the items, and an item's split
    never depends on which others there are, or in what order they come."""
    digest = hashlib.blake2b(f"{seed}\0{key}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    point = int.from_bytes(digest, "big") / 2**64
    return "valid" if point < valid_frac else "test" if point < valid_frac + test_frac else "train"


# ---- stratified by label -----------------------------------------------------------------------


def _size(n: int, frac: float) -> int:
    return max(1, round(n * frac)) if n >= 3 and frac > 0 else 0


def _cut(idx: list[int], keys: list[str], k: int, seed: int, stratify: bool, where: str):
    """Split `idx` into (rest, k held-out), stratified on `keys` when sklearn can."""
    from sklearn.model_selection import train_test_split

    if k == 0:
        return idx, []
    if stratify:
        try:
            return train_test_split(idx, test_size=k, random_state=seed, stratify=keys)
        except ValueError as exc:  # e.g. fewer held-out rows than classes
            log.warning("%s: cannot stratify (%s); splitting without stratification", where, exc)
    return train_test_split(idx, test_size=k, random_state=seed)


def stratified_split(
    labels: list, seed: int = 0, valid_frac: float = 0.1, test_frac: float = 0.1, where: str = "data"
) -> dict[str, list[int]]:
    """Row indices (sorted) of train/valid/test: seeded, stratified on the label (the label set for
    multi-label rows). A class with a single example cannot be stratified: the split then falls
    back to a plain shuffled one, with a warning."""
    keys = [label if isinstance(label, str) else "|".join(sorted(label)) for label in labels]
    rare = sorted(key for key, count in Counter(keys).items() if count < 2)
    if rare:
        log.warning(
            "%s: %d class(es) with a single example (%s); splitting without stratification",
            where,
            len(rare),
            ", ".join(repr(r) for r in rare[:SHOWN]),
        )
    n = len(keys)
    rest, test = _cut(list(range(n)), keys, _size(n, test_frac), seed, not rare, where)
    train, valid = _cut(rest, [keys[i] for i in rest], _size(n, valid_frac), seed, not rare, where)
    return {"train": sorted(train), "valid": sorted(valid), "test": sorted(test)}
