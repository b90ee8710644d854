"""Text generation from a forward language model, or a conditional one (a seq2seq decoder):
greedy decoding, sampling and beam search.

The algorithms decode through a stepper (rnn_nlp.generate.steppers): a language model passed in is
wrapped in an LMStepper; a conditional model passes its own stepper, which carries the encoded
sources in its state, so the same beam search serves both.

The hidden state is carried from step to step: each new token is fed alone, the prefix is
never re-run. Every function takes a batch of prompts (lists of ids, any lengths): the
prompts are read once (identical prompts once in all, prompts of one length as one batch),
then the decoding steps of all rows, and of all beams, run as one RNN batch.

An LM's states follow the backbone's convention: a list with one entry per layer, a tensor
[1, B, H] (GRU, Elman) or an (h, c) pair of them (LSTM); the stepper reorders rows.

Determinism: a call with the same arguments and a generator seeded alike returns the same
ids. Sampled rows share one generator, so a prompt sampled alone and the same prompt sampled
in a batch draw different (equally valid) continuations.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from rnn_nlp.data.inputs import whole_number
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError
from rnn_nlp.generate.steppers import ConstrainedStepper, Stepper, as_stepper
from rnn_nlp.nn.heads.lm import LanguageModelNetwork

log = logging.getLogger(__name__)
MAX_TOKENS = 10_000
MAX_WIDTH = 256
MAX_SAMPLES = 1024
EOS_ID = Vocab.eos_id


# ---- shared pieces -----------------------------------------------------------------------
def _device(model: torch.nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


@contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


MAX_INVERSE_T = 1e30  # 1 / temperature is capped here: float32 logit gaps times it are -inf (greedy), never NaN


def real_number(value, name: str) -> float:
    """`value` as a float if it is a finite int or float (not a bool), else a TypeError/ConfigError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value}")
    return float(value)


def check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    """temperature: any positive finite number (applied in log space, so 1e-50 acts as greedy and
    1e39 as uniform over the ids allowed); top_k: 0 (off) or a count; top_p: in (0, 1]."""
    if not real_number(temperature, "temperature") > 0:
        raise ConfigError(f"temperature must be a positive finite number, got {temperature}")
    if whole_number(top_k, "top_k") < 0:
        raise ConfigError(f"top_k must be 0 (off) or positive, got {top_k}")
    if not 0 < real_number(top_p, "top_p") <= 1:
        raise ConfigError(f"top_p must be in (0, 1], got {top_p}")


def _check(stepper, prompts_ids: list[list[int]], max_tokens: int) -> None:
    if not 0 < whole_number(max_tokens, "max_tokens") <= MAX_TOKENS:
        raise ConfigError(f"max_tokens must be in 1..{MAX_TOKENS}, got {max_tokens}")
    vocab_size = stepper.vocab_size
    for i, ids in enumerate(prompts_ids):
        if len(ids) == 0:
            raise ConfigError(f"prompt {i} is empty: start it with the sentence-start id <eos> ({EOS_ID})")
        if vocab_size is not None and not all(0 <= t < vocab_size for t in ids):
            raise ConfigError(f"prompt {i} holds ids outside the vocabulary 0..{vocab_size - 1}")


