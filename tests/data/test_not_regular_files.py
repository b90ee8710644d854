"""Data paths the operating system answers oddly: a FIFO, a character device, standard input, a name
over 255 bytes. Every reader refuses them at once with one DataError naming the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rnn_nlp.data.sources import resolve
from rnn_nlp.errors import DataError
from tests.data.test_sources import LOADERS


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "train.txt"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_a_fifo_is_refused_by_every_reader(loader, fifo):
    with pytest.raises(DataError, match=f"{fifo}: not a regular file or folder.*pipe"):
        loader(str(fifo))  # never opened: a FIFO with no writer would block the open for ever


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_a_device_is_refused_by_every_reader(loader):
    with pytest.raises(DataError, match="/dev/zero: not a regular file or folder.*device"):
        loader("/dev/zero")


def test_standard_input_as_a_pipe_is_refused(fifo):
    """/dev/stdin is a link to whatever standard input is: a pipe here (a regular file there would be read)."""
    with pytest.raises(DataError, match="not a regular file or folder"):
        resolve(str(fifo), what="corpus")


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_a_name_over_255_bytes_is_one_clear_error(loader, tmp_path):
    name = str(tmp_path / ("x" * 300 + ".txt"))
    with pytest.raises(DataError, match="name too long.*255"):
        loader(name)


def test_text_where_a_corpus_name_was_expected(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="name too long"):
        resolve("a review " * 40)
