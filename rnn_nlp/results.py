"""What a loaded model's `predict` returns: one small dataclass per kind of output.

Each prints as a readable line and has `.to_dict()`, which is exactly the JSON object that
`rnn-nlp predict` writes for it (keys with a value of None are left out only where noted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass
class Entity:
    """A named-entity span: its text, label, character offsets [start, end) and token offsets [start_token, end_token)."""

    text: str
    label: str
    start: int
    end: int
    start_token: int
    end_token: int
    score: float | None = None  # mean probability of the span's decoded tags under the tagger's scores

    def to_dict(self) -> dict[str, Any]:
        """The entity as `rnn-nlp predict` writes it."""
        return {
            "text": self.text,
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "start_token": self.start_token,
            "end_token": self.end_token,
            "score": _rounded(self.score),
        }

    def __str__(self) -> str:
        return f"{self.text} [{self.label}]"


@dataclass
class TaggedText:
    """A text's tokens and one tag each (IOB2 for chunk tags); `entities` for NER, None for POS."""

    text: str
    tokens: list[str]
    tags: list[str]
    entities: list[Entity] | None = None
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The tagged text as `rnn-nlp predict` writes it."""
        out: dict[str, Any] = {"text": self.text, "tokens": self.tokens, "tags": self.tags}
        if self.entities is not None:
            out["entities"] = [e.to_dict() for e in self.entities]
        if self.warning:
            out["warning"] = self.warning
        return out

    def __str__(self) -> str:
        if self.entities is not None:
            return ", ".join(str(e) for e in self.entities) or "(no entities)"
        return " ".join(f"{w}/{t}" for w, t in zip(self.tokens, self.tags))


@dataclass
class Classification:
    """A text's label (a list of labels for multi-label runs) and every label's probability."""

    text: str
    label: str | list[str]
    probabilities: dict[str, float] = field(default_factory=dict)
    warning: str | None = None
    members: int | None = None  # an ensemble's: how many runs' probabilities were averaged

    @property
    def score(self) -> float:
        """The probability of the chosen label (the lowest of the chosen ones for multi-label)."""
        chosen = self.label if isinstance(self.label, list) else [self.label]
        return min((self.probabilities.get(c, 0.0) for c in chosen), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The classification as `rnn-nlp predict` writes it."""
        out: dict[str, Any] = {"text": self.text, "label": self.label, "probabilities": self.probabilities}
        if self.members is not None:
            out["members"] = self.members
        if self.warning:
            out["warning"] = self.warning
        return out

    def __str__(self) -> str:
        label = ", ".join(self.label) if isinstance(self.label, list) else self.label
        return f"{label} ({self.score:.3f})"


@dataclass
class Answer:
    """An extractive answer: its text and character offsets in the context; "" (offsets None) for no answer."""

    question: str
    answer: str
    start: int | None
    end: int | None
    score: float | None
    warning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The answer as `rnn-nlp predict` writes it."""
        out: dict[str, Any] = {"question": self.question, "answer": self.answer, "start": self.start, "end": self.end, "score": self.score}
        if self.warning:
            out["warning"] = self.warning
        return out

    def __str__(self) -> str:
        return self.answer or "(no answer)"


@dataclass
class Generation:
    """A language model's continuation of a prompt (several for `num_samples` > 1)."""

    prompt: str
    text: str
    alternatives: list[str] = field(default_factory=list)  # the other samples or beams, best first

    def to_dict(self) -> dict[str, Any]:
        """The continuation as JSON (prompt, text, alternatives)."""
        out: dict[str, Any] = {"prompt": self.prompt, "text": self.text}
        if self.alternatives:
            out["alternatives"] = self.alternatives
        return out

    def __str__(self) -> str:
        return self.text


@dataclass
class Translation:
    """A conditional model's output for a source text (translation, headline, ...)."""

    source: str
    output: str
    alternatives: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The output as `rnn-nlp predict` writes it."""
        out: dict[str, Any] = {"source": self.source, "output": self.output}
        if self.alternatives:
            out["alternatives"] = self.alternatives
        return out

    def __str__(self) -> str:
        return self.output
