"""BBC article -> headline pairs, made from the fetched bbc-news table (its seeded 80/10/10 split)."""

from __future__ import annotations

from rnn_nlp.data.fetchers.registry import Splits


def headline_pairs(texts: list[str], titles: list[str]) -> tuple[list[str], list[str]]:
    """(article body, headline) pairs: the headline line taken off the text, paragraphs joined,
    articles already seen (or with no body) dropped."""
    sources, targets, seen = [], [], set()
    for text, title in zip(texts, titles):
        first, _, body = text.partition("\n")
        body = " ".join(body.split())
        title = " ".join((title or first).split())
        if body and title and body not in seen:
            seen.add(body)
            sources.append(body)
            targets.append(title)
    return sources, targets


def fetch_bbc_headlines(bbc_news) -> Splits:
    """Columns source (the article) and target (its headline) of each split of the bbc-news table."""
    out = {}
    for split in ("train", "valid", "test"):
        sources, targets = headline_pairs(list(bbc_news[split]["text"]), list(bbc_news[split]["title"]))
        out[split] = {"source": sources, "target": targets}
    return out
