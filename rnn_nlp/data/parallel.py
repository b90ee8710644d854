"""Parallel text (source -> target pairs) for conditional generation: translation, summarization.

Sources, each ending as splits `train`, `valid`, `test` of `{"source": [str], "target": [str]}`:

- a fetcher name (`bible-en-es`, `bbc-headlines`: `rnn-nlp data list`);
- a TSV file (`source<TAB>target` on each line, no header, no quoting) or a JSON-lines file
  (`{"source": ..., "target": ...}` a line; other keys are ignored), split 90/5/5 seeded;
- a folder holding `train`/`valid`/`test` files of those formats, or aligned pairs of plain
  text files `train.src` + `train.tgt` (one sentence a line, line i of one the translation of
  line i of the other; the two suffixes are configurable);
- a hub name for `datasets.load_dataset` with `source`/`target` columns.

The formats and their errors (file and line) are rnn_nlp.data.formats.parallel's.
"""

from __future__ import annotations

import logging
from pathlib import Path

from rnn_nlp.data.formats.parallel import PAIR_FORMATS, Pairs, keep_pairs, read_aligned_files, read_pair_file
from rnn_nlp.data.sources import LOCAL, known_splits, require_column, resolve, split_named
from rnn_nlp.data.splits import split_pairs
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

Splits = dict[str, dict[str, list[str]]]
HELD_OUT = 0.05  # valid and test carved off train where a source has none


def _read_folder(path: Path, source_ext: str, target_ext: str) -> dict[str, Pairs]:
    found: dict[str, Pairs] = {}

    def add(split: str, pairs: Pairs) -> None:
        old = found.get(split, ([], []))
        found[split] = (old[0] + pairs[0], old[1] + pairs[1])

    for file in sorted(p for p in path.iterdir() if p.is_file()):
        split = split_named(file)
        if not split:
            continue
        if file.suffix.lower() in PAIR_FORMATS:
            add(split, read_pair_file(file))
        elif file.suffix == f".{source_ext}":
            partner = file.with_suffix(f".{target_ext}")
            if not partner.is_file():
                raise DataError(f"{file}: no aligned target file {partner.name} beside it")
            add(split, read_aligned_files(file, partner))
    if "train" not in found:
        raise DataError(f"{path}: no training pairs: expected train.tsv, train.jsonl or train.{source_ext} + train.{target_ext}")
    return found


def _from_table(name: str, table, source_column: str, target_column: str) -> dict[str, Pairs]:
    out = {}
    for split, ours, ds in known_splits(table):
        for column in (source_column, target_column):
            require_column(f"{name} [{split}]", ds, column)
        rows = [(i, str(s or ""), str(t or "")) for i, (s, t) in enumerate(zip(ds[source_column], ds[target_column]), 1)]
        out[ours] = keep_pairs(f"{name} [{split}]", rows)
    return out


def load_parallel_corpus(
    name: str,
    source_column: str = "source",
    target_column: str = "target",
    hub_config: str | None = None,
    source_ext: str = "src",
    target_ext: str = "tgt",
    seed: int = 0,
    whole: bool = False,
) -> Splits:
    """Splits train/valid/test of {"source": [...], "target": [...]} from any of the module's sources.

    A single file, or a folder or hub set without valid/test, gets them carved off train (seeded, 5% each);
    with `whole`, a single file is every split, whole.
    """
    source = resolve(name, hub_config, what="parallel corpus")
    if source.kind != LOCAL:
        found = _from_table(name, source.table(), source_column, target_column)
    elif source.path.is_file():
        pairs = read_pair_file(source.path)
        found = dict.fromkeys(("train", "valid", "test") if whole else ("train",), pairs)
    else:
        found = _read_folder(source.path, source_ext, target_ext)
    if not found.get("train", ([], []))[0]:
        raise DataError(f"{name}: no usable training pairs (every pair had an empty source or target)")
    missing = [s for s in ("valid", "test") if not found.get(s, ([], []))[0]]
    if missing:
        fracs = {f"{s}_frac": (HELD_OUT if s in missing else 0.0) for s in ("valid", "test")}
        parts = split_pairs(found["train"], seed, **fracs)
        found["train"] = parts["train"]
        for split in missing:
            found[split] = parts[split]
    return {split: {"source": found[split][0], "target": found[split][1]} for split in ("train", "valid", "test")}
