"""Language-model corpora larger than memory (`data.streaming: true`).

The text is read through `datasets` as memory-mapped Arrow tables (a fetched corpus, a hub
data set, or local text files loaded with the `text` builder), tokenized in batches, and
written once as a flat file of int32 token ids per split (cached under the rnn_nlp cache,
keyed by the corpus, tokenizer and vocabulary). Training then reads each BPTT chunk with
positioned reads, row by row, so memory holds one batch, not the corpus. The batches are
the very ones the in-memory path (`batchify` + `BPTTStream`) makes, backward streams included.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from rnn_nlp.data.batching import bptt_schedule
from rnn_nlp.data.fetchers.download import cache_dir
from rnn_nlp.data.formats.lines import decoded_lines, split_line
from rnn_nlp.data.sources import FETCHED, LOCAL, known_splits, require_column, resolve
from rnn_nlp.data.splits import TEXT_HELD_OUT, split_sizes
from rnn_nlp.data.text import text_layout
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import DataError
from rnn_nlp.files import replace_file, replace_text

log = logging.getLogger(__name__)

ROWS = 1000  # lines tokenized per batch
FRACTION = TEXT_HELD_OUT  # valid/test carved off train when missing, as `text.read_local_corpus` does


def _caused_by(exc: BaseException, kind: type) -> bool:
    """Whether `exc` or an exception in its chain (`datasets` wraps the text builder's) is a `kind`."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _find_bad_utf8(files: dict[str, list[Path]]) -> None:
    """Read the files once more, in binary, a line at a time (memory: one line), through the in-memory
    reader's decoder: its DataError names the file and the line (from 1) that is not UTF-8."""
    for paths in files.values():
        for path in paths:
            for _ in decoded_lines(path):
                pass


class StreamingCorpus:
    """The splits of a corpus as Arrow tables, read line by line in corpus order, never all at once."""

    def __init__(self, name: str, hub_config: str | None = None, text_column: str = "text"):
        self.name = name
        # split -> [(dataset, column)], and the (valid, test) fractions still to carve off train
        self.sources, self.carve = self._open(name, hub_config, text_column)
        self._train_lines: int | None = None

    # ---- opening -----------------------------------------------------------------------
    def _open(self, name: str, hub_config: str | None, column: str) -> tuple[dict, tuple[float, float]]:
        source = resolve(name, hub_config)
        if source.kind == LOCAL:
            return self._open_local(source.path)
        table = source.table()
        if source.kind == FETCHED:
            sources = {split: [(table[split], "text")] for split in table}
        else:
            sources = {}
            for split, ours, ds in known_splits(table):
                require_column(f"{name} [{split}]", ds, column)
                sources[ours] = [(ds, column)]
        if "train" not in sources:
            raise DataError(f"{name}: no train split")
        return sources, tuple(0.0 if s in sources else FRACTION for s in ("valid", "test"))

    def _open_local(self, path: Path) -> tuple[dict, tuple[float, float]]:
        """The same files, split the same way, as `text.read_local_corpus` (both read `text_layout`)."""
        files = text_layout(path)
        carve = tuple(0.0 if s in files else FRACTION for s in ("valid", "test"))
        import datasets

        try:
            table = datasets.load_dataset(
                "text",
                data_files={split: [str(f) for f in fs] for split, fs in files.items()},
                cache_dir=str(cache_dir() / "arrow"),
            )
        except Exception as exc:  # a decoding error, a vanished file: name the corpus, not a stack
            if _caused_by(exc, UnicodeDecodeError):
                _find_bad_utf8(files)  # raises the DataError naming the file and line
            raise DataError(f"{path}: cannot read as UTF-8 text lines ({type(exc).__name__}: {exc})") from None
        return {split: [(table[split], "text")] for split in files}, carve

    # ---- reading -----------------------------------------------------------------------
    def _raw_lines(self, split: str) -> Iterator[str]:
        for ds, column in self.sources.get(split, []):
            for batch in ds.iter(batch_size=ROWS):
                for text in batch[column]:
                    # the same lines as the in-memory reader: "\r" ends a line too, a byte-order mark is dropped
                    for line in split_line(str(text)) if text is not None else ():
                        if line:
                            yield line

    def _counts(self) -> tuple[int, int, int]:
        """(train, valid, test) line counts of what is carved off the train source, as `split_lines` does."""
        if self._train_lines is None:
            self._train_lines = sum(1 for _ in self._raw_lines("train"))
        return split_sizes(self._train_lines, *self.carve)

    def lines(self, split: str) -> Iterator[str]:
        """Non-empty, stripped lines of a split, in corpus order."""
        carved = {"valid": self.carve[0] > 0, "test": self.carve[1] > 0}
        if split != "train" and not carved[split]:
            yield from self._raw_lines(split)
            return
        if not any(self.carve):
            yield from self._raw_lines("train")
            return
        n_train, n_valid, n_test = self._counts()
        lo = {"train": 0, "valid": n_train, "test": n_train + n_valid}[split]
        hi = {"train": n_train, "valid": n_train + n_valid, "test": n_train + n_valid + n_test}[split]
        for i, line in enumerate(self._raw_lines("train")):
            if i >= hi:
                return
            if i >= lo:
                yield line

    def identity(self) -> str:
        """What the token files depend on in the source: names, sizes and fingerprints of the tables."""
        parts = [self.name, repr(self.carve)]
        for split in sorted(self.sources):
            for ds, column in self.sources[split]:
                parts.append(f"{split}:{column}:{ds.num_rows}:{getattr(ds, '_fingerprint', '')}")
        return "|".join(parts)


def build_vocab(corpus: StreamingCorpus, tokenizer: Tokenizer, max_size: int | None, min_count: int, unit: str) -> Vocab:
    """The vocabulary of the train split, counted in one pass (memory: one count per word type)."""
    return Vocab.build(tokenizer.pipe(corpus.lines("train")), max_size, min_count, unit)


def token_file(corpus: StreamingCorpus, split: str, tokenizer: Tokenizer, vocab: Vocab, limit: int | None) -> tuple[Path, int]:
    """(path, number of tokens) of the split's int32 ids, an <eos> after each line; written once, then reused."""
    settings = [tokenizer.kind, getattr(tokenizer, "unit", "word"), tokenizer.lowercase, tokenizer.normalize_numbers]
    vocab_hash = hashlib.sha256("\n".join(vocab.itos).encode("utf-8", "surrogatepass")).hexdigest()
    key = json.dumps([corpus.identity(), split, *settings, limit, vocab_hash])
    folder = cache_dir() / "lm-tokens" / hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    path, done = folder / f"{split}.ids", folder / f"{split}.count"
    if done.exists():
        return path, int(done.read_text())
    n = 0

    def write(tmp: Path) -> None:  # beside the file under this process's own name: data-parallel processes may write at once
        nonlocal n
        with open(tmp, "wb") as fh:
            for tokens in tokenizer.pipe(corpus.lines(split)):
                ids = np.asarray(vocab.encode(tokens) + [vocab.eos_id], dtype=np.int32)
                if limit is not None:
                    ids = ids[: max(0, limit - n)]
                fh.write(ids.tobytes())
                n += ids.size
                if limit is not None and n >= limit:
                    break

    try:  # a full disk or Ctrl-C leaves no half token file (it may be GBs) and no empty count in the cache
        folder.mkdir(parents=True, exist_ok=True)
        replace_file(path, write)
        replace_text(done, str(n))
    except OSError as exc:
        raise DataError(
            f"{corpus.name}: cannot write the {split} token file {path} ({exc.strerror or exc}); "
            "free space there or point RNN_NLP_CACHE elsewhere"
        ) from None
    log.info("%s: %d %s tokens written to %s", corpus.name, n, split, path)
    return path, n


class DiskBPTTStream:
    """`BPTTStream` over a token file: the same rows as `batchify`, each chunk read from disk when asked.

    Row r holds tokens [r*L, (r+1)*L) of the (optionally reversed) corpus, L = N // batch_size.
    """

    def __init__(self, path: Path, n_tokens: int, batch_size: int, bptt: int, variation: bool, reverse: bool, device):
        self.length = n_tokens // batch_size
        if self.length < 2:
            raise DataError(
                f"{n_tokens} tokens cannot fill {batch_size} streams of at least 2 tokens; use more text or a smaller batch size"
            )
        self.path, self.n, self.rows = path, n_tokens, batch_size
        self.bptt, self.variation, self.reverse, self.device = bptt, variation, reverse, device
        self._fd: int | None = None

    def schedule(self, seed: int) -> list[tuple[int, int]]:
        return bptt_schedule(self.length, self.bptt, self.variation, seed)

    def _read(self, first: int, count: int) -> np.ndarray:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        data = os.pread(self._fd, count * 4, first * 4)
        return np.frombuffer(data, dtype=np.int32)

    def chunk(self, start: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        out = np.empty((self.rows, size + 1), dtype=np.int64)
        for r in range(self.rows):
            p = r * self.length + start
            if self.reverse:  # position p of the reversed corpus is token n-1-p
                out[r] = self._read(self.n - 1 - p - size, size + 1)[::-1]
            else:
                out[r] = self._read(p, size + 1)
        data = torch.from_numpy(out).to(self.device)
        return data[:, :-1].contiguous(), data[:, 1:].contiguous()

    @property
    def tokens(self) -> int:
        return self.rows * (self.length - 1)

    def __del__(self):
        if self._fd is not None:
            os.close(self._fd)


def clear_cache() -> None:
    """Remove every cached token file (they are rebuilt when needed)."""
    shutil.rmtree(cache_dir() / "lm-tokens", ignore_errors=True)
