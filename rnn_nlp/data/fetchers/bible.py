"""The KJV / Reina-Valera 1909 Bible, parallel by verse (`bible-en-es`), for conditional generation.

The Bible comes from Debian's `sword-text-kjv` and `sword-text-sparv` packages (public domain
text), downloaded with `apt-get download` (no root needed) and unpacked with `dpkg-deb -x` into
the cache, or read from /usr/share/sword where they are installed; PyPI `pysword==0.2.8` reads
them (installed on first use: `pip install 'rnn-nlp[bible]'`). Dumping a module verse by verse
takes about 30 s, so each dump is cached as JSON. The split is by chapter: the (book, chapter)
pairs are shuffled with seed 0 and cut 90/5/5, so no chapter straddles train and test.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.download import cache_dir
from rnn_nlp.data.fetchers.registry import Splits
from rnn_nlp.data.splits import held_out_first
from rnn_nlp.errors import DataError
from rnn_nlp.files import json_text, replace_text

log = logging.getLogger(__name__)

PYSWORD = "pysword==0.2.8"
BIBLE_PACKAGES = {"sword-text-kjv": "engKJV2006eb", "sword-text-sparv": "spaRV1909eb"}
SYSTEM_SWORD = Path("/usr/share/sword")
TAG = re.compile(r"<[^>]*>")
NOTE = re.compile(r"<note\b.*?</note>", re.S)  # footnotes: their text is not the verse's
# The Reina-Valera module writes added words (<transChange>) flush against the tagged words beside
# them ("<w>Porque</w><transChange>pasados</transChange><w>aún</w>"): a word boundary all the same.
GLUED = re.compile(r"(</w>)(<transChange)|(</transChange>)(<w\b)")
CHAPTER_FRACTIONS = (0.9, 0.05, 0.05)
DUMP_VERSION = 2  # bump when the cleaning changes, so old dumps are not reused
Dump = dict[str, str]  # "book chapter:verse" -> verse text


# ---- obtaining the modules and the reader -----------------------------------------------------


def import_pysword():
    """`pysword.modules`, installing PyPI pysword==0.2.8 into this Python first if it is missing."""
    try:
        return importlib.import_module("pysword.modules")
    except ImportError:
        pass
    log.info("bible-en-es needs %s to read the sword modules; installing it with pip", PYSWORD)
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", PYSWORD], capture_output=True, text=True)
    if result.returncode != 0:
        raise DataError(f"could not install {PYSWORD} ({result.stderr.strip()[-300:]}); install it yourself: pip install 'rnn-nlp[bible]'")
    importlib.invalidate_caches()
    return importlib.import_module("pysword.modules")


def _has_modules(root: Path) -> bool:
    confs = {p.name.lower() for p in (root / "mods.d").glob("*.conf")} if (root / "mods.d").is_dir() else set()
    return all(f"{m.lower()}.conf" in confs for m in BIBLE_PACKAGES.values())


def sword_root() -> Path:
    """A sword library folder holding both modules: the system's, or the Debian packages unpacked in the cache."""
    if _has_modules(SYSTEM_SWORD):
        return SYSTEM_SWORD
    target = cache_dir() / "sword"
    root = target / "usr" / "share" / "sword"
    if _has_modules(root):
        return root
    log.info("downloading %s from the Debian archive", " and ".join(BIBLE_PACKAGES))
    debs = download.download_debian(list(BIBLE_PACKAGES), "bible-en-es")
    download.unpack_debian(list(debs.values()), target)
    if not _has_modules(root):
        raise DataError(f"{target}: the unpacked packages hold no {', '.join(BIBLE_PACKAGES.values())} modules")
    return root


# ---- dumping and aligning ---------------------------------------------------------------------


def clean_verse(text: str) -> str:
    """Verse text from raw OSIS markup: footnotes dropped, a space where added words touch tagged
    ones, other tags removed (they sit inside words' boundaries, so they leave no space), the KJV's
    [added words] unbracketed, the paragraph sign removed, whitespace runs made one space."""
    text = NOTE.sub(" ", text)
    text = GLUED.sub(lambda m: " ".join(g for g in m.groups() if g), text)
    text = TAG.sub("", text).replace("¶", " ")
    text = text.replace("[", "").replace("]", "")
    return " ".join(text.split())


