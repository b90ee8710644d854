"""A language model read one word at a time (LanguageModel.typing_tokens / read / next_words): the state
carried over a text's words gives what reading the text at once gives, it has the same size however long
the text, and suggestions follow the word being typed."""

from __future__ import annotations

import pytest
import torch

import rnn_nlp
from rnn_nlp.errors import ConfigError
from rnn_nlp.tasks.lm.model import LMState
from tests.conftest import tiny_raw, write_corpus


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    root = tmp_path_factory.mktemp("typing")
    return rnn_nlp.train(tiny_raw(write_corpus(root / "corpus")), out=root / "lm")


def _held_bytes(state: LMState) -> int:
    """The bytes of storage the state's tensors keep alive (a view pins its whole base, not only its elements)."""
    tensors = [t for layer in state.rnn for t in (layer if isinstance(layer, tuple) else (layer,))] + [state.top]
    return sum(t.untyped_storage().nbytes() for t in tensors)


def test_typing_tokens_split_the_word_being_typed(lm):
    assert lm.typing_tokens("the cat ch") == (["the", "cat"], "ch")
    assert lm.typing_tokens("the cat ") == (["the", "cat"], "")
    assert lm.typing_tokens("the cat .") == (["the", "cat", "."], "")
    assert lm.typing_tokens("") == ([], "")
    with pytest.raises(TypeError, match="text must be a str"):
        lm.typing_tokens(5)


def test_reading_word_by_word_equals_reading_at_once(lm):
    words = "the cat sees a dog . my friend likes".split()
    state = None
    for word in words:
        state = lm.read([word], state)
    whole = lm.read(words)
    assert state.tokens == whole.tokens == len(words)
    torch.testing.assert_close(state.top, whole.top, rtol=0, atol=1e-5)
    assert lm.next_words(state, 5) == lm.next_words(whole, 5)


def test_a_state_holds_the_same_bytes_however_many_words_it_read(lm):
    """A typing session keeps its state for minutes: it must not pin the output of every word it read."""
    words = "the cat sees a dog".split()
    short, long = lm.read(words), lm.read(words * 100)
    assert _held_bytes(long) == _held_bytes(short) == _held_bytes(lm.read([]))
    assert _held_bytes(lm.read(words, lm.read(words * 100))) == _held_bytes(short)  # carried on, too
    assert long.top.shape == (1, short.top.size(-1))


def test_next_words_are_the_likeliest_with_the_typed_prefix(lm):
    state = lm.read(["the"])
    found = lm.next_words(state, 3)
    probs = [p for _, p in found]
    assert len(found) == 3 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    assert all(w not in ("<unk>", "<eos>", "<pad>") for w, _ in lm.next_words(state, 20))
    assert [w for w, _ in lm.next_words(state, 5, "ch")] and all(w.startswith("ch") for w, _ in lm.next_words(state, 5, "ch"))
    assert lm.next_words(state, 5, "zzz") == []
    with pytest.raises(ConfigError, match="k must be in 1..100"):
        lm.next_words(state, 0)


def test_a_character_model_says_it_cannot_suggest_words(tmp_path):
    raw = tiny_raw(write_corpus(tmp_path / "corpus", (60, 10, 10)), data={"unit": "char"}, trainer={"epochs": 1})
    chars = rnn_nlp.train(raw, out=tmp_path / "char-lm")
    with pytest.raises(ConfigError, match="need a word-level language model"):
        chars.read(["t"])
