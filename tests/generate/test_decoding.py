"""Generation: greedy, seeded sampling, top-k / top-p filtering, batches, beam search, bounds."""

import logging
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from rnn_nlp.config import BackboneConfig
from rnn_nlp.errors import ConfigError
from rnn_nlp.generate.decoding import (
    MAX_TOKENS,
    _filter,
    beam_search,
    continuation_log_prob,
    encode_prompt,
    generate_batch,
    generate_ids,
    generate_text,
    generate_texts,
    length_norm,
)
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.lm import LanguageModelNetwork, LMHead, LMHeadConfig
from rnn_nlp.runs import build_config, load_run, train_run
from tests.conftest import tiny_raw


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import write_corpus

    root = tmp_path_factory.mktemp("gen")
    corpus = write_corpus(root / "corpus")
    train_run(build_config(tiny_raw(corpus, trainer={"epochs": 3})), root / "run")
    _, task, model = load_run(root / "run")
    return task, model, root / "run"


@pytest.mark.slow
def test_greedy_is_deterministic_and_learned_the_pattern(trained):
    task, model, _ = trained
    vocab = task.token_vocab()
    a = generate_text(model, vocab, task.tokenizer, "the cat", max_tokens=4)
    b = generate_text(model, vocab, task.tokenizer, "the cat", max_tokens=4)
    assert a == b
    assert a.split()[0] in {"sees", "likes", "chases", "finds", "hears"}


def test_carried_state_equals_rerunning_the_prefix(trained):
    task, model, _ = trained
    prompt = encode_prompt("the cat sees", task.token_vocab(), task.tokenizer)
    out = generate_ids(model, prompt, max_tokens=3)
    # Recompute greedily by running the whole prefix each time.
    ids = list(prompt)
    for _ in range(3):
        top, _, _ = model.backbone.run_direction("forward", torch.tensor([ids]))
        ids.append(int(model.head.log_probs(top[:, -1]).argmax(-1)))
    assert out == ids[len(prompt) :]


def test_sampling_is_seeded(trained):
    task, model, _ = trained
    prompt = encode_prompt("", task.token_vocab(), task.tokenizer)
    assert prompt == [task.token_vocab().eos_id]
    run = lambda seed: generate_ids(  # noqa: E731
        model, prompt, max_tokens=12, greedy=False, generator=torch.Generator().manual_seed(seed)
    )
    assert run(3) == run(3)
    assert run(3) != run(4)
    top1 = generate_ids(model, prompt, max_tokens=6, greedy=False, top_k=1, generator=torch.Generator().manual_seed(1))
    assert top1 == generate_ids(model, prompt, max_tokens=6)


def test_top_k_and_top_p_filters():
    logp = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = _filter(logp, top_k=2, top_p=1.0).isfinite()
    assert kept.tolist() == [[True, True, False, False]]
    kept = _filter(logp, top_k=0, top_p=0.7).isfinite()
    assert kept.tolist() == [[True, True, False, False]]  # 0.5 < 0.7 <= 0.8
    kept = _filter(logp, top_k=0, top_p=0.5).isfinite()
    assert kept.tolist() == [[True, False, False, False]]


def test_bounds_and_unknown_words(trained, caplog):
    task, model, _ = trained
    with pytest.raises(ConfigError, match="max_tokens"):
        generate_ids(model, [2], max_tokens=0)
    with pytest.raises(ConfigError, match="temperature"):
        generate_ids(model, [2], greedy=False, temperature=0)
    with caplog.at_level(logging.WARNING):
        ids = encode_prompt("the zebra", task.token_vocab(), task.tokenizer)
    assert ids[-1] == task.token_vocab().unk_id
    assert "zebra" in caplog.text


# ---- batches, beams, state handling: tiny models built in place ----------------------------
def random_lm(rnn: str, vocab_size: int = 7, seed: int = 0) -> LanguageModelNetwork:
    """An untrained 2-layer LM in float64 (no near-ties between logits), peaked by a wide init."""
    torch.manual_seed(seed)
    cfg = BackboneConfig(rnn=rnn, emb_size=8, hidden_size=8, layers=2, init_range=1.0)
    backbone = Backbone(cfg, vocab_size)
    head = LMHead(backbone.top_size, vocab_size, LMHeadConfig(tie_weights=False))
    with torch.no_grad():
        head.decoder.weight.mul_(20)
    return LanguageModelNetwork(backbone, head).double()


