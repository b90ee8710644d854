"""One interface for every language model of the lecture, and its adapter for the library's RNN LMs.

Every LM takes tokenized sentences (lists of words) and predicts every word and each sentence's
end (`<eos>`, the n-gram's `</s>`), with words outside its vocabulary read as `<unk>`:

    lm.fit(train_sentences, valid_sentences=None)
    lm.perplexity(sentences) -> float
    lm.generate(prompt_words, max_tokens, temperature, seed) -> list[str]
    lm.size() -> {"kind", "entries" (parameters or stored n-grams), "bytes", ...}

`NGramLM` and `WindowLM` implement it directly; `rnn_nlp.experiments.rnnlm.RNNLM` adapts the
library's trained RNN LMs to it (it trains runs, so it lives above the tasks, not here).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class LMInterface(Protocol):
    """What the lecture's LMs share: fit, perplexity, generate, size."""

    def fit(self, train_sentences: list[list[str]], valid_sentences: list[list[str]] | None = None): ...

    def perplexity(self, sentences: list[list[str]]) -> float: ...

    def generate(self, prompt_words: list[str], max_tokens: int = 30, temperature: float = 1.0, seed: int = 0) -> list[str]: ...

    def size(self) -> dict: ...
