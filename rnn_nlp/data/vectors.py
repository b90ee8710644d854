"""Pretrained word vectors read into one memory-mapped table, whatever file they come in.

Formats: GloVe text (`word v1 ... vD` a line), word2vec and fastText text (the same after an
`N D` header line), word2vec binary (`.bin`), a NumPy matrix with its words (`NAME.npy` beside
`NAME.vocab`, one word a line, row i's word on line i + 1), and spaCy vectors (a pipeline folder,
or its `vocab/` folder: many keys onto fewer rows). Text and binary files are converted once into
the cache (`vectors/` under `rnn_nlp.data.fetchers.download.cache_dir()`), so every later read,
and every process of a run, memory-maps the same `.npy` instead of holding its own copy.

A word is looked up exactly, then lower-cased, then lower-cased with every digit read as 0
(Lample et al. 2016's normalisation), so "Paris" finds "paris" in uncased GloVe and "1996"
finds "0000" where a table was built that way. `coverage` counts which rule found each word.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnn_nlp.data.tokenize import NUMBER_WORD
from rnn_nlp.errors import DataError
from rnn_nlp.files import json_text, replace_file, replace_text

log = logging.getLogger(__name__)

MATRIX = "vectors.npy"  # in a converted folder: the [rows, dim] float32 matrix
KEYS = "keys.json"  # the words, in order
ROWS = "rows.npy"  # where keys share rows (spaCy): key i's row; absent when key i is row i
CHUNK = 8192  # rows parsed into one block while reading a text file
DIGIT = re.compile(r"\d")
RULES = ("exact", "lower", "digits")


def normalise_digits(word: str) -> str:
    """Lower-cased, every digit read as 0: the last lookup rule."""
    return DIGIT.sub("0", word.lower())


@dataclass
class WordVectors:
    """A table of word vectors: `keys[i]`'s vector is `matrix[rows[i]]` (`rows` None: row i)."""

    keys: list[str]
    matrix: np.ndarray  # [rows, dim] float32, memory-mapped when read from a file
    source: str  # where it came from, for messages
    rows: np.ndarray | None = None  # [len(keys)] int64 where keys share rows
    _index: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def dim(self) -> int:
        """The width of each vector."""
        return int(self.matrix.shape[1])

    def _table(self, rule: str) -> dict[str, int]:
        """key (under a lookup rule) -> key number; the first key wins, as the files list frequent words first."""
        if rule not in self._index:
            norms: dict[str, Callable[[str], str]] = {"exact": str, "lower": str.lower, "digits": normalise_digits}
            norm = norms[rule]
            table: dict[str, int] = {}
            for i, key in enumerate(self.keys):
                table.setdefault(norm(key), i)
            self._index[rule] = table
        return self._index[rule]

    def index(self) -> None:
        """Build every lookup rule's table now (a 400,000-key table takes a few hundred ms each), not at the first
        word a rule is asked for: a loaded predictor's first prediction should not pay for it."""
        for rule in RULES:
            self._table(rule)

    def find(self, word: str) -> tuple[int, str] | None:
        """(row, the rule that found it) for `word`, or None when no rule finds it."""
        for rule, form in zip(RULES, (word, word.lower(), normalise_digits(word))):
            i = self._table(rule).get(form)
            if i is not None:
                return (int(self.rows[i]) if self.rows is not None else i), rule
        return None

    def vector(self, word: str) -> np.ndarray | None:
        """`word`'s vector (a copy, float32), or None when no rule finds it."""
        found = self.find(word)
        return None if found is None else np.array(self.matrix[found[0]], dtype=np.float32)

    def coverage(self, words: Iterable[str]) -> dict[str, float]:
        """How many of `words` each rule found, how many none did, and the hit rate (found / all)."""
        counts = dict.fromkeys((*RULES, "missing"), 0)
        for word in words:
            found = self.find(word)
            counts[found[1] if found else "missing"] += 1
        total = sum(counts.values())
        return {**counts, "words": total, "hit_rate": (total - counts["missing"]) / total if total else 0.0}


def token_rows(vectors: WordVectors, tokens: Sequence[str], words: Sequence[str], normalize_numbers: bool = False) -> list[int]:
    """Each token's row in `vectors`' whole table (-1: none), found by `find`'s rules from the token as written.

    `words`: the tokens as the vocabulary sees them; a number that data.normalize_numbers made N has no vector
    here either, as N has none in the vocabulary. The one lookup both the PyTorch tasks
    (`rnn_nlp.tasks.word_vectors.vector_rows`) and the torch-free ONNX predictor use, so that a word outside
    the vocabulary reads the same vector in both.
    """
    rows = []
    for token, word in zip(tokens, words):
        found = None if normalize_numbers and word == NUMBER_WORD else vectors.find(token)
        rows.append(-1 if found is None else found[0])
    return rows