# ---- greedy decoding and sampling --------------------------------------------------------
def _filter(logp: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    if top_k > 0:
        kth = torch.topk(logp, min(top_k, logp.size(-1)), dim=-1).values[..., -1:]
        logp = logp.masked_fill(logp < kth, float("-inf"))
    if top_p < 1.0:
        sorted_lp, order = torch.sort(logp, descending=True, dim=-1)
        cum = sorted_lp.softmax(-1).cumsum(-1)
        drop = cum - sorted_lp.softmax(-1) >= top_p  # keep the smallest prefix reaching top_p
        sorted_lp = sorted_lp.masked_fill(drop, float("-inf"))
        logp = torch.full_like(logp, float("-inf")).scatter(-1, order, sorted_lp)
    return logp


def sample_rows(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One id per row of `probs` [N, V], drawn by inverting the cumulative distribution.

    One uniform number per row instead of torch.multinomial's many: on CPU, drawing the random
    numbers dominates a sampling step over a 10k vocabulary, and this is about 25x faster there.
    """
    cum = probs.float().cumsum(-1)
    u = torch.rand(probs.size(0), 1, generator=generator, device=probs.device) * cum[:, -1:]
    return torch.searchsorted(cum, u, right=True).clamp_(max=probs.size(-1) - 1).squeeze(-1)


@torch.no_grad()
def generate_batch(
    model: LanguageModelNetwork | Stepper,
    prompts_ids: list[list[int]],
    max_tokens: int = 20,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    stop_id: int | None = None,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Continue each prompt (a list of at least one id) with up to `max_tokens` ids; one id list per prompt.

    Greedy (argmax) or sampled from the softmax at `temperature`, keeping only the `top_k` most
    likely ids (0: all) and the smallest set holding probability `top_p` (nucleus). A row that
    emits `stop_id` ends there (the id is kept as its last one); the other rows go on.
    """
    stepper = as_stepper(model)
    _check(stepper, prompts_ids, max_tokens)
    check_sampling(temperature, top_k, top_p)
    outs: list[list[int]] = [[] for _ in prompts_ids]
    if not prompts_ids:
        return outs
    device = _device(stepper.model)
    with _eval_mode(stepper.model):
        top, state = stepper.prime(prompts_ids, device)
        alive = list(range(len(prompts_ids)))  # the prompt each row continues
        for step in range(max_tokens):
            logp = stepper.log_probs(top)
            if greedy:
                nxt = logp.argmax(-1)
            else:
                # shifted so the likeliest id scores 0, then scaled by 1/temperature capped at MAX_INVERSE_T:
                # at 1e-50 the best id keeps 0 and every other goes to -inf (greedy), never 0/0; at 1e39
                # every allowed id scores about 0 (uniform) and a banned one stays -inf
                scaled = (logp - logp.max(-1, keepdim=True).values) * min(1.0 / temperature, MAX_INVERSE_T)
                probs = _filter(scaled, top_k, top_p).softmax(-1)
                nxt = sample_rows(probs, generator)
            tokens = nxt.tolist()
            for row, token in zip(alive, tokens):
                outs[row].append(token)
            if step == max_tokens - 1:
                break
            if stop_id is not None and stop_id in tokens:
                keep = [i for i, token in enumerate(tokens) if token != stop_id]
                if not keep:
                    break
                index = torch.tensor(keep, device=device)
                state, nxt = stepper.select(state, index), nxt.index_select(0, index)
                alive = [alive[i] for i in keep]
            top, state = stepper.step(nxt, state)
    return outs


def generate_ids(
    model: LanguageModelNetwork,
    prompt_ids: list[int],
    max_tokens: int = 20,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    stop_id: int | None = None,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Continue one prompt (at least one id); the options are those of `generate_batch`."""
    return generate_batch(model, [prompt_ids], max_tokens, greedy, temperature, top_k, top_p, stop_id, generator)[0]


# ---- beam search -------------------------------------------------------------------------
@dataclass
class Hypothesis:
    """A beam-search result: the continuation and its scores."""

    ids: list[int]  # the continuation; ends with stop_id when `finished`
    log_prob: float  # the sum of its ids' log-probabilities
    score: float  # log_prob / length_norm(len(ids), alpha): what the beam ranks by
    finished: bool  # True: ended with stop_id; False: cut at max_tokens


def length_norm(length: int, alpha: float) -> float:
    """GNMT's length penalty ((5 + length) / 6) ** alpha (Wu et al. 2016); alpha 0 ranks by log-probability.

    `length` counts the generated ids, the stop id included. A larger alpha favours longer output.
    """
    return ((5 + length) / 6) ** alpha


@torch.no_grad()
def beam_search(
    model: LanguageModelNetwork | Stepper,
    prompts_ids: list[list[int]],
    width: int = 5,
    max_tokens: int = 20,
    length_penalty: float = 0.6,
    stop_id: int | None = EOS_ID,
    n_best: int = 1,
) -> list[list[Hypothesis]]:
    """Beam search for each prompt: its `n_best` hypotheses, best first (by `Hypothesis.score`).

    All prompts and their `width` beams run as one batch of B x width rows. A step extends every
    beam by every id, ranks the candidates by summed log-probability and keeps the `width` best
    that do not end in `stop_id`; a candidate among the best `width` that ends in `stop_id` is a
    finished hypothesis, scored log_prob / length_norm(length, length_penalty). At `max_tokens`
    the beams still alive join the results unfinished. A prompt stops early once it holds
    `n_best` finished hypotheses that no live beam can beat: a live beam's log-probability only
    falls as it grows, so its best reachable score is bounded, and stopping never changes the
    result. `width` 1 with `length_penalty` 0 is greedy decoding (stopping at `stop_id`).
    """
    stepper = as_stepper(model)
    _check(stepper, prompts_ids, max_tokens)
    if not 0 < width <= MAX_WIDTH:
        raise ConfigError(f"beam width must be in 1..{MAX_WIDTH}, got {width}")
    if not 0 < n_best <= width:
        raise ConfigError(f"n_best must be in 1..width ({width}), got {n_best}")
    if not math.isfinite(length_penalty):
        raise ConfigError(f"length_penalty must be a finite number, got {length_penalty}")
    found: list[list[Hypothesis]] = [[] for _ in prompts_ids]
    if not prompts_ids:
        return found
    device = _device(stepper.model)
    alpha = length_penalty

    def keep_best(b: int, new: list[Hypothesis]) -> None:
        found[b] = sorted(found[b] + new, key=lambda h: -h.score)[:n_best]

    with _eval_mode(stepper.model):
        top, state = stepper.prime(prompts_ids, device)
        rows = torch.arange(len(prompts_ids), device=device).repeat_interleave(width)
        top, state = top.index_select(0, rows), stepper.select(state, rows)
        scores = torch.full((len(prompts_ids), width), float("-inf"), device=device)
        scores[:, 0] = 0.0  # one live beam per prompt at the start
        history = torch.zeros(len(prompts_ids), width, 0, dtype=torch.long, device=device)
        active = list(range(len(prompts_ids)))  # the prompt of each row block
        for t in range(1, max_tokens + 1):
            n = len(active)
            logp = stepper.log_probs(top).view(n, width, -1)
            vocab = logp.size(-1)
            cand = (scores.unsqueeze(-1) + logp).view(n, -1)  # promotes to the wider dtype
            cand_scores, cand_index = cand.topk(min(2 * width, cand.size(1)), dim=1)
            beam, token = cand_index // vocab, cand_index % vocab
            ends = token == stop_id if stop_id is not None else torch.zeros_like(token, dtype=torch.bool)
            finals = ends[:, :width] & cand_scores[:, :width].isfinite()
            if finals.any():
                norm = length_norm(t, alpha)
                per_prompt: dict[int, list[Hypothesis]] = {}
                for i, j in finals.nonzero().tolist():
                    lp = float(cand_scores[i, j])
                    ids = history[i, int(beam[i, j])].tolist() + [stop_id]
                    per_prompt.setdefault(active[i], []).append(Hypothesis(ids, lp, lp / norm, True))
                for b, new in per_prompt.items():
                    keep_best(b, new)
            # the best `width` candidates that go on (stable: ranks among them are kept)
            pick = torch.argsort(ends.to(torch.uint8), dim=1, stable=True)[:, :width]
            beam, token, scores = beam.gather(1, pick), token.gather(1, pick), cand_scores.gather(1, pick)
            history = torch.cat([history.gather(1, beam.unsqueeze(-1).expand(-1, -1, t - 1)), token.unsqueeze(-1)], 2)
            if t == max_tokens:
                norm = length_norm(t, alpha)
                for i, b in enumerate(active):
                    live = [(float(s), h) for s, h in zip(scores[i].tolist(), history[i].tolist()) if s > float("-inf")]
                    keep_best(b, [Hypothesis(h, s, s / norm, False) for s, h in live])
                break
            reachable = max(length_norm(t + 1, alpha), length_norm(max_tokens, alpha))
            best_live = scores[:, 0].tolist()
            keep = [i for i, b in enumerate(active) if len(found[b]) < n_best or best_live[i] / reachable > found[b][-1].score]
            if not keep:
                break
            rows = torch.arange(n, device=device).unsqueeze(1) * width + beam  # [n, width] rows of the last step
            if len(keep) < n:
                index = torch.tensor(keep, device=device)
                rows, scores, history, token = (x.index_select(0, index) for x in (rows, scores, history, token))
                active = [active[i] for i in keep]
            top, state = stepper.step(token.reshape(-1), stepper.select(state, rows.reshape(-1)))
    return found


@torch.no_grad()
def continuation_log_prob(model: LanguageModelNetwork, prompt_ids: list[int], continuation: list[int]) -> float:
    """The summed log-probability of `continuation` after `prompt_ids` (the prefix run in one pass)."""
    _check(as_stepper(model), [prompt_ids], max(1, len(continuation)))
    if not continuation:
        return 0.0
    with _eval_mode(model):
        ids = torch.tensor([prompt_ids + continuation[:-1]], dtype=torch.long, device=_device(model))
        top, _, _ = model.backbone.run_direction("forward", ids)
        logp = model.head.log_probs(top[0, len(prompt_ids) - 1 :])
        targets = torch.tensor(continuation, device=logp.device).unsqueeze(1)
        return float(logp.gather(1, targets).sum())


# ---- text in, text out -------------------------------------------------------------------
def check_decoding_options(beam: int, greedy: bool, num_samples: int) -> None:
    """The choice of greedy decoding, sampling or beam search and its result count, checked once for
    language models (`generate_texts`) and conditional models (`rnn_nlp.generate.conditional.decode_ids`)."""
    whole_number(beam, "beam")
    if not 0 < whole_number(num_samples, "num_samples") <= MAX_SAMPLES:
        raise ConfigError(f"num_samples must be in 1..{MAX_SAMPLES}, got {num_samples}")
    if beam > 1 and not greedy:
        raise ConfigError("choose beam search or sampling, not both")
    if num_samples > 1 and beam <= 1 and greedy:
        raise ConfigError("num_samples > 1 needs sampling or beam search: greedy decoding has one result")
    if beam < 0:
        raise ConfigError(f"beam width must be 0 (greedy) or positive, got {beam}")
    if beam > 1 and num_samples > beam:
        raise ConfigError(f"num_samples ({num_samples}) cannot exceed the beam width ({beam}) in beam search")


def encode_prompt(prompt: str, vocab: Vocab, tokenizer: Tokenizer) -> list[int]:
    """Prompt text -> ids, starting from <eos> (the sentence boundary); unknown words warn."""
    tokens = tokenizer(prompt) if prompt.strip() else []
    unknown = [t for t in tokens if t not in vocab]
    if unknown:
        log.warning("prompt words not in the vocabulary, read as <unk>: %s", ", ".join(unknown))
    return [vocab.eos_id] + vocab.encode(tokens)


def detokenize(vocab: Vocab, ids: list[int]) -> str:
    """Ids -> text: tokens joined by spaces (characters joined as they are for a char vocabulary)."""
    return ("" if getattr(vocab, "unit", "word") == "char" else " ").join(vocab.decode(ids))


def generate_text(model: LanguageModelNetwork, vocab: Vocab, tokenizer: Tokenizer, prompt: str, **kwargs) -> str:
    """The continuation of `prompt`, as space-joined tokens (options as in `generate_batch`)."""
    ids = generate_ids(model, encode_prompt(prompt, vocab, tokenizer), **kwargs)
    return detokenize(vocab, ids)


def generate_texts(
    model: LanguageModelNetwork,
    vocab: Vocab,
    tokenizer: Tokenizer,
    prompts: list[str],
    max_tokens: int = 20,
    beam: int = 0,
    length_penalty: float = 0.6,
    num_samples: int = 1,
    stop_at_eos: bool | None = None,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    min_tokens: int = 1,
    allow_unk: bool = False,
) -> list[list[str]]:
    """Continuations of each prompt text: per prompt, a list of `num_samples` strings.

    `beam` > 1: beam search of that width, its `num_samples` best hypotheses; otherwise greedy
    decoding (one result) or, with `greedy=False`, `num_samples` samples, all prompts and samples
    in one batch. `stop_at_eos` (default: on for beam search, off otherwise) ends each result at
    <eos>, which is then left out of the text. At least `min_tokens` ids come before <eos>, and
    `<unk>` is never produced unless `allow_unk` (a text of "<unk>"s tells a reader nothing).
    """
    check_decoding_options(beam, greedy, num_samples)
    whole_number(max_tokens, "max_tokens")
    if whole_number(min_tokens, "min_tokens") < 0:
        raise ConfigError(f"min_tokens must be >= 0, got {min_tokens}")
    stop = beam > 1 if stop_at_eos is None else stop_at_eos
    stop_id = vocab.eos_id if stop else None
    banned = (vocab.pad_id,) if allow_unk else (vocab.pad_id, vocab.unk_id)  # <pad> is never text
    model = ConstrainedStepper(as_stepper(model), banned, vocab.eos_id, min(min_tokens, max_tokens))
    encoded = [encode_prompt(p, vocab, tokenizer) for p in prompts]
    if beam > 1:
        found = beam_search(model, encoded, beam, max_tokens, length_penalty, stop_id, n_best=num_samples)
        results = [[h.ids for h in hyps] for hyps in found]
    else:
        flat = [ids for ids in encoded for _ in range(num_samples)]
        out = generate_batch(model, flat, max_tokens, greedy, temperature, top_k, top_p, stop_id, generator)
        results = [out[i * num_samples : (i + 1) * num_samples] for i in range(len(prompts))]
    trim = lambda ids: ids[:-1] if stop and ids and ids[-1] == stop_id else ids  # noqa: E731
    return [[detokenize(vocab, trim(ids)) for ids in per_prompt] for per_prompt in results]
