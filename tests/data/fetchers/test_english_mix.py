"""english-mix, built offline from sources the tests write themselves: dedup, splits, manifest, errors."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from rnn_nlp.data.fetchers import cache, download, english_mix, english_sources
from rnn_nlp.data.fetchers.bible import chapter_split_names
from rnn_nlp.data.fetchers.english_sources import Document, Source
from rnn_nlp.data.fetchers.registry import MANIFEST, Fetcher
from rnn_nlp.data.prose import Deduplicator
from rnn_nlp.data.splits import hashed_split
from rnn_nlp.errors import DataError

WORDS = "the a one some cat dog bird fish sees likes finds eats red big old small".split()


def sentence(i: int) -> str:
    """A distinct, tokenized sentence for each i (its number spelt out in words of WORDS)."""
    digits = []
    while True:
        digits.append(WORDS[i % len(WORDS)])
        i //= len(WORDS)
        if not i:
            return " ".join(["the", *digits, "."])


def fake_sources(per_doc: int = 5, docs: int = 60, shared: str = "the cat sees the dog .") -> tuple[Source, ...]:
    """Two sources of tokenized documents: "fixed" keeps a split of its own, "hashed" gets the seeded
    hash's; both hold `shared` (a duplicate across sources) and each repeats a line of its own."""

    def fixed(_):
        for n, split in enumerate(("train", "valid", "test")):
            lines = [sentence(1000 * n + k) for k in range(per_doc)]
            yield Document(split, [*lines, lines[0], shared], split=split, tokenized=True)

    def hashed(_):
        for d in range(docs):
            yield Document(f"doc{d}", [sentence(10_000 + d * per_doc + k) for k in range(per_doc)] + [shared], tokenized=True)

    return (Source("fixed", "test", "public domain", fixed), Source("hashed", "test", "GPL-2", hashed))


def test_hashed_split_is_seeded_deterministic_and_about_98_1_1():
    keys = [f"doc{i}" for i in range(20_000)]
    splits = [hashed_split(k) for k in keys]
    assert splits == [hashed_split(k) for k in keys]
    assert splits != [hashed_split(k, seed=1) for k in keys]
    assert 0.008 < splits.count("valid") / len(keys) < 0.012
    assert 0.008 < splits.count("test") / len(keys) < 0.012


def test_mix_lines_deduplicate_across_sources_and_never_share_a_line_between_splits():
    counts: dict = {}
    dedup = Deduplicator()
    sources = fake_sources()
    rows = list(english_mix.mix_lines(sources, {"fixed": None, "hashed": None}, counts, dedup))
    lines = [line for _, _, line in rows]
    assert len(lines) == len(set(lines))
    assert dedup.dropped == 3 + 2 + 60  # each fixed split's repeat, and every copy of the shared line after the first
    assert counts["fixed"].duplicates == 3 + 2
    by_split = {split: {line for s, _, line in rows if s == split} for split in ("train", "valid", "test")}
    assert not (by_split["train"] & by_split["valid"] or by_split["train"] & by_split["test"] or by_split["valid"] & by_split["test"])
    fixed_rows = [(split, line) for split, source, line in rows if source == "fixed"]
    assert {split for split, _ in fixed_rows} == {"train", "valid", "test"}
    hashed_docs = {f"doc{d}": hashed_split(f"hashed/doc{d}") for d in range(60)}
    assert counts["hashed"].documents == {s: sum(v == s for v in hashed_docs.values()) for s in ("train", "valid", "test")}
    hashed_lines = [line for _, source, line in rows if source == "hashed"]
    assert len(hashed_lines) == sum(counts["hashed"].lines.values()) == 60 * 5
    assert sum(counts["hashed"].tokens.values()) == sum(len(line.split(" ")) for line in hashed_lines)
    assert sum(counts["hashed"].words.values()) == sum(counts["hashed"].tokens.values()) - len(hashed_lines)  # "." is no word
    assert rows == list(english_mix.mix_lines(sources, {"fixed": None, "hashed": None}, {}, Deduplicator()))


def test_build_writes_tables_and_a_manifest_whose_counts_match(tmp_path):
    folder = tmp_path / "mix"
    record = english_mix.build_mix(folder, {"fixed": None, "hashed": None}, {}, fake_sources())
    table = cache._load(folder)
    assert json.loads((folder / MANIFEST).read_text()) == record
    for split in ("train", "valid", "test"):
        assert record["lines"][split] == len(table[split])
        assert record["tokens"][split] == sum(len(t.split(" ")) for t in table[split]["text"])
    fixed = next(s for s in record["sources"] if s["name"] == "fixed")
    assert fixed["lines"] == {"train": 6, "valid": 5, "test": 5}
    assert fixed["licence"] == "public domain"
    assert record["duplicates_dropped"] == 65
    assert set(table["train"]["source"]) == {"fixed", "hashed"}
    assert [p.name for p in tmp_path.iterdir()] == ["mix"]  # the split files and datasets' cache are gone


@pytest.mark.slow  # trains a tiny LM
def test_the_lm_task_streams_english_mix(own_cache):
    from rnn_nlp.runs import build_config, train_run
    from rnn_nlp.tasks.lm import LMTask
    from tests.conftest import tiny_raw

    sources = fake_sources(per_doc=20, docs=30)  # the cached table stands for the fetched one
    cache._write("english-mix", cache.cache_path("english-mix"), lambda f: english_mix.build_mix(f, {"fixed": 0, "hashed": 0}, {}, sources))
    raw = tiny_raw(Path("unused"), data={"name": "english-mix", "tokenizer": "whitespace", "streaming": True}, trainer={"max_steps": 5})
    task = LMTask(build_config(raw))
    assert "fish" in task.token_vocab().itos
    run = train_run(build_config(raw), own_cache / "run")
    assert run.history[-1]["valid_loss"] > 0


