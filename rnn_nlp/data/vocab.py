"""Word vocabularies: frequency-ordered (as adaptive softmax needs), with specials, saved as JSON."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterable

from rnn_nlp.errors import CheckpointError

PAD = "<pad>"
UNK = "<unk>"
EOS = "<eos>"
SPECIALS = (PAD, UNK, EOS)


def json_text(obj) -> str:
    """JSON that UTF-8 can always hold: readable non-ASCII, escaped only if a lone surrogate
    (from a Python string that never was valid text) would make it unwritable."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj)
    return text


class Vocab:
    """Maps tokens to ids and back. Ids 0, 1, 2 are <pad>, <unk>, <eos>; the rest by falling frequency."""

    def __init__(self, itos: list[str], counts: list[int] | None = None, unit: str = "word"):
        if list(itos[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError(f"a vocabulary must start with the specials {SPECIALS}")
        self.itos = list(itos)
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("a vocabulary must not hold the same token twice")
        self.counts = list(counts) if counts is not None else [0] * len(self.itos)
        self.unit = unit

    pad_id = 0
    unk_id = 1
    eos_id = 2

    @classmethod
    def build(
        cls,
        sentences: Iterable[list[str]],
        max_size: int | None = None,
        min_count: int = 1,
        unit: str = "word",
    ) -> "Vocab":
        """Count tokens and keep the `max_size` most frequent ones seen at least `min_count` times."""
        counter: Counter = Counter()
        for tokens in sentences:
            counter.update(tokens)
        special_counts = [counter.pop(s, 0) for s in SPECIALS]
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [(tok, n) for tok, n in ranked if n >= min_count]
        if max_size is not None:
            kept = kept[:max_size]
        dropped = sum(counter.values()) - sum(n for _, n in kept)
        itos = list(SPECIALS) + [tok for tok, _ in kept]
        special_counts[SPECIALS.index(UNK)] += dropped
        counts = special_counts + [n for _, n in kept]
        return cls(itos, counts, unit)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Iterable[str]) -> list[int]:
        get = self.stoi.get
        return [get(tok, self.unk_id) for tok in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def to_json(self) -> dict:
        return {"unit": self.unit, "itos": self.itos, "counts": self.counts}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json_text(self.to_json()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(data["itos"], data.get("counts"), data.get("unit", "word"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: not a readable vocabulary ({exc})") from None
