"""Tokens back to text for scoring: spaces dropped before closing punctuation and after opening
marks, so BLEU and chrF (sacrebleu) see text as a reader writes it, not our tokenization."""

from __future__ import annotations

import re

NO_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]}»”’]|'s\b|n't\b|'re\b|'ll\b|'ve\b|'m\b|'d\b)")
NO_SPACE_AFTER = re.compile(r"([(\[{¿¡«“‘$£]) ")


def detokenize_words(tokens: list[str]) -> str:
    """["Y", "dijo", ":", "¡", "Luz", "!"] -> "Y dijo: ¡Luz!"."""
    text = " ".join(tokens)
    text = NO_SPACE_BEFORE.sub(r"\1", text)
    return NO_SPACE_AFTER.sub(r"\1", text)
