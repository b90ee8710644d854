"""The seq2seq head: teacher forcing agrees with step-by-step decoding, the loss falls, greedy and
beam search agree with brute force, batched decoding equals one-by-one, padding never matters."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.batching import pad_batch
from rnn_nlp.errors import ConfigError
from rnn_nlp.generate import beam_search, generate_batch, length_norm
from rnn_nlp.generate.conditional import decode_ids
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.lm import LMHeadConfig
from rnn_nlp.nn.heads.seq2seq import Seq2SeqHead, Seq2SeqHeadConfig, Seq2SeqNetwork, Seq2SeqStepper

EOS = 2


def tiny(attention="additive", input_feeding=False, rnn="gru", direction="both", vocab=7, bridge="linear", seed=0, width=8):
    torch.manual_seed(seed)
    enc = Backbone(BackboneConfig(rnn=rnn, emb_size=width, hidden_size=width, layers=1, direction=direction), vocab, 0)
    cfg = Seq2SeqHeadConfig(
        decoder=BackboneConfig(rnn=rnn, emb_size=width, hidden_size=width, layers=2, init_range=0.5),
        output=LMHeadConfig(softmax="full", tie_weights=True),
        attention=attention,
        attention_size=width,
        input_feeding=input_feeding,
        bridge=bridge,
    )
    return Seq2SeqNetwork(enc, Seq2SeqHead(enc, vocab, cfg, 0)).eval()


def make_batch(sources, targets):
    src, src_len = pad_batch(sources)
    tgt_in, tgt_len = pad_batch([[EOS] + t for t in targets])
    tgt_out, _ = pad_batch([t + [EOS] for t in targets])
    return {"src": src, "src_lengths": src_len, "tgt_in": tgt_in, "tgt_out": tgt_out, "tgt_lengths": tgt_len}


def sequence_log_prob(model, source, target) -> float:
    """log p(target + <eos> | source), from one teacher-forced pass on this pair alone."""
    return -float(model(make_batch([source], [target]))["nll"])


VARIANTS = [
    ("none", False, "gru", "both"),
    ("dot", False, "lstm", "forward"),
    ("general", False, "lstm", "both"),
    ("additive", False, "gru", "both"),
    ("additive", True, "lstm", "both"),
    ("general", True, "gru", "forward"),
]


@pytest.mark.parametrize("attention,feeding,rnn,direction", VARIANTS)
def test_teacher_forcing_equals_stepping(attention, feeding, rnn, direction):
    model = tiny(attention, feeding, rnn, direction)
    sources = [[3, 4, 5, 6, 3], [5, 6]]
    targets = [[4, 4, 3], [6, 5, 5, 5, 3]]
    with torch.no_grad():
        forced = -float(model(make_batch(sources, targets))["nll"])
        stepper = Seq2SeqStepper(model, sources)
        top, state = stepper.prime([[EOS], [EOS]], torch.device("cpu"))
        total = 0.0
        for t in range(6):
            logp = stepper.log_probs(top)
            tokens = []
            for row, tgt in enumerate(targets):
                seq = tgt + [EOS]
                token = seq[t] if t < len(seq) else EOS
                if t < len(seq):
                    total += float(logp[row, token])
                tokens.append(token)
            top, state = stepper.step(torch.tensor(tokens), state)
    assert forced == pytest.approx(total, abs=1e-4)


@pytest.mark.parametrize("attention", ["none", "additive"])
def test_padding_in_the_source_batch_changes_nothing(attention):
    model = tiny(attention)
    alone = sequence_log_prob(model, [3, 4], [5, 6])
    with torch.no_grad():
        batch = make_batch([[3, 4], [6, 6, 6, 6, 6, 6]], [[5, 6], [3]])
        batch["src"][0, 2:] = 5  # garbage where row 0 is padded: masked, never read
        logp_rows = model.head.output.log_probs(
            model.head.decode(batch["tgt_in"], model.encode(batch["src"], batch["src_lengths"]), batch["tgt_lengths"])[0]
        )
    row0 = sum(float(logp_rows[0, t, tok]) for t, tok in enumerate([5, 6, EOS]))
    assert row0 == pytest.approx(alone, abs=1e-5)


@pytest.mark.slow
def test_loss_falls_on_a_reverse_task():
    rng = random.Random(0)
    model = tiny("additive", vocab=9, width=16).train()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(120):
        sources = [[rng.randint(3, 8) for _ in range(rng.randint(2, 5))] for _ in range(16)]
        out = model(make_batch(sources, [s[::-1] for s in sources]))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["log_loss"]))
    assert sum(losses[-10:]) / 10 < 0.3 * sum(losses[:10]) / 10
    model.eval()
    found = decode_ids(model, [[3, 4, 5, 6], [7, 8, 3]], max_tokens=8)
    assert [f[0] for f in found] == [[6, 5, 4, 3], [3, 8, 7]]


@pytest.mark.parametrize(
    "attention,feeding,alpha",
    [("additive", False, 0.0), ("general", True, 0.0), ("none", False, 0.0), ("additive", False, 1.0), ("general", True, 2.5)],
)
def test_greedy_and_beam_agree_with_brute_force(attention, feeding, alpha):
    vocab, length = 5, 3
    model = tiny(attention, feeding, vocab=vocab, seed=3)
    source = [3, 4, 3]
    # greedy: re-run the whole prefix teacher-forced at every step and take the argmax
    prefix = []
    for _ in range(length):
        with torch.no_grad():
            batch = make_batch([source], [prefix])
            state = model.encode(batch["src"], batch["src_lengths"])
            top, _ = model.head.decode(batch["tgt_in"], state)
            prefix.append(int(model.head.output.log_probs(top[0, -1]).argmax()))
        if prefix[-1] == EOS:
            break
    greedy = generate_batch(Seq2SeqStepper(model, [source]), [[EOS]], length, greedy=True, stop_id=EOS)[0]
    assert greedy == prefix
    # beam: every sequence of up to `length` ids, finished by <eos> or cut at `length`
    scored = []
    for n in range(1, length + 1):
        for ids in itertools.product([t for t in range(vocab) if t != EOS], repeat=n - 1):
            seq = list(ids)
            scored.append((sequence_log_prob(model, source, seq), seq + [EOS]))
    for ids in itertools.product([t for t in range(vocab) if t != EOS], repeat=length):
        with torch.no_grad():  # unfinished: the probability of the ids alone, without the closing <eos>
            batch = make_batch([source], [list(ids)])
            top, _ = model.head.decode(batch["tgt_in"], model.encode(batch["src"], batch["src_lengths"]))
            logp = model.head.output.log_probs(top[0])
        scored.append((sum(float(logp[t, tok]) for t, tok in enumerate(ids)), list(ids)))
    # the beam ranks by log_prob / length_norm(len, alpha) (GNMT): an exhaustive beam finds the best of those
    best_lp, best_ids = max(scored, key=lambda s: s[0] / length_norm(len(s[1]), alpha))
    (hyp,) = beam_search(
        Seq2SeqStepper(model, [source]), [[EOS]], width=vocab**length, max_tokens=length, length_penalty=alpha, stop_id=EOS
    )[0]
    assert hyp.ids == best_ids
    assert hyp.log_prob == pytest.approx(best_lp, abs=1e-4)
    assert hyp.score == pytest.approx(best_lp / length_norm(len(best_ids), alpha), abs=1e-4)


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("attention,feeding,rnn,direction", VARIANTS)
def test_batched_decoding_equals_one_by_one(beam, attention, feeding, rnn, direction):
    """Sources of different lengths padded into one batch decode as each does alone (every
    attention kind, LSTM and GRU, one- and two-directional encoders)."""
    model = tiny(attention, feeding, rnn, direction, vocab=9, seed=5)
    sources = [[3, 4, 5, 6, 7, 8], [5], [6, 7], [8, 8, 3, 4], [4, 4, 4]]
    one = decode_ids(model, sources, max_tokens=6, beam=beam, batch_size=1)
    batched = decode_ids(model, sources, max_tokens=6, beam=beam, batch_size=3)
    assert batched == one


def test_sampling_is_seeded_and_gives_k_samples():
    model = tiny("general", vocab=9)
    gen = lambda: torch.Generator().manual_seed(4)  # noqa: E731
    a = decode_ids(model, [[3, 4], [5]], max_tokens=5, greedy=False, num_samples=3, generator=gen())
    b = decode_ids(model, [[3, 4], [5]], max_tokens=5, greedy=False, num_samples=3, generator=gen())
    assert a == b and [len(x) for x in a] == [3, 3]


def test_config_errors_are_clear():
    enc = Backbone(BackboneConfig(emb_size=8, hidden_size=8, layers=1, direction="both"), 7, 0)
    dec = BackboneConfig(emb_size=8, hidden_size=8, layers=1)
    with pytest.raises(ConfigError, match="dot attention needs the decoder width"):
        Seq2SeqHead(enc, 7, Seq2SeqHeadConfig(decoder=dec, attention="dot"))
    with pytest.raises(ConfigError, match="head.input_feeding needs attention"):
        Seq2SeqHead(enc, 7, Seq2SeqHeadConfig(decoder=dec, attention="none", input_feeding=True))
    with pytest.raises(ConfigError, match="head.bridge"):
        Seq2SeqHead(enc, 7, Seq2SeqHeadConfig(decoder=dec, attention="none", bridge="none"))
    with pytest.raises(ConfigError, match="head.decoder.direction"):
        Seq2SeqHead(enc, 7, Seq2SeqHeadConfig(decoder=BackboneConfig(direction="both")))
    with pytest.raises(ConfigError, match="share_embeddings"):
        Seq2SeqHead(enc, 9, Seq2SeqHeadConfig(decoder=dec, share_embeddings=True))


def test_no_bridge_starts_from_zeros_and_still_attends():
    model = tiny("additive", bridge="none")
    assert sequence_log_prob(model, [3, 4], [5]) != pytest.approx(sequence_log_prob(model, [6, 6, 6], [5]), abs=1e-6)


@pytest.mark.parametrize("attention,feeding,rnn,direction", VARIANTS)
def test_training_mode_with_every_dropout_backpropagates(attention, feeding, rnn, direction):
    torch.manual_seed(0)
    drop = {"input_dropout": 0.2, "hidden_dropout": 0.2, "output_dropout": 0.2, "embed_dropout": 0.1}
    enc = Backbone(BackboneConfig(rnn=rnn, emb_size=8, hidden_size=8, layers=2, direction=direction, **drop), 7, 0)
    dec = BackboneConfig(rnn=rnn, emb_size=8, hidden_size=8, layers=2, **drop)
    cfg = Seq2SeqHeadConfig(decoder=dec, attention=attention, attention_size=8, input_feeding=feeding, dropout=0.3)
    model = Seq2SeqNetwork(enc, Seq2SeqHead(enc, 7, cfg, 0)).train()
    out = model(make_batch([[3, 4, 5], [6]], [[4, 5], [3, 3, 3]]))
    out["loss"].backward()
    assert torch.isfinite(out["loss"]) and out["tokens"] == 7
    assert model.backbone.embedding.weight.grad is not None and model.head.decoder.embedding.weight.grad is not None
