"""The fixed-window LM: the loss falls, perplexity covers every token, sampling is seeded."""

import math
import random

import pytest
import torch

from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.baselines.window import WindowConfig, WindowLM, WindowNet


def _svo(n, seed):
    rng = random.Random(seed)
    subjects, verbs, objects = ["the cat", "a dog", "my friend"], ["sees", "likes", "finds"], ["the ball", "a tree", "the moon"]
    return [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} .".split() for _ in range(n)]


def test_loss_falls_and_perplexity_beats_uniform():
    train, valid = _svo(200, 0), _svo(30, 1)
    lm = WindowLM(WindowConfig(context=3, emb_size=8, hidden_size=16, batch_size=32, epochs=6, lr=0.01, patience=2))
    lm.fit(train, valid)
    losses = [h["train_loss"] for h in lm.history]
    assert losses[-1] < losses[0] - 0.5
    ppl = lm.perplexity(valid)
    assert 1 < ppl < (len(lm.vocab) - 1) / 2  # far better than uniform over the vocabulary
    assert math.isclose(ppl, math.exp(min(h["valid_loss"] for h in lm.history)), rel_tol=1e-6)  # the best weights kept
    size = lm.size()
    assert size["entries"] == sum(p.numel() for p in lm.net.parameters()) and size["bytes"] == 4 * size["entries"]


def test_windows_predict_every_word_and_eos():
    lm = WindowLM(WindowConfig(context=2, epochs=1))
    lm.fit([["a", "b"], ["c"]])
    x, y = lm._windows([["a", "b"], ["c"]])
    eos, a, b, c = (lm.vocab.stoi[t] for t in ("<eos>", "a", "b", "c"))
    assert y.tolist() == [a, b, eos, c, eos]
    assert x.tolist() == [[eos, eos], [eos, a], [a, b], [b, eos], [eos, c]]


def test_direct_connections_and_seeded_sampling():
    net = WindowNet(10, WindowConfig(context=2, emb_size=3, hidden_size=4, direct=True))
    assert net(torch.zeros(5, 2, dtype=torch.long)).shape == (5, 10)
    lm = WindowLM(WindowConfig(context=2, emb_size=8, hidden_size=8, epochs=1)).fit(_svo(50, 0))
    first = lm.generate(["the"], max_tokens=10, temperature=0.7, seed=4)
    assert first == lm.generate(["the"], max_tokens=10, temperature=0.7, seed=4)
    assert len(first) == 10 and "<pad>" not in first
    with pytest.raises(ConfigError, match="temperature"):
        lm.generate([], 3, temperature=0)
    with pytest.raises(ConfigError, match="not trained"):
        WindowLM().perplexity([["a"]])