class BigramLM(nn.Module):
    """A fake LM with the interface generation uses: backbone.run_direction and head.log_probs.

    The hidden state is the one-hot of the last token, carried as a per-layer [1, B, V] state.
    """

    def __init__(self, probs: torch.Tensor):
        super().__init__()
        self.register_buffer("table", (probs / probs.sum(1, keepdim=True)).log())
        self.backbone = SimpleNamespace(directions=("forward",), run_direction=self.run_direction)
        self.head = SimpleNamespace(vocab_size=probs.size(0), log_probs=lambda h: h @ self.table)

    def run_direction(self, direction, ids, state=None):
        hot = torch.nn.functional.one_hot(ids, self.table.size(0)).float()
        return hot, [hot], [hot[:, -1].unsqueeze(0)]


A, B, C, D, E = 3, 4, 5, 6, 7
PAD, UNK, EOS = 0, 1, 2


@pytest.fixture
def myopic():
    """From <eos>, B is likelier than C, but B leads anywhere while C is nearly surely followed by <eos>."""
    p = torch.full((8, 8), 0.01)
    p[EOS, [B, C]] = torch.tensor([0.5, 0.4])
    p[B, [A, B, D, E]] = torch.tensor([0.25, 0.23, 0.21, 0.19])
    p[C, EOS] = 0.95
    for row in (A, D, E, PAD, UNK):
        p[row, [A, B, D, E, C]] = torch.tensor([0.24, 0.22, 0.2, 0.18, 0.1])
    return BigramLM(p)


def test_beam_beats_myopic_greedy(myopic):
    greedy = generate_ids(myopic, [EOS], max_tokens=2, stop_id=EOS)
    best = beam_search(myopic, [[EOS]], width=2, max_tokens=2, length_penalty=0.0, stop_id=EOS)[0][0]
    assert greedy == [B, A]
    assert best.ids == [C, EOS] and best.finished
    assert best.score > continuation_log_prob(myopic, [EOS], greedy)
    assert best.log_prob == pytest.approx(continuation_log_prob(myopic, [EOS], best.ids), abs=1e-5)
    # Under the same GNMT normalisation (alpha 0.6) too, and for longer outputs.
    best = beam_search(myopic, [[EOS]], width=3, max_tokens=6, length_penalty=0.6, stop_id=EOS)[0][0]
    greedy = generate_ids(myopic, [EOS], max_tokens=6, stop_id=EOS)
    assert best.score > continuation_log_prob(myopic, [EOS], greedy) / length_norm(len(greedy), 0.6)


def test_stop_id_ends_rows_and_others_go_on(myopic):
    out = generate_batch(myopic, [[EOS, C], [EOS], [A, B], [C]], max_tokens=5, stop_id=EOS)
    assert out[0] == [EOS] and out[3] == [EOS]
    assert out[1] == [B, A, A, A, A] and out[2] == [A, A, A, A, A]
    assert generate_batch(myopic, [[C]], max_tokens=3) == [[EOS, B, A]]  # no stop id: it goes on


@pytest.mark.parametrize("rnn", ["lstm", "gru", "elman_tanh", "elman_relu"])
def test_batched_greedy_equals_one_by_one(rnn):
    model = random_lm(rnn)
    prompts = [[2], [2, 3, 4], [2, 5], [2, 3, 4], [6, 6, 6, 6, 6]]
    batched = generate_batch(model, prompts, max_tokens=6, stop_id=2)
    assert batched == [generate_ids(model, p, max_tokens=6, stop_id=2) for p in prompts]
    # and carrying the state equals re-running the whole prefix
    for prompt, out in zip(prompts, batched):
        ids = list(prompt)
        for _ in out:
            top, _, _ = model.backbone.run_direction("forward", torch.tensor([ids]))
            ids.append(int(model.head.log_probs(top[:, -1]).argmax(-1)))
            if ids[-1] == 2:
                break
        assert ids[len(prompt) :] == out


