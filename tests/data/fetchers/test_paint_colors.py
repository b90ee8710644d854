"""paint-colors, built offline from a fake npm tarball."""

from __future__ import annotations

from rnn_nlp.data.fetchers import paint_colors


def test_paint_colors_deduplicate_and_split(npm_package):
    names = [f"Colour {i}" for i in range(100)] + ["colour 5", "  Dusty   Rose  ", ""]
    csv = "name,hex,good name\n" + "".join(f"{n},#000000,\n" for n in names)
    npm_package({"package/src/colornames.csv": csv.encode()})
    splits = paint_colors.fetch_paint_colors()
    texts = [t for s in splits.values() for t in s["text"]]
    assert len(texts) == 101 and "Dusty Rose" in texts  # "colour 5" duplicates "Colour 5"; blank dropped
    assert [len(splits[s]["text"]) for s in ("train", "valid", "test")] == [91, 5, 5]
