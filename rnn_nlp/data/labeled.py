"""Labelled texts for classification: a fetcher name, a CSV/TSV/JSON-lines file or folder, or a hub name.

Every source ends as splits `train`, `valid`, `test`, each `{"text": [str], "label": [str]}` (or
`[list[str]]` for multi-label data). A source without a valid or test split gets one carved off its
training data, seeded and stratified, so every class shows up in every split in proportion.

Malformed input is a `DataError` naming the file and the 1-based line (for CSV/TSV the line where the
record starts): invalid UTF-8, a row with the wrong number of fields, invalid JSON, an empty file. A
text or label column that does not exist is an error listing the columns that do (for JSON lines it
names the file only, as the column is missing from every line). Rows with an empty text or no label
are skipped with a warning giving their count and first line numbers: never silently.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from rnn_nlp.data.formats.delimited import delimited_records
from rnn_nlp.data.formats.encoding import read_nonempty_text
from rnn_nlp.data.formats.jsonl import jsonl_records
from rnn_nlp.data.sources import LOCAL, known_splits, require_column, resolve, split_named
from rnn_nlp.data.splits import stratified_split
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
SHOWN = 5  # line numbers quoted in a skip warning

Splits = dict[str, dict[str, list]]
Records = list[tuple[int, dict]]  # (line or row number, {column: value})


# ---- reading files ----------------------------------------------------------------------------


def read_labeled_file(path: Path, text_column: str, label_column: str, separator: str | None):
    """(texts, labels) of one CSV, TSV or JSON-lines file, skipping (with a warning) unusable rows."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported format '{path.suffix}'; use {', '.join(FORMATS)}")
    text = read_nonempty_text(path)
    if kind == "jsonl":
        columns, records = jsonl_records(path, text)
        where = f"{path}"
    else:
        columns, records = delimited_records(path, text, "," if kind == "csv" else "\t")
        where = f"{path}:1"  # the header line
    for role, column in (("text", text_column), ("label", label_column)):
        if column not in columns:
            raise DataError(f"{where}: no {role} column '{column}'; columns: {', '.join(columns)}")
    return _examples(str(path), records, text_column, label_column, separator, "line")


# ---- values -----------------------------------------------------------------------------------


def _text(value, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value).strip()
    raise DataError(f"{where}: the text is a {type(value).__name__}, expected a string")


def _label_name(value, where: str) -> str:
    """One label as a class name: a whole number written as a float (`0.0`) is the class `0`, as `0`
    is; a number that is not finite (NaN, Infinity) names no class and is an error."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DataError(f"{where}: the label {value} is not a class: give a string or a finite number")
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def _label(value, separator: str | None, where: str):
    """A str, a list[str] (JSON list, or a string split on `separator`), or None when missing."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        parts = [_label_name(v, where) for v in value if v is not None]
        return [p for p in parts if p] or None
    if isinstance(value, dict):
        raise DataError(f"{where}: the label is a JSON object, expected a string, number or list")
    value = _label_name(value, where)
    if separator:
        return [p.strip() for p in value.split(separator) if p.strip()] or None
    return value or None


def _warn_skipped(where: str, what: str, numbers: list[int], unit: str) -> None:
    if numbers:
        shown = ", ".join(str(n) for n in numbers[:SHOWN]) + (", ..." if len(numbers) > SHOWN else "")
        log.warning("%s: skipped %d row(s) %s (%ss %s)", where, len(numbers), what, unit, shown)


def _examples(where: str, records: Records, text_column: str, label_column: str, separator, unit: str):
    texts, labels, no_text, no_label = [], [], [], []
    for number, record in records:
        text = _text(record.get(text_column), f"{where}:{number}")
        label = _label(record.get(label_column), separator, f"{where}:{number}")
        if not text:
            no_text.append(number)
        elif label is None:
            no_label.append(number)
        else:
            texts.append(text)
            labels.append(label)
    _warn_skipped(where, "with an empty text", no_text, unit)
    _warn_skipped(where, "with no label", no_label, unit)
    return texts, labels


# ---- sources ----------------------------------------------------------------------------------


def _read_folder(path: Path, text_column, label_column, separator) -> dict[str, tuple[list, list]]:
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in FORMATS)
    out: dict[str, tuple[list, list]] = {}
    for file in files:
        split = split_named(file)
        if split:
            texts, labels = read_labeled_file(file, text_column, label_column, separator)
            old = out.get(split, ([], []))
            out[split] = (old[0] + texts, old[1] + labels)
    if "train" not in out:
        raise DataError(f"{path}: no train file (train.csv, train.tsv, train.jsonl or train.json) in this folder")
    return out


