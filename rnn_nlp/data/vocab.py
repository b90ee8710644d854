"""Word vocabularies: frequency-ordered (as adaptive softmax needs), with specials, saved as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rnn_nlp.errors import CheckpointError
from rnn_nlp.files import json_text, replace_text

PAD = "<pad>"
UNK = "<unk>"
EOS = "<eos>"
SPECIALS = (PAD, UNK, EOS)
UNITS = ("word", "char")
VOCAB_FIELDS = ("itos", "counts", "unit")  # what `to_json` writes


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
    ) -> Vocab:
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
        replace_text(path, json_text(self.to_json()))

    @classmethod
    def from_json(cls, data: Any, source: str = "vocab.json", key: str = "") -> Vocab:
        """A vocabulary from its `to_json` form as read back from a file (a checkpoint's vocab.json),
        every field checked first: a CheckpointError naming `source` and the key (`key` is where the
        vocabulary sits in the file, e.g. "tokens"), never a ValueError or TypeError from the constructor."""

        def name(field: str) -> str:
            return f"{key}.{field}" if key else field

        def bad(field: str, why: str) -> CheckpointError:
            return CheckpointError(f"{source}: {name(field)} {why}")

        if not isinstance(data, dict):
            raise CheckpointError(
                f"{source}: {key or 'the vocabulary'} must be a JSON object with itos, counts and unit, not {json_kind(data)}"
            )
        unknown = sorted(str(k) for k in data if k not in VOCAB_FIELDS)
        if unknown:
            raise CheckpointError(
                f"{source}: {key or 'the vocabulary'} has unknown key(s) {', '.join(unknown)}; a vocabulary holds {', '.join(VOCAB_FIELDS)}"
            )
        if "itos" not in data:
            raise bad("itos", "is missing (the list of tokens)")
        itos = data["itos"]
        if not isinstance(itos, list):
            raise bad("itos", f"must be a list of tokens, not {json_kind(itos)}")
        for i, tok in enumerate(itos):
            if not isinstance(tok, str):
                raise bad("itos", f"must hold strings only; item {i} is {json_kind(tok)}")
        if itos[: len(SPECIALS)] != list(SPECIALS):
            raise bad("itos", f"must start with the specials {', '.join(SPECIALS)}, not {itos[: len(SPECIALS)]}")
        first: dict[str, int] = {}
        for i, tok in enumerate(itos):
            if tok in first:
                raise bad("itos", f"holds {tok!r} twice (items {first[tok]} and {i})")
            first[tok] = i
        counts = data.get("counts")
        if counts is not None:
            if not isinstance(counts, list) or len(counts) != len(itos):
                got = f"{len(counts)} counts" if isinstance(counts, list) else json_kind(counts)
                raise bad("counts", f"must be a list of one count per token ({len(itos)} tokens), not {got}")
            for i, n in enumerate(counts):
                if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                    raise bad("counts", f"must hold whole numbers >= 0; item {i} is {n!r}")
        unit = data.get("unit", "word")
        if unit not in UNITS:
            raise bad("unit", f"must be one of {', '.join(UNITS)}, not {unit!r}")
        return cls(itos, counts, unit)

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise CheckpointError(f"{path}: not a readable vocabulary ({exc})") from None
        return cls.from_json(data, str(path))


JSON_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}


def json_kind(value: Any, show: bool = True) -> str:
    """How a JSON value is named in an error: its type, and (`show`) the value itself when short."""
    kind = JSON_KINDS.get(type(value), type(value).__name__)
    shown = repr(value)
    return f"{kind} {shown}" if show and len(shown) <= 40 else kind
