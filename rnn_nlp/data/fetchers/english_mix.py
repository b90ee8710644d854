"""`english-mix`: English prose from eight sources, for pretraining word and character language models.

The sources (`english_sources.SOURCES`) are read one document at a time, in order. Each raw line
is tokenized by the shared tokenizer (spaCy's blank English, as the LM corpora are read) and written
as its tokens joined by single spaces; a line seen before, in any source, is dropped (a hash of it is
kept, not the line). A document's split is its own corpus's split (ptb, brown, sotu, the KJV's
chapters as bible-en-es has them) or else a seeded hash of its name: 98/1/1 train/valid/test. A
document lies in one split, and a line in at most one place, so no line is in two splits.

The lines go to a text file per split as they come, then into Arrow tables (`datasets`), so the
build holds one document and the hashes in memory, never the corpus. Beside the tables: MANIFEST
(per source: package, version, licence, documents, lines, words, duplicates dropped) and each
Debian package's copyright file under licences/.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.english_sources import SOURCES, Document, Source
from rnn_nlp.data.fetchers.quiet import quiet_datasets
from rnn_nlp.data.fetchers.registry import MANIFEST
from rnn_nlp.data.prose import Deduplicator, LineTokenizer
from rnn_nlp.data.splits import hashed_split
from rnn_nlp.files import json_text, replace_text

log = logging.getLogger(__name__)

ENGLISH_MIX_VERSION = 1
ENGLISH_MIX_SEED = 0
HELD_OUT = (0.01, 0.01)  # valid, test: of the documents whose corpus has no split of its own
SPLITS = ("train", "valid", "test")
TOKENIZATION = (
    "spaCy's blank English tokenizer (rnn_nlp.data.tokenize.Tokenizer('spacy'), cased, numbers kept), tokens joined by "
    "single spaces; ptb as it comes (lower-cased, numbers as N, <unk>)"
)


def debian_packages(sources: tuple[Source, ...] = SOURCES) -> list[str]:
    return [p for source in sources for p in source.packages]


WORD = re.compile(r"[^ ]*[^\W_][^ ]*")  # a token holding a letter or a digit: a word, not punctuation


class SourceCount:
    """Documents, lines, tokens (what a word LM reads, punctuation included) and words (tokens with a
    letter or digit) of one source per split, and the duplicate lines it lost."""

    def __init__(self):
        self.documents = dict.fromkeys(SPLITS, 0)
        self.lines = dict.fromkeys(SPLITS, 0)
        self.tokens = dict.fromkeys(SPLITS, 0)
        self.words = dict.fromkeys(SPLITS, 0)
        self.duplicates = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "lines": self.lines,
            "tokens": {**self.tokens, "total": sum(self.tokens.values())},
            "words": {**self.words, "total": sum(self.words.values())},
            "duplicates_dropped": self.duplicates,
        }


def document_split(source: str, doc: Document, seed: int = ENGLISH_MIX_SEED) -> str:
    return doc.split or hashed_split(f"{source}/{doc.key}", seed, *HELD_OUT)


def mix_lines(sources, arguments: dict[str, Any], counts: dict[str, SourceCount], dedup: Deduplicator) -> Iterator[tuple[str, str, str]]:
    """(split, source, line) of every line kept, in source order; `counts` and `dedup` kept up to date."""
    tokenize = LineTokenizer()
    for source in sources:
        count = counts.setdefault(source.name, SourceCount())
        started = time.monotonic()
        for doc in _progress(source.read(arguments[source.name]), source.name):
            split = document_split(source.name, doc)
            count.documents[split] += 1
            for line in doc.lines if doc.tokenized else tokenize(doc.lines):
                line = " ".join(line.split())
                if not line:
                    continue
                if not dedup.first(line):
                    count.duplicates += 1
                    continue
                count.lines[split] += 1
                count.tokens[split] += line.count(" ") + 1
                count.words[split] += len(WORD.findall(line))
                yield split, source.name, line
        log.info(
            "english-mix: %s: %s words (%s tokens), %d duplicate lines dropped (%.0f s)",
            source.name,
            f"{sum(count.words.values()):,}",
            f"{sum(count.tokens.values()):,}",
            count.duplicates,
            time.monotonic() - started,
        )


def _progress(docs, name: str):
    from tqdm.auto import tqdm

    return tqdm(docs, desc=f"english-mix {name}", unit=" docs", disable=None, leave=False)


def _rows(path: str) -> Iterator[dict[str, str]]:
    """The rows of a split file written by `write_split_files`: "source TAB line" a line."""
    with open(path, encoding="utf-8") as fh:
        for row in fh:
            source, _, text = row.rstrip("\n").partition("\t")
            yield {"text": text, "source": source}


def write_split_files(lines: Iterator[tuple[str, str, str]], work: Path) -> dict[str, Path]:
    paths = {split: work / f"{split}.tsv" for split in SPLITS}
    with ExitStack() as stack:
        files = {split: stack.enter_context(open(path, "w", encoding="utf-8")) for split, path in paths.items()}
        for split, source, line in lines:
            files[split].write(f"{source}\t{line}\n")
    return paths


def write_tables(paths: dict[str, Path], folder: Path, work: Path) -> None:
    """The split files as a DatasetDict (columns text, source) saved in `folder`, a batch at a time."""

    with quiet_datasets() as datasets:
        features = datasets.Features({"text": datasets.Value("string"), "source": datasets.Value("string")})
        table = datasets.DatasetDict()
        for split, path in paths.items():
            if path.stat().st_size == 0:  # from_generator refuses a generator that yields nothing
                table[split] = datasets.Dataset.from_dict({"text": [], "source": []}, features=features)
            else:
                table[split] = datasets.Dataset.from_generator(
                    _rows, features=features, gen_kwargs={"path": str(path)}, cache_dir=str(work / "arrow")
                )
        # an empty split is saved as one empty shard (by default it gets none, and cannot be read back)
        table.save_to_disk(str(folder), num_shards={split: 1 if len(ds) == 0 else None for split, ds in table.items()})


def copyright_files(debs: dict[str, Path], folder: Path) -> dict[str, str]:
    """Each package's usr/share/doc/<package>/copyright copied to folder/licences/; {package: relative path}."""
    out = {}
    (folder / "licences").mkdir(parents=True, exist_ok=True)
    for package, deb in debs.items():
        for _, data in download.read_debian_members(deb, rf"/usr/share/doc/{re.escape(package)}/copyright$"):
            path = Path("licences") / f"{package}.copyright"
            replace_text(folder / path, data.decode("utf-8", "replace"))
            out[package] = str(path)
    return out