def _exhaustive_best(model, prompt, vocab_size, max_len, alpha, stop_id):
    """The best-scoring continuation of at most `max_len` ids, searched over all of them."""
    best, frontier = None, [[]]
    for length in range(1, max_len + 1):
        grown = []
        for seq in frontier:
            for tok in range(vocab_size):
                cont = seq + [tok]
                score = continuation_log_prob(model, prompt, cont) / length_norm(length, alpha)
                if tok == stop_id or length == max_len:
                    if best is None or score > best[0]:
                        best = (score, cont)
                else:
                    grown.append(cont)
        frontier = grown
    return best


@pytest.mark.parametrize("rnn", ["lstm", "gru", "elman_tanh"])
def test_wide_beam_is_exact_and_batched_beam_equals_one_by_one(rnn):
    model = random_lm(rnn, vocab_size=4, seed=1)
    prompts = [[2], [2, 3, 1], [3, 3]]
    found = beam_search(model, prompts, width=16, max_tokens=3, length_penalty=0.6, stop_id=2, n_best=3)
    for prompt, hyps in zip(prompts, found):
        score, ids = _exhaustive_best(model, prompt, 4, 3, 0.6, 2)
        assert hyps[0].ids == ids and hyps[0].score == pytest.approx(score)
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for h in hyps:
            assert h.log_prob == pytest.approx(continuation_log_prob(model, prompt, h.ids))
            assert h.finished == (h.ids[-1] == 2)
        assert_same(beam_search(model, [prompt], width=16, max_tokens=3, stop_id=2, n_best=3)[0], hyps)
    # narrow beams over a batch of prompts equal the same beams run one prompt at a time
    found = beam_search(model, prompts, width=3, max_tokens=8, length_penalty=1.0, stop_id=2, n_best=2)
    for prompt, hyps in zip(prompts, found):
        assert_same(beam_search(model, [prompt], width=3, max_tokens=8, length_penalty=1.0, stop_id=2, n_best=2)[0], hyps)
    # stopping early (as soon as the best is sure) never changes the best
    best = beam_search(model, prompts, width=3, max_tokens=8, length_penalty=1.0, stop_id=2, n_best=1)
    assert_same([hyps[0] for hyps in best], [hyps[0] for hyps in found])


def assert_same(hyps, others):
    assert [(h.ids, h.finished) for h in hyps] == [(h.ids, h.finished) for h in others]
    assert [h.score for h in hyps] == pytest.approx([h.score for h in others])


@pytest.mark.parametrize("rnn", ["lstm", "gru", "elman_tanh"])
def test_width_one_beam_is_greedy(rnn):
    model = random_lm(rnn, seed=2)
    prompts = [[2], [2, 3, 4, 5], [4]]
    unstopped = generate_batch(model, prompts, max_tokens=10)
    stop = unstopped[0][2]  # an id greedy decoding emits, so that rows stop early
    for stop_id in (None, 2, stop):
        greedy = generate_batch(model, prompts, max_tokens=10, stop_id=stop_id)
        beams = beam_search(model, prompts, width=1, max_tokens=10, length_penalty=0.0, stop_id=stop_id)
        assert [hyps[0].ids for hyps in beams] == greedy
    assert len(greedy[0]) <= 3 and greedy[0][-1] == stop


def test_batched_sampling_is_seeded_and_filtered():
    model = random_lm("lstm")
    for p in model.parameters():
        p.data.div_(20)  # flatter distributions, so samples differ
    prompts = [[2], [2, 3]] * 4
    run = lambda seed, **kw: generate_batch(  # noqa: E731
        model, prompts, max_tokens=8, greedy=False, generator=torch.Generator().manual_seed(seed), **kw
    )
    assert run(5) == run(5)
    assert run(5) != run(6)
    assert len({tuple(x) for x in run(5)}) > 2  # rows sampled apart, not copies
    assert run(5, top_k=1) == generate_batch(model, prompts, max_tokens=8)
    out = run(7, stop_id=2, temperature=1.5)
    assert all(2 not in x[:-1] for x in out)
    assert model.training  # generation leaves the model's mode as it found it


