"""The bible-en-es fetcher, offline: a fake pysword bible stands in for the modules."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from rnn_nlp.data.fetchers import bible as fp
from rnn_nlp.errors import DataError


class FakeBible:
    """pysword's SwordBible as the fetcher uses it: get_structure().get_books() and get_iter.

    Like pysword, get_iter leaves out verses that have no text (here: those in `missing`)."""

    def __init__(self, chapters: dict[str, list[list[str]]], missing=()):
        self.chapters = chapters
        self.missing = set(missing)
        self.calls = 0

    def get_structure(self):
        books = [SimpleNamespace(osis_name=name, chapter_lengths=[len(c) for c in chs]) for name, chs in self.chapters.items()]
        return SimpleNamespace(get_books=lambda: {"ot": books[:1], "nt": books[1:]})

    def get_iter(self, books, chapters, verses=None, clean=True):
        self.calls += 1
        (book,), (chapter,) = books, chapters
        texts = self.chapters[book][chapter - 1]
        for v in verses or range(1, len(texts) + 1):
            if (book, chapter, v) not in self.missing:
                yield texts[v - 1]


ENGLISH = {
    "Gen": [
        ["In the beginning God created the heaven.", "And the earth <w lemma='x'>was</w> [void]."],
        ["¶ Thus the heavens were finished."],
    ],
    "John": [["In the beginning was the Word.", "The same was in the beginning."]],
}


SPANISH = {
    "Gen": [["EN el principio crió Dios los cielos.", "Y la tierra estaba desordenada."], ["Y FUERON acabados los cielos."]],
    "John": [["EN el principio era el Verbo.", ""]],
}


def test_clean_verse_strips_markup():
    assert fp.clean_verse("And the <w lemma='s'>earth</w> was [void]. ¶  ") == "And the earth was void."
    # Reina-Valera's added words touch the tagged ones: still two words
    glued = "<w lemma='a'>Porque</w><transChange type='added'>pasados</transChange><w lemma='b'>aún</w> siete"
    assert fp.clean_verse(glued) == "Porque pasados aún siete"
    # footnotes go, with their text; tags inside a word leave no space
    note = "<note placement='foot'><reference>1.4 </reference>Heb. between</note> God <w>cal</w>led it."
    assert fp.clean_verse(note) == "God called it."


def test_dump_rereads_a_short_chapter_verse_by_verse():
    bible = FakeBible(ENGLISH, missing={("Gen", 1, 1)})
    dump = fp.dump_bible(bible)
    assert list(dump) == ["Gen 1:1", "Gen 1:2", "Gen 2:1", "John 1:1", "John 1:2"]
    assert dump["Gen 1:1"] == ""  # not shifted: verse 2 stays verse 2
    assert dump["Gen 1:2"] == "And the earth was void."
    assert dump["Gen 2:1"] == "Thus the heavens were finished."


def test_align_and_split_by_chapter():
    pairs = fp.align_verses(fp.dump_bible(FakeBible(ENGLISH)), fp.dump_bible(FakeBible(SPANISH)))
    assert [ref for ref, _, _ in pairs] == ["Gen 1:1", "Gen 1:2", "Gen 2:1", "John 1:1"]  # John 1:2 is empty in Spanish
    assert pairs[0][2] == "EN el principio crió Dios los cielos."
    many = [(f"Book{b} {c}:{v}", f"s{b}.{c}.{v}", f"t{b}.{c}.{v}") for b in range(3) for c in range(1, 21) for v in range(1, 6)]
    splits = fp.split_by_chapter(many, seed=0)
    assert fp.split_by_chapter(many, seed=0) == splits
    assert sum(len(s["ref"]) for s in splits.values()) == len(many)
    chapter_sets = {name: {fp.chapter_of(r) for r in s["ref"]} for name, s in splits.items()}
    assert not chapter_sets["train"] & chapter_sets["test"] and not chapter_sets["train"] & chapter_sets["valid"]
    assert len(chapter_sets["valid"]) == len(chapter_sets["test"]) == 3  # 5% of 60 chapters
    assert all(len(s["ref"]) % 5 == 0 for s in splits.values())  # whole chapters only


def test_fetch_bible_with_a_fake_pysword(monkeypatch, tmp_path):
    """The whole fetcher: modules found, pysword 'imported', each dump cached once, split by chapter."""
    bibles = {"engKJV2006eb": FakeBible(ENGLISH), "spaRV1909eb": FakeBible(SPANISH)}

    class Library:
        def __init__(self, root):
            self.root = root

        def parse_modules(self):
            return {}

        def get_bible_from_module(self, name):
            return bibles[name]

    monkeypatch.setattr(fp, "sword_root", lambda: tmp_path)
    monkeypatch.setattr(fp, "import_pysword", lambda: SimpleNamespace(SwordModules=Library))
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    out = fp.fetch_bible_en_es()
    assert sum(len(s["source"]) for s in out.values()) == 4
    cached = json.loads((tmp_path / "cache" / "sword" / "spaRV1909eb-v2.json").read_text(encoding="utf-8"))
    assert cached["Gen 2:1"] == "Y FUERON acabados los cielos."
    calls = bibles["engKJV2006eb"].calls
    fp.fetch_bible_en_es()
    assert bibles["engKJV2006eb"].calls == calls  # the second fetch reads the cached dump


def test_missing_tools_give_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setattr(fp, "SYSTEM_SWORD", tmp_path / "none")
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fp.download.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="apt-get install sword-text-kjv sword-text-sparv"):
        fp.sword_root()