def manifest(sources, counts: dict[str, SourceCount], dedup: Deduplicator, versions: dict, copyrights: dict, seconds: float) -> dict:
    def total(what: str) -> dict[str, int]:
        per_split = {split: sum(getattr(c, what)[split] for c in counts.values()) for split in SPLITS}
        return {**per_split, "total": sum(per_split.values())}

    return {
        "corpus": "english-mix",
        "version": ENGLISH_MIX_VERSION,
        "seed": ENGLISH_MIX_SEED,
        "held_out": {
            "valid": HELD_OUT[0],
            "test": HELD_OUT[1],
            "by": "document (seeded hash); ptb, brown, sotu and the KJV keep their own splits",
        },
        "tokenization": TOKENIZATION,
        "words": total("words"),
        "tokens": total("tokens"),
        "lines": total("lines"),
        "duplicates_dropped": dedup.dropped,
        "build_seconds": round(seconds, 1),
        "sources": [
            {
                "name": source.name,
                "origin": source.origin,
                "versions": {p: versions[p] for p in source.packages},
                "licence": source.licence,
                "copyright": [copyrights[p] for p in source.packages if p in copyrights],
                **counts[source.name].to_dict(),
            }
            for source in sources
        ],
    }


def build_mix(folder: Path, arguments: dict[str, Any], debs: dict[str, Path], sources=SOURCES) -> dict:
    """Write the mix of `sources` into `folder` (tables, MANIFEST, licences/); return the manifest.
    `arguments` maps each source's name to what its reader takes (the .debs, or a fetched table)."""
    started = time.monotonic()
    versions = {package: download.debian_version(deb) for package, deb in debs.items()}
    counts: dict[str, SourceCount] = {}
    dedup = Deduplicator()
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".english-mix-work-") as tmp:
        work = Path(tmp)
        paths = write_split_files(mix_lines(sources, arguments, counts, dedup), work)
        write_tables(paths, folder, work)
    copyrights = copyright_files(debs, folder)
    record = manifest(sources, counts, dedup, versions, copyrights, time.monotonic() - started)
    replace_text(folder / MANIFEST, json_text(record, indent=2) + "\n")
    log.info(
        "english-mix: %s words, %s tokens (train %s, valid %s, test %s), %s duplicate lines dropped",
        f"{record['words']['total']:,}",
        *(f"{record['tokens'][k]:,}" for k in ("total", "train", "valid", "test")),
        f"{dedup.dropped:,}",
    )
    return record


def fetch_english_mix(folder: Path, ptb, brown, sotu) -> None:
    """The registered build: the Debian packages downloaded (once), the fetched corpora handed in."""
    debs = download.download_debian(debian_packages(), "english-mix")
    tables = {"ptb": ptb, "brown": brown, "sotu": sotu}
    arguments = {source.name: tables[source.name] if source.tables else debs for source in SOURCES}
    build_mix(folder, arguments, debs)