def dump_bible(bible: Any) -> Dump:
    """Every verse of a pysword bible as {"Gen 1:1": text}, read chapter by chapter (raw markup,
    cleaned by `clean_verse`).

    pysword's `get_iter` leaves out verses it finds no text for; a chapter that comes back short
    is read again verse by verse so that no verse lands on the wrong reference.
    """
    out: Dump = {}
    for books in bible.get_structure().get_books().values():
        for book in books:
            for chapter, n_verses in enumerate(book.chapter_lengths, start=1):
                texts = list(bible.get_iter(books=[book.osis_name], chapters=[chapter], clean=False))
                if len(texts) != n_verses:
                    texts = [
                        next(iter(bible.get_iter(books=[book.osis_name], chapters=[chapter], verses=[v], clean=False)), "")
                        for v in range(1, n_verses + 1)
                    ]
                for verse, text in enumerate(texts, start=1):
                    out[f"{book.osis_name} {chapter}:{verse}"] = clean_verse(text or "")
    return out


def cached_dump(module: str, root: Path) -> Dump:
    """The module's verses, dumped once into the cache as JSON (written atomically)."""
    path = cache_dir() / "sword" / f"{module}-v{DUMP_VERSION}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("%s: damaged dump, dumping again", path)
    modules = import_pysword()
    library = modules.SwordModules(str(root))
    library.parse_modules()
    log.info("dumping the sword module %s (about 30 s, once)", module)
    dump = dump_bible(library.get_bible_from_module(module))
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_text(path, json_text(dump))
    return dump


def chapter_of(ref: str) -> str:
    """ "Gen 1:3" -> "Gen 1"."""
    return ref.rsplit(":", 1)[0]


def align_verses(source: Dump, target: Dump) -> list[tuple[str, str, str]]:
    """(reference, source text, target text) for every verse with text on both sides, in canonical order."""
    pairs, missing = [], 0
    for ref, src in source.items():
        tgt = target.get(ref, "")
        if src and tgt:
            pairs.append((ref, src, tgt))
        else:
            missing += 1
    if missing:
        log.info("bible-en-es: %d verse(s) empty on one side, left out", missing)
    return pairs


def chapter_split_names(n_chapters: int, seed: int = 0, fractions=CHAPTER_FRACTIONS) -> list[str]:
    """The split of each chapter, the chapters numbered in canonical order: shuffled with `seed`, cut by
    `fractions`. english-mix puts the KJV's chapters where bible-en-es puts them, through this one function."""
    parts = held_out_first(n_chapters, seed, fractions[1], fractions[2])
    names = ["train"] * n_chapters
    for split in ("valid", "test"):
        for i in parts[split]:
            names[i] = split
    return names


def split_by_chapter(pairs: list[tuple[str, str, str]], seed: int = 0, fractions=CHAPTER_FRACTIONS) -> Splits:
    """Seeded split of whole chapters: the chapters are shuffled and cut by `fractions`."""
    chapters = list(dict.fromkeys(chapter_of(ref) for ref, _, _ in pairs))
    split_of = dict(zip(chapters, chapter_split_names(len(chapters), seed, fractions)))
    out = {s: {"source": [], "target": [], "ref": []} for s in ("train", "valid", "test")}
    for ref, src, tgt in pairs:
        columns = out[split_of.get(chapter_of(ref), "train")]
        columns["source"].append(src)
        columns["target"].append(tgt)
        columns["ref"].append(ref)
    return out


def fetch_bible_en_es() -> Splits:
    """Both modules dumped (once), aligned by verse, split by chapter."""
    root = sword_root()
    english, spanish = (cached_dump(m, root) for m in BIBLE_PACKAGES.values())
    pairs = align_verses(english, spanish)
    if not pairs:
        raise DataError(f"{root}: the sword modules gave no verse with text in both languages")
    out = split_by_chapter(pairs)
    log.info("bible-en-es: %s verse pairs", ", ".join(f"{k} {len(v['source']):,}" for k, v in out.items()))
    return out
