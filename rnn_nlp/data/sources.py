"""What a data name means, decided once for every reader: a fetched corpus, local data, or a hub data set.

`resolve(name)` applies these rules in order:

1. a name in the fetcher table (`rnn-nlp data list`) is that fetched corpus;
2. an existing file or folder (after `~` expansion) is local data; a path that is there but is
   neither (a pipe, a device, standard input as a pipe) is an error at once, as is a name the
   operating system refuses (over 255 bytes, a symlink loop, no permission to look);
3. a name that looks like a path is an error at once, "not found": it starts with `.`, `/`, `~` or
   `\\`, ends in a data-file suffix (DATA_SUFFIXES: .txt, .csv, .jsonl, .conll, ...), holds more than
   one `/`, or its first part is an existing folder (`data/corpus` beside a `data/` folder);
4. a plausible hub id is a hub data set, for `datasets.load_dataset`: `owner/name` (one `/`, hub
   characters only), a well-known bare hub name (KNOWN_HUB_NAMES: conll2003, ptb_text_only,
   rotten_tomatoes, squad, ...), or any name when `data.hub_config` is set. With HF_HUB_OFFLINE or
   HF_DATASETS_OFFLINE set, loading it fails at once, saying the hub cannot be reached;
5. anything else is an error at once, with a did-you-mean over the corpus names: a misspelt corpus
   (`ptbb`) must not spend half a minute in hub retries before saying so.

The hub has named every data set `owner/name` since 2024 (the old bare names redirect), so rule 4
asks for that form except for the few bare names the field still types.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnn_nlp.data.fetchers.cache import FETCHERS, fetch
from rnn_nlp.data.fetchers.registry import did_you_mean
from rnn_nlp.errors import DataError, file_kind, os_reason, shown_path

FETCHED, LOCAL, HUB = "fetched", "local", "hub"
SPLIT_ALIASES = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid", "test": "test"}
DATA_SUFFIXES = frozenset(
    ".txt .text .raw .tokens .csv .tsv .jsonl .json .conll .conllu .iob .bio .src .tgt .parquet .arrow .gz .bz2 .xz .zip".split()
)
KNOWN_HUB_NAMES = frozenset(
    "ag_news amazon_polarity bookcorpus cnn_dailymail conll2000 conll2003 conllpp dbpedia_14 emotion glue imdb "
    "lambada multi_nli opus_books ptb_text_only rotten_tomatoes snli squad squad_v2 sst2 super_glue trec "
    "tweet_eval universal_dependencies wikitext wmt14 wmt16 wnut_17 xsum yelp_polarity yelp_review_full".split()
)
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


@dataclass(frozen=True)
class Source:
    """A resolved data name: its kind (FETCHED, LOCAL or HUB), the local path, the hub config."""

    name: str
    kind: str
    path: Path | None = None
    hub_config: str | None = None

    def table(self):
        """The fetched corpus or hub data set as a `datasets.DatasetDict` (local data has its format readers)."""
        if self.kind == FETCHED:
            return fetch(self.name)
        if self.kind == HUB:
            return load_hub(self.name, self.hub_config)
        raise DataError(f"{self.path}: local data is read by its format's reader, not as one table")


def looks_like_path(name: str) -> bool:
    """Rule 3: a name meant as a file or folder, never as a hub id."""
    path = Path(name).expanduser()
    if name.startswith((".", "/", "~", "\\")) or path.suffix.lower() in DATA_SUFFIXES or name.count("/") > 1:
        return True
    return "/" in name and Path(name.split("/", 1)[0]).is_dir()


def plausible_hub_id(name: str, hub_config: str | None = None) -> bool:
    """Rule 4: owner/name, a well-known bare hub name, or any name given with a hub config."""
    return bool(hub_config) or name in KNOWN_HUB_NAMES or HUB_ID.match(name) is not None


def _local(path: Path, what: str) -> bool:
    """Rule 2: whether `path` is a file or folder; a DataError naming it when it is something else
    (readers take files, and opening a FIFO with no writer would block for ever) or cannot be looked at."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: a NUL in the name
        return False
    except OSError as exc:
        raise DataError(f"{what} {shown_path(path)}: {os_reason(exc)}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise DataError(
            f"{path}: not a regular file or folder but {file_kind(mode)}: a {what} is read from files; save the stream to a file first"
        )
    return True


def resolve(name: str, hub_config: str | None = None, what: str = "corpus") -> Source:
    """The Source that `name` means (rules in the module's docstring); `what` names the data in errors."""
    if name in FETCHERS:
        return Source(name, FETCHED)
    path = Path(name).expanduser()
    if _local(path, what):
        return Source(name, LOCAL, path)
    if looks_like_path(name):
        raise DataError(f"{what} not found: {name} (no such file or folder)")
    if plausible_hub_id(name, hub_config):
        return Source(name, HUB, hub_config=hub_config)
    raise DataError(
        f"unknown corpus '{name}'{did_you_mean(name, [*FETCHERS, *KNOWN_HUB_NAMES])}: it is not a fetched corpus "
        f"({', '.join(sorted(FETCHERS))}), nor an existing file or folder, nor a hub id (a hub data set is named "
        "owner/name, e.g. stanfordnlp/imdb; a bare name goes to the hub when data.hub_config is set)"
    )


def hub_offline() -> str | None:
    """The variable (HF_HUB_OFFLINE or HF_DATASETS_OFFLINE) that says the hub is out of reach, or None."""
    for variable in OFFLINE_VARIABLES:
        if os.environ.get(variable, "").strip().upper() in ("1", "ON", "YES", "TRUE"):
            return variable
    return None


def load_hub(name: str, hub_config: str | None):
    """`datasets.load_dataset(name, hub_config)`, any failure (offline, unknown name) as one DataError."""
    known = ", ".join(sorted(FETCHERS))
    offline = hub_offline()
    if offline:
        raise DataError(
            f"'{name}' is neither a known corpus ({known}), nor a local file or folder; as a hub data set it "
            f"cannot be loaded: the hub cannot be reached ({offline} is set)"
        )
    import datasets

    try:
        return datasets.load_dataset(name, hub_config)
    except Exception as exc:
        raise DataError(
            f"'{name}' is neither a known corpus ({known}), nor a local file or folder, "
            f"nor a data set datasets.load_dataset could load: {type(exc).__name__}: {exc}"
        ) from None


def split_named(path: Path) -> str | None:
    """The split a file's name says: its first word (train.txt, train_x.csv, train-v1.1.json) or its last
    dotted part (wiki.train.tokens); None when it names none (devices.json is no dev file)."""
    stem = path.stem.lower()
    first = re.split(r"[-_.]", stem)[0]
    for alias, split in SPLIT_ALIASES.items():
        if first == alias or stem.endswith("." + alias):
            return split
    return None


def known_splits(table) -> list[tuple[str, str, Any]]:
    """(split as the table names it, split as this library names it, dataset) of each split a reader takes."""
    return [(split, SPLIT_ALIASES[split], ds) for split, ds in table.items() if split in SPLIT_ALIASES]


def require_column(where: str, ds, column: str, role: str = "") -> None:
    """A DataError naming `where` and listing the columns there are, when `ds` lacks `column`."""
    if column not in ds.column_names:
        what = f"{role} column" if role else "column"
        raise DataError(f"{where}: no {what} '{column}'; columns: {', '.join(ds.column_names)}")