def outside_vectors(ids: np.ndarray, rows: np.ndarray, unk_id: int, matrix: np.ndarray | None, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(vectors [B, T, dim] float32, outside [B, T] bool) of a padded batch of `ids` whose tokens have table rows
    `rows` (-1: none): True, and its row of `matrix`, where a token reads <unk> (`unk_id`) but the table knows it;
    zeros and False elsewhere, and everywhere when `matrix` is None. What an ONNX graph's oov_vectors and oov inputs
    hold (filled by the predictor and by the export's check), as the PyTorch VectorEmbedding reads the table."""
    outside = (ids == unk_id) & (rows >= 0) if matrix is not None else np.zeros(ids.shape, bool)
    vectors = np.zeros((*ids.shape, dim), np.float32)
    if matrix is not None and outside.any():
        vectors[outside] = np.asarray(matrix[rows[outside]], dtype=np.float32)
    return vectors, outside


def read_vectors(path: str | Path, cache: Path | None = None) -> WordVectors:
    """The vectors in `path` (any format above), memory-mapped; a DataError naming the file (and line) if malformed."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"word vectors: {path} does not exist")
    if path.is_dir():
        if is_converted(path):
            return load_converted(path)
        return read_spacy(path)
    if path.suffix == ".npy":
        return read_npy(path)
    if cache is None:
        from rnn_nlp.data.fetchers.download import cache_dir

        cache = cache_dir() / "vectors"
    target = cache / _fingerprint(path)
    if not is_converted(target):
        keys, blocks = read_word2vec_binary(path) if path.suffix == ".bin" else read_text_vectors(path)
        save_converted(target, keys, np.concatenate(blocks) if blocks else np.zeros((0, 0), np.float32))
        log.info("word vectors: %s converted once into %s (%d words)", path, target, len(keys))
    vectors = load_converted(target)
    vectors.source = str(path)
    return vectors


def _fingerprint(path: Path) -> str:
    """A cache folder name that changes when the file does (its path, size and modification time)."""
    stat = path.stat()
    text = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return f"{path.stem}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def save_converted(folder: Path, keys: list[str], matrix: np.ndarray, rows: np.ndarray | None = None) -> None:
    """Write a table in the converted layout (each file written whole, so a kill leaves no half table)."""
    folder.mkdir(parents=True, exist_ok=True)
    if rows is not None:
        replace_file(folder / ROWS, lambda tmp: _save_npy(tmp, np.asarray(rows, dtype=np.int64)))
    replace_file(folder / MATRIX, lambda tmp: _save_npy(tmp, np.ascontiguousarray(matrix, dtype=np.float32)))
    replace_text(folder / KEYS, json_text(keys))


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:  # a handle, so that np.save adds no .npy to the temporary name
        np.save(fh, array)


def is_converted(folder: Path) -> bool:
    """Whether `folder` holds a table in the converted layout (matrix and keys)."""
    return (folder / MATRIX).is_file() and (folder / KEYS).is_file()


def load_converted(folder: Path) -> WordVectors:
    """A converted table, its matrix memory-mapped."""
    keys = json.loads((folder / KEYS).read_text(encoding="utf-8"))
    matrix = np.load(folder / MATRIX, mmap_mode="r")
    rows = np.load(folder / ROWS, mmap_mode="r") if (folder / ROWS).is_file() else None
    _check_shape(folder, keys, matrix, rows)
    return WordVectors(keys, matrix, str(folder), rows)


def _check_shape(source: Path, keys: list, matrix: np.ndarray, rows: np.ndarray | None) -> None:
    if matrix.ndim != 2:
        raise DataError(f"word vectors: {source}: the matrix must have 2 dimensions, not {matrix.ndim}")
    if rows is None and matrix.shape[0] != len(keys):
        raise DataError(f"word vectors: {source}: {len(keys)} words but {matrix.shape[0]} vectors")
    if rows is not None and (len(rows) != len(keys) or (len(rows) and int(np.max(rows)) >= matrix.shape[0])):
        raise DataError(f"word vectors: {source}: {len(keys)} keys, {len(rows)} row numbers, {matrix.shape[0]} vectors")


def read_npy(path: Path) -> WordVectors:
    """`NAME.npy` with its words one a line in `NAME.vocab`."""
    words_file = path.with_suffix(".vocab")
    if not words_file.is_file():
        raise DataError(f"word vectors: {path} needs its words, one a line, in {words_file.name} beside it")
    keys = words_file.read_text(encoding="utf-8").split("\n")
    if keys and keys[-1] == "":
        keys.pop()
    try:
        matrix = np.load(path, mmap_mode="r")
    except ValueError as exc:
        raise DataError(f"word vectors: {path} is not a NumPy .npy matrix: {exc}") from None
    _check_shape(path, keys, matrix, None)
    return WordVectors(keys, matrix, str(path))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise DataError(f"word vectors: {path}, line {number}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def read_text_vectors(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """GloVe, word2vec or fastText text: (words, blocks of rows). A word2vec/fastText `N D` header is checked."""
    keys: list[str] = []
    blocks: list[np.ndarray] = []
    block: list[list[float]] = []
    dim = declared = None
    for number, line in _lines(path):
        parts = line.rstrip().split(" ")
        if number == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            declared, dim = int(parts[0]), int(parts[1])
            continue
        if not line.strip():
            continue
        word, values = parts[0], parts[1:]
        if dim is None:
            dim = len(values)
        if len(values) != dim or dim == 0:
            raise DataError(
                f"word vectors: {path}, line {number}: {len(values)} numbers after {word!r}, but the vectors have {dim} dimensions"
            )
        try:
            block.append([float(v) for v in values])
        except ValueError:
            bad = next(v for v in values if not _is_float(v))
            raise DataError(f"word vectors: {path}, line {number}: {bad!r} is not a number") from None
        keys.append(word)
        if len(block) == CHUNK:
            blocks.append(np.asarray(block, dtype=np.float32))
            block = []
    if block:
        blocks.append(np.asarray(block, dtype=np.float32))
    if not keys:
        raise DataError(f"word vectors: {path} holds no vectors")
    if declared is not None and declared != len(keys):
        raise DataError(f"word vectors: {path}: its header says {declared} vectors, the file holds {len(keys)}")
    return keys, blocks


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_word2vec_binary(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """word2vec's binary format: an `N D` header line, then per word its bytes, a space and D float32s."""
    with open(path, "rb") as fh:
        header = fh.readline().split()
        if len(header) != 2 or not all(h.isdigit() for h in header):
            raise DataError(f"word vectors: {path}, line 1: a word2vec binary file starts with 'N D', not {b' '.join(header)[:40]!r}")
        count, dim = int(header[0]), int(header[1])
        keys: list[str] = []
        matrix = np.empty((count, dim), dtype=np.float32)
        for i in range(count):
            word = bytearray()
            while (char := fh.read(1)) != b" ":
                if not char:
                    raise DataError(f"word vectors: {path}: ends in vector {i + 1} of the {count} its header promises")
                if char != b"\n":
                    word += char
            data = fh.read(4 * dim)
            if len(data) != 4 * dim:
                raise DataError(f"word vectors: {path}: ends in vector {i + 1} of the {count} its header promises")
            matrix[i] = np.frombuffer(data, dtype="<f4")
            keys.append(word.decode("utf-8", errors="replace"))
    return keys, [matrix]


def read_spacy(path: Path) -> WordVectors:
    """spaCy vectors (a pipeline folder or its vocab/ folder): every key that has a row, with its string."""
    vocab = path / "vocab" if (path / "vocab").is_dir() else path
    if not (vocab / "vectors").is_file() or not (vocab / "strings.json").is_file():
        raise DataError(
            f"word vectors: {path} is neither a vectors file nor a spaCy pipeline or vocab folder (no vectors and strings.json)"
        )
    from spacy.strings import StringStore
    from spacy.vectors import Vectors

    table = Vectors().from_disk(vocab)
    strings = StringStore().from_disk(vocab / "strings.json")
    keys, rows = [], []
    for key, row in table.key2row.items():
        if key in strings:
            keys.append(strings[key])
            rows.append(row)
    matrix = np.asarray(table.data, dtype=np.float32)
    order = np.argsort(np.asarray(rows, dtype=np.int64), kind="stable")  # frequent rows first, as the table is ordered
    return WordVectors([keys[i] for i in order], matrix, str(path), np.asarray(rows, dtype=np.int64)[order])