def test_batch_bounds_and_errors(myopic):
    model = random_lm("gru")
    with pytest.raises(ConfigError, match="max_tokens"):
        generate_batch(model, [[2]], max_tokens=MAX_TOKENS + 1)
    with pytest.raises(ConfigError, match="max_tokens"):
        beam_search(model, [[2]], max_tokens=0)
    with pytest.raises(ConfigError, match="empty"):
        generate_batch(model, [[2], []])
    with pytest.raises(ConfigError, match="outside the vocabulary"):
        beam_search(model, [[2, 99]])
    with pytest.raises(ConfigError, match="width"):
        beam_search(model, [[2]], width=0)
    with pytest.raises(ConfigError, match="n_best"):
        beam_search(model, [[2]], width=2, n_best=3)
    with pytest.raises(ConfigError, match="top_p"):
        generate_batch(model, [[2]], greedy=False, top_p=0)
    with pytest.raises(ConfigError, match="top_k"):
        generate_batch(model, [[2]], greedy=False, top_k=-1)
    assert generate_batch(model, []) == [] and beam_search(model, []) == []


def test_text_api(trained):
    task, model, _ = trained
    vocab, tok = task.token_vocab(), task.tokenizer
    (greedy,) = generate_texts(model, vocab, tok, ["the cat"], max_tokens=4)
    assert greedy == [generate_text(model, vocab, tok, "the cat", max_tokens=4)]
    texts = generate_texts(model, vocab, tok, ["the cat", ""], max_tokens=12, beam=4, num_samples=2)
    assert [len(t) for t in texts] == [2, 2]
    assert all("<eos>" not in t for t in texts[0] + texts[1])  # stopped at, and without, the boundary
    assert all(t.endswith(" .") for t in texts[0] + texts[1])  # whole sentences, as in the corpus
    samples = generate_texts(
        model,
        vocab,
        tok,
        ["a dog"],
        max_tokens=8,
        greedy=False,
        num_samples=5,
        stop_at_eos=True,
        generator=torch.Generator().manual_seed(0),
    )[0]
    assert len(samples) == 5 and all("<eos>" not in s for s in samples)
    with pytest.raises(ConfigError, match="greedy"):
        generate_texts(model, vocab, tok, ["a"], num_samples=2)
    with pytest.raises(ConfigError, match="beam search or sampling"):
        generate_texts(model, vocab, tok, ["a"], beam=3, greedy=False)
    with pytest.raises(ConfigError, match="beam width"):
        generate_texts(model, vocab, tok, ["a"], beam=2, num_samples=3)


def test_beam_scores_at_least_greedy_on_a_trained_model(trained):
    task, model, _ = trained
    vocab = task.token_vocab()
    for prompt in ["", "the cat", "a child likes"]:
        ids = encode_prompt(prompt, vocab, task.tokenizer)
        greedy = generate_ids(model, ids, max_tokens=10, stop_id=vocab.eos_id)
        greedy_score = continuation_log_prob(model, ids, greedy) / length_norm(len(greedy), 0.6)
        best = beam_search(model, [ids], width=5, max_tokens=10, length_penalty=0.6)[0][0]
        assert best.score >= greedy_score - 1e-6


def test_cli_generate_beam_and_samples(trained, capsys):
    from rnn_nlp.cli import main

    run = str(trained[2])
    assert main(["generate", run, "--prompt", "the cat", "--beam", "3", "--num-samples", "2", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("the cat ") and "<eos>" not in line for line in lines)
    args = ["generate", run, "--sample", "--num-samples", "3", "--seed", "4", "--max-tokens", "6", "--device", "cpu"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first and len(first.splitlines()) == 3
    assert main(["generate", run, "--num-samples", "2", "--device", "cpu"]) == 2
    assert "num_samples" in capsys.readouterr().err
    assert main(["generate", run, "--max-tokens", "0", "--device", "cpu"]) == 2
    assert "max_tokens" in capsys.readouterr().err


def test_sample_rows_follows_the_distribution_and_never_picks_zero_mass():
    from rnn_nlp.generate import sample_rows

    probs = torch.tensor([[0.0, 0.1, 0.2, 0.0, 0.7]]).repeat(200_000, 1)
    ids = sample_rows(probs, torch.Generator().manual_seed(0))
    freq = torch.bincount(ids, minlength=5).double() / len(ids)
    assert freq[0] == 0 and freq[3] == 0
    assert torch.allclose(freq, probs[0].double(), atol=0.005)
    one_hot = torch.eye(4)[[3, 0, 2]]
    assert sample_rows(one_hot).tolist() == [3, 0, 2]
    a = sample_rows(probs[:50], torch.Generator().manual_seed(7))
    assert torch.equal(a, sample_rows(probs[:50], torch.Generator().manual_seed(7)))
