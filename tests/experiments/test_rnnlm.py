"""The common LM interface: the RNN adapter trains, scores and samples like the baselines do."""

import math
import random

import pytest

from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError
from rnn_nlp.experiments.rnnlm import RNNLM
from rnn_nlp.nn.baselines import LMInterface, NGramLM, WindowConfig, WindowLM
from rnn_nlp.runs import build_config
from tests.conftest import tiny_raw


def _svo(n, seed):
    rng = random.Random(seed)
    subjects, verbs, objects = ["the cat", "a dog", "my friend"], ["sees", "likes", "finds"], ["the ball", "a tree", "the moon"]
    return [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} .".split() for _ in range(n)]


@pytest.mark.slow
def test_rnn_adapter_fits_scores_samples_and_reloads(tmp_path):
    train, valid = _svo(150, 0), _svo(20, 1)
    cfg = build_config(tiny_raw(tmp_path / "unused", trainer={"epochs": 4, "optimizer": "adam", "lr": 0.02, "checkpoint_every": 1000}))
    lm = RNNLM(cfg, work_dir=tmp_path / "work").fit(train, valid)
    assert lm.vocab.itos == Vocab.build(train).itos  # the same vocabulary as the baselines build
    ppl = lm.perplexity(valid)
    assert 1 < ppl < 4  # a learnable toy language (1.6 at best): far below uniform (17 words)
    words = lm.generate(["the"], max_tokens=6, temperature=0.8, seed=2)
    assert len(words) == 6 and words == lm.generate(["the"], max_tokens=6, temperature=0.8, seed=2)
    assert lm.size()["entries"] > 0
    again = RNNLM.from_run(tmp_path / "work" / "run")
    assert math.isclose(again.perplexity(valid), ppl, rel_tol=1e-6)
    for model in (lm, NGramLM(3), WindowLM(WindowConfig())):
        assert isinstance(model, LMInterface)


def test_an_untrained_adapter_says_so():
    with pytest.raises(ConfigError, match="not trained"):
        RNNLM().perplexity([["a"]])
    with pytest.raises(ConfigError, match="needs a run config"):
        RNNLM().fit([["a"]])