def test_a_failed_build_leaves_nothing_in_the_cache(own_cache, monkeypatch):
    def build(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "half.arrow").write_text("half")
        raise DataError("the archive went away")

    monkeypatch.setitem(cache.FETCHERS, "half-mix", Fetcher("half-mix", "test", build, writes_folder=True))
    with pytest.raises(DataError, match="went away"):
        cache.fetch("half-mix")
    assert list(own_cache.iterdir()) == []


def test_missing_debian_tools_say_what_to_install(own_cache, monkeypatch):
    monkeypatch.setattr(download.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match=r"apt-get install dict-gcide wordnet-base"):
        download.download_debian(["dict-gcide", "wordnet-base"], "english-mix")
    with pytest.raises(DataError, match=r"needs dpkg-deb.*apt-get install dpkg"):
        list(download.read_debian_members(own_cache / "a.deb", "."))


def test_a_failed_download_says_to_run_apt_get_update(own_cache, monkeypatch):
    monkeypatch.setattr(download.shutil, "which", lambda name: f"/usr/bin/{name}")
    failed = subprocess.CompletedProcess([], 100, "", "E: Unable to locate package dict-gcide")
    monkeypatch.setattr(download.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(DataError, match=r"Unable to locate package dict-gcide.*apt-get update"):
        download.download_debian(["dict-gcide"], "english-mix")
    assert not list((own_cache / "debian").glob("*.deb")) and not [p for p in (own_cache / "debian").iterdir() if p.is_dir()]


def fake_bible(folder: Path, chapters: int, code: int = 0) -> Path:
    """A stand-in for bible-kjv's program: two verses a chapter, as `bible -f` prints them."""
    verses = "".join(f"Ge{c}:{v} Verse {v} of chapter {c}.\\n" for c in range(1, chapters + 1) for v in (1, 2))
    program = folder / "bible"
    program.write_text(f"#!/bin/sh\nprintf '{verses}'\necho 'Cannot open data file' >&2\nexit {code}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return program


@pytest.mark.skipif(os.name != "posix", reason="runs a shell script")
def test_kjv_verses_chapters_and_bible_en_es_splits(tmp_path, monkeypatch):
    program = fake_bible(tmp_path, 30)
    assert english_sources.kjv_verses(program, tmp_path)[:2] == [("Ge 1", "Verse 1 of chapter 1."), ("Ge 1", "Verse 2 of chapter 1.")]

    def unpack(debs, target):
        (target / "usr" / "bin").mkdir(parents=True)
        shutil.copy(program, target / "usr" / "bin" / "bible")

    monkeypatch.setattr(english_sources.download, "unpack_debian", unpack)
    docs = list(english_sources.read_kjv({"bible-kjv": Path("a.deb"), "bible-kjv-text": Path("b.deb")}))
    assert [d.split for d in docs] == chapter_split_names(30)
    assert docs[0].lines == ["Verse 1 of chapter 1.", "Verse 2 of chapter 1."]
    with pytest.raises(DataError, match="Cannot open data file.*apt-get install bible-kjv"):
        english_sources.kjv_verses(fake_bible(tmp_path, 1, code=1), tmp_path)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_debian_members_and_copyright_files_from_a_real_deb(tmp_path):
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text("Package: tiny-doc\nVersion: 1.0-2\nArchitecture: all\nMaintainer: t <t@t>\nDescription: t\n")
    (root / "usr/share/doc/tiny-doc").mkdir(parents=True)
    (root / "usr/share/doc/tiny-doc/copyright").write_text("License: GPL-2\n")
    (root / "usr/share/doc/tiny-doc/guide.rst").write_text("A guide.\n")
    deb = tmp_path / "tiny-doc_1.0-2_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True, capture_output=True)
    assert list(download.read_debian_members(deb, r"\.rst$")) == [("./usr/share/doc/tiny-doc/guide.rst", b"A guide.\n")]
    assert download.debian_version(deb) == "1.0-2"
    assert english_mix.copyright_files({"tiny-doc": deb}, tmp_path / "mix") == {"tiny-doc": "licences/tiny-doc.copyright"}
    assert (tmp_path / "mix/licences/tiny-doc.copyright").read_text() == "License: GPL-2\n"
    (tmp_path / "broken.deb").write_bytes(b"not a deb")
    with pytest.raises(DataError, match="broken.deb"):
        list(download.read_debian_members(tmp_path / "broken.deb", "."))


def test_data_info_prints_each_sources_words_and_licence(own_cache, capsys):
    from rnn_nlp.cli import main

    sources = fake_sources(per_doc=5, docs=20)
    cache._write("english-mix", cache.cache_path("english-mix"), lambda f: english_mix.build_mix(f, {"fixed": 0, "hashed": 0}, {}, sources))
    about = cache.manifest("english-mix")
    assert main(["data", "info", "english-mix"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in out[2:]}
    for source in about["sources"]:
        assert rows[source["name"]][1:3] == [f"{source['words']['total']:,}", f"{source['tokens']['total']:,}"]
    assert rows["total"][1] == f"{about['words']['total']:,}"


def test_data_info_on_a_corpus_not_fetched_says_how_to_fetch_it(own_cache, capsys):
    from rnn_nlp.cli import main

    assert main(["data", "info", "english-mix"]) == 2
    assert "rnn-nlp data fetch english-mix" in capsys.readouterr().err
