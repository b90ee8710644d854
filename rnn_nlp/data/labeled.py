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

import csv
import io
import logging
from collections import Counter
from pathlib import Path

from rnn_nlp.data.fetch import FETCHERS, fetch
from rnn_nlp.data.readers import SPLIT_ALIASES, _split_of, json_object, load_hub
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}
SHOWN = 5  # line numbers quoted in a skip warning

Splits = dict[str, dict[str, list]]
Records = list[tuple[int, dict]]  # (line or row number, {column: value})


# ---- splitting --------------------------------------------------------------------------------


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
            where, len(rare), ", ".join(repr(r) for r in rare[:SHOWN]),
        )
    n = len(keys)
    rest, test = _cut(list(range(n)), keys, _size(n, test_frac), seed, not rare, where)
    train, valid = _cut(rest, [keys[i] for i in rest], _size(n, valid_frac), seed, not rare, where)
    return {"train": sorted(train), "valid": sorted(valid), "test": sorted(test)}


# ---- reading files ----------------------------------------------------------------------------


def _decode(path: Path) -> str:
    """The file as text; invalid UTF-8 names the line, an empty file is an error. A BOM is dropped."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1)
        raise DataError(f"{path}:{line}: not valid UTF-8 ({exc.reason} at byte {column} of the line)") from None
    if not text.strip():
        raise DataError(f"{path}: the file is empty")
    return text


def _csv_records(path: Path, text: str, delimiter: str) -> tuple[list[str], Records]:
    """Header and records of a CSV (quoted fields may span lines) or TSV (no quoting, as in GLUE)."""
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    header, records, end = None, [], 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not row:  # a blank line holds no record
                continue
            if header is None:
                header = [name.strip() for name in row]
            elif len(row) != len(header):
                raise DataError(f"{path}:{start}: {len(row)} fields, but the header has {len(header)}")
            else:
                records.append((start, dict(zip(header, row))))
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: {exc}") from None
    return header or [], records


def _jsonl_records(path: Path, text: str) -> tuple[list[str], Records]:
    """Records of a JSON-lines file (one object a line); columns in order of first appearance."""
    records, columns = [], {}
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 is valid in JSON
        if not line.strip():
            continue
        obj = json_object(line, f"{path}:{number}")
        columns.update(dict.fromkeys(obj))
        records.append((number, obj))
    return list(columns), records


def read_labeled_file(path: Path, text_column: str, label_column: str, separator: str | None):
    """(texts, labels) of one CSV, TSV or JSON-lines file, skipping (with a warning) unusable rows."""
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported format '{path.suffix}'; use {', '.join(FORMATS)}")
    text = _decode(path)
    if kind == "jsonl":
        columns, records = _jsonl_records(path, text)
        where = f"{path}"
    else:
        columns, records = _csv_records(path, text, "," if kind == "csv" else "\t")
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


def _label(value, separator: str | None, where: str):
    """A str, a list[str] (JSON list, or a string split on `separator`), or None when missing."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        parts = [str(v).strip() for v in value if v is not None and str(v).strip()]
        return parts or None
    if isinstance(value, dict):
        raise DataError(f"{where}: the label is a JSON object, expected a string, number or list")
    value = str(value).strip()
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
        split = _split_of(file)
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
    for split, ds in table.items():
        if split not in SPLIT_ALIASES:
            continue
        for role, column in (("text", text_column), ("label", label_column)):
            if column not in ds.column_names:
                raise DataError(f"{name} [{split}]: no {role} column '{column}'; columns: {', '.join(ds.column_names)}")
        names = _class_names(ds.features[label_column])
        values = ds[label_column]
        if names:  # integer ids -> class names; -1 (unlabelled, as in GLUE test sets) -> missing
            values = [[_named(v, names) for v in x] if isinstance(x, list) else _named(x, names) for x in values]
        records = [(i, {"t": t, "l": v}) for i, (t, v) in enumerate(zip(ds[text_column], values), start=1)]
        out[SPLIT_ALIASES[split]] = _examples(f"{name} [{split}]", records, "t", "l", separator, "row")
    if "train" not in out:
        raise DataError(f"{name}: no train split; splits: {', '.join(table)}")
    return out


def _from_hub(name: str, hub_config, text_column, label_column, separator):
    return _from_table(name, load_hub(name, hub_config), text_column, label_column, separator)


def load_labeled_corpus(
    name: str,
    text_column: str = "text",
    label_column: str = "label",
    hub_config: str | None = None,
    label_separator: str | None = None,
    seed: int = 0,
) -> Splits:
    """Splits train/valid/test of {"text": [...], "label": [...]} from a fetcher name, a local file
    (split 80/10/10, seeded and stratified), a local folder of split files, or a hub name.

    Labels are strings; with `label_separator` (e.g. "|"), or JSON list values, every label is a
    list of strings (multi-label). Integer hub labels become their ClassLabel names.
    """
    path = Path(name).expanduser()
    if name in FETCHERS:
        found = _from_table(name, fetch(name), text_column, label_column, label_separator)
    elif path.is_file():
        found = {"train": read_labeled_file(path, text_column, label_column, label_separator)}
    elif path.is_dir():
        found = _read_folder(path, text_column, label_column, label_separator)
    elif name.startswith((".", "/", "~", "\\")) or path.suffix.lower() in FORMATS:
        raise DataError(f"corpus not found: {name} (no such file or folder)")
    else:
        found = _from_hub(name, hub_config, text_column, label_column, label_separator)
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