def _class_names(feature):
    """ClassLabel names of a label feature (or of a list-of-ClassLabel feature), else None."""
    inner = feature[0] if isinstance(feature, list) else getattr(feature, "feature", feature)
    return getattr(inner, "names", None)


def _named(value, names: list[str]):
    return names[value] if isinstance(value, int) and 0 <= value < len(names) else None


def _from_table(name: str, table, text_column, label_column, separator):
    """(texts, labels) per split of a `datasets.DatasetDict` (a fetched corpus or a hub data set)."""
    out = {}
    for split, ours, ds in known_splits(table):
        for role, column in (("text", text_column), ("label", label_column)):
            require_column(f"{name} [{split}]", ds, column, role)
        names = _class_names(ds.features[label_column])
        values = ds[label_column]
        if names:  # integer ids -> class names; -1 (unlabelled, as in GLUE test sets) -> missing
            values = [[_named(v, names) for v in x] if isinstance(x, list) else _named(x, names) for x in values]
        records = [(i, {"t": t, "l": v}) for i, (t, v) in enumerate(zip(ds[text_column], values), start=1)]
        out[ours] = _examples(f"{name} [{split}]", records, "t", "l", separator, "row")
    if "train" not in out:
        raise DataError(f"{name}: no train split; splits: {', '.join(table)}")
    return out


def load_labeled_corpus(
    name: str,
    text_column: str = "text",
    label_column: str = "label",
    hub_config: str | None = None,
    label_separator: str | None = None,
    seed: int = 0,
    whole: bool = False,
) -> Splits:
    """Splits train/valid/test of {"text": [...], "label": [...]} from a fetcher name, a local file
    (split 80/10/10, seeded and stratified), a local folder of split files, or a hub name.

    Labels are strings; with `label_separator` (e.g. "|"), or JSON list values, every label is a
    list of strings (multi-label). Integer hub labels become their ClassLabel names. With `whole`, a
    single file is every split, whole (to evaluate on a file of one's own).
    """
    source = resolve(name, hub_config)
    if source.kind != LOCAL:
        found = _from_table(name, source.table(), text_column, label_column, label_separator)
    elif source.path.is_file():
        rows = read_labeled_file(source.path, text_column, label_column, label_separator)
        found = dict.fromkeys(("train", "valid", "test") if whole else ("train",), rows)
    else:
        found = _read_folder(source.path, text_column, label_column, label_separator)
    return _finish(name, found, label_separator is not None, seed)


def _finish(name: str, found: dict[str, tuple[list, list]], multi: bool, seed: int) -> Splits:
    """Uniform label types, missing (or empty) valid/test carved off train, and sanity checks."""
    if not found.get("train", ([], []))[0]:
        raise DataError(f"{name}: no usable rows in the training data (every row was empty or unlabelled)")
    multi = multi or any(isinstance(label, list) for _, labels in found.values() for label in labels)
    splits = {
        split: {"text": texts, "label": [([x] if isinstance(x, str) else x) if multi else x for x in labels]}
        for split, (texts, labels) in found.items()
    }
    missing = [s for s in ("valid", "test") if not splits.get(s, {}).get("text")]
    for split in missing:
        if split in splits:  # present but empty, e.g. a hub test split without labels
            log.warning("%s: the %s split has no labelled rows; carving one off train", name, split)
    if missing:
        train = splits["train"]
        fracs = {f"{s}_frac": (0.1 if s in missing else 0.0) for s in ("valid", "test")}
        parts = stratified_split(train["label"], seed=seed, where=name, **fracs)
        for split in ["train", *missing]:
            splits[split] = {col: [train[col][i] for i in parts[split]] for col in ("text", "label")}
    classes = sorted({c for label in splits["train"]["label"] for c in ([label] if isinstance(label, str) else label)})
    if len(classes) < 2:
        raise DataError(f"{name}: only one class '{classes[0]}' in the training data; a classifier needs at least two")
    for split in ("valid", "test"):
        labels = splits[split]["label"]
        unseen = sorted({c for x in labels for c in ([x] if isinstance(x, str) else x)} - set(classes))
        if unseen:
            log.warning("%s: %s labels never seen in train: %s", name, split, ", ".join(unseen[:SHOWN]))
    return {split: splits[split] for split in ("train", "valid", "test")}
