"""Contextual string embeddings: the positions read off the string, features equal to running the char LM by
hand, padding, batching, the cache, frozen and trainable char LMs."""

import pytest
import torch

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.nn.embedders.string_embeddings import FeatureCache, StringEmbedder, string_chars, word_positions

CHARS = Vocab.build([list("the cat sat on a mat.")], unit="char")  # no capitals, no 'x'
SENTENCES = [["the", "cat", "sat"], ["a", "mat", "."], ["on"]]


def _embedder(direction="both", **kwargs) -> StringEmbedder:
    torch.manual_seed(0)
    cfg = BackboneConfig(emb_size=6, hidden_size=5, layers=1, direction=direction, init="uniform", init_range=0.5)
    return StringEmbedder(cfg, CHARS, **kwargs)


def test_word_positions_on_a_hand_made_sentence():
    # "<eos>The cat sat<eos>": 0 <eos> | 1-3 The | 4 ' ' | 5-7 cat | 8 ' ' | 9-11 sat | 12 <eos>
    assert word_positions(["The", "cat", "sat"]) == ([4, 8, 12], [0, 4, 8])  # the spaces around each word
    assert word_positions(["The", "cat", "sat"], whitespace=False) == ([3, 7, 11], [1, 5, 9])  # its last / first char
    framed = ["<eos>", *"The cat sat", "<eos>"]
    fwd, bwd = word_positions(["The", "cat", "sat"], whitespace=False)
    assert [framed[i] for i in fwd] == ["e", "t", "t"] and [framed[i] for i in bwd] == ["T", "c", "s"]


def test_characters_map_as_the_char_lm_read_them():
    assert string_chars(["Ab", "c\td"]) == ["A", "b", " ", "c", " ", "d"]
    assert string_chars(["Ab"], lowercase=True) == ["a", "b"]
    e = _embedder()
    ids = e.encode(["the", "Xat"])  # 'X' and 'x' are unknown to the char LM
    assert ids[0] == ids[-1] == CHARS.eos_id and ids[5] == CHARS.unk_id and len(ids) == 2 + len("the Xat")
    assert _embedder(lowercase=True).encode(["The"]) == e.encode(["the"])


def _by_hand(e: StringEmbedder, tokens: list[str], whitespace: bool = True) -> torch.Tensor:
    """The states of the two LSTMs run directly (no Backbone, no padding): forward over the framed string,
    backward over it reversed, each word's state at its position."""
    ids = torch.tensor([e.encode(tokens)])
    emb = e.lm.embedding(ids)
    forward, _ = e.lm.stack("forward").layers[0](emb)
    backward, _ = e.lm.stack("backward").layers[0](emb.flip(1))
    backward = backward.flip(1)  # position p: the state after reading the string from its end down to p
    fwd, bwd = word_positions(tokens, whitespace)
    return torch.cat([forward[0, fwd], backward[0, bwd]], dim=-1)


@pytest.mark.parametrize("whitespace", [True, False])
def test_features_are_the_char_lm_states_at_the_word_positions(whitespace):
    e = _embedder(whitespace=whitespace).eval()
    out = e([SENTENCES[0]])
    assert out.shape == (1, 3, 10) and e.output_dim == 10
    with torch.no_grad():
        assert torch.allclose(out[0], _by_hand(e, SENTENCES[0], whitespace), atol=1e-6)


def test_a_one_direction_lm_gives_its_states_alone():
    e = _embedder(direction="backward")
    assert e.output_dim == 5 and e([SENTENCES[0]]).shape == (1, 3, 5)


def test_padding_is_zero_and_a_batch_equals_one_sentence_at_a_time():
    e = _embedder()
    together = e(SENTENCES, steps=4)
    assert together.shape == (3, 4, 10)
    assert bool((together[1, 3:] == 0).all()) and bool((together[2, 1:] == 0).all()) and bool((together[0, 3] == 0).all())
    for row, sentence in enumerate(SENTENCES):
        alone = _embedder()([sentence])  # a fresh cache: computed again, alone
        assert torch.allclose(together[row, : len(sentence)], alone[0], atol=1e-6)


def test_the_cache_gives_identical_features_and_is_hit_the_second_epoch(monkeypatch):
    e = _embedder(cache_bytes=2**20)
    runs = []
    compute = e.compute
    monkeypatch.setattr(e, "compute", lambda sentences: runs.append(len(sentences)) or compute(sentences))
    first = e(SENTENCES)
    second = e(list(reversed(SENTENCES)))  # another batch order: each sentence found by its tokens
    assert runs == [3] and (e.cache.hits, e.cache.misses) == (3, 3)
    assert torch.equal(second, first.flip(0))
    assert torch.equal(e([SENTENCES[0]])[0], first[0])
    uncached = _embedder(cache_bytes=0)
    assert uncached.cache is None and torch.equal(uncached(SENTENCES), first)


def test_a_float16_cache_halves_the_memory_and_a_full_cache_stops_growing():
    full, half = _embedder(cache_bytes=2**20), _embedder(cache_bytes=2**20, cache_dtype=torch.float16)
    a, b = full(SENTENCES), half(SENTENCES)
    assert half.cache.bytes * 2 == full.cache.bytes and torch.allclose(a, b, atol=1e-3)
    assert torch.equal(half(SENTENCES), b)  # what the first epoch gave is what the cache gives later
    small = FeatureCache(max_bytes=3 * 10 * 4)  # room for one 3-word sentence of width 10
    small.put(("a",), torch.ones(3, 10))
    small.put(("b",), torch.ones(3, 10))
    assert list(small.store) == [("a",)] and small.bytes == 120


def test_loading_weights_drops_cached_features():
    e = _embedder(cache_bytes=2**20)
    before = e(SENTENCES)
    state = {k: torch.zeros_like(v) for k, v in e.state_dict().items()}
    e.load_state_dict(state)
    assert not e.cache.store and bool((e(SENTENCES) == 0).all()) and not bool((before == 0).all())


def test_a_frozen_char_lm_gets_no_gradient_and_stays_in_eval_mode():
    e = _embedder(cache_bytes=2**20)
    e.train()
    assert not e.lm.training and all(not p.requires_grad for p in e.parameters())
    scale = torch.nn.Parameter(torch.ones(10))
    (e(SENTENCES) * scale).sum().backward()
    assert scale.grad is not None and all(p.grad is None for p in e.parameters())


def test_a_trainable_char_lm_learns_and_caches_nothing():
    e = _embedder(trainable=True, cache_bytes=2**20)
    e.train()
    assert e.cache is None and e.lm.training
    e(SENTENCES).sum().backward()
    assert all(p.grad is not None for p in e.parameters())


def test_a_word_level_vocabulary_is_refused():
    with pytest.raises(ValueError, match="character-level"):
        StringEmbedder(BackboneConfig(), Vocab.build([["the", "cat"]]))
