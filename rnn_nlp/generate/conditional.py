"""Source texts in, target texts out: a trained Seq2SeqNetwork decoded with rnn_nlp.generate.

Greedy decoding, sampling (temperature, top-k, top-p) or beam search with GNMT length
normalization, batched: sources are sorted by length and decoded `batch_size` at a time (the
order of the results is that of the sources). Every output stops at <eos>, which is left out.
"""

from __future__ import annotations

import logging
from typing import cast

import torch

from rnn_nlp.data.detokenize import detokenize_words
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError
from rnn_nlp.generate.decoding import beam_search, check_decoding_options, generate_batch
from rnn_nlp.generate.steppers import ConstrainedStepper, Stepper
from rnn_nlp.nn.heads.seq2seq import Seq2SeqNetwork, Seq2SeqStepper

log = logging.getLogger(__name__)


def encode_sources(sources: list[str], vocab: Vocab, tokenizer: Tokenizer, max_tokens: int | None) -> list[list[int]]:
    """Token ids per source, cut to `max_tokens` (with a warning giving how many were cut).

    A source with no tokens is read as a lone <unk>, so that it still gets an output.
    """
    out, cut = [], 0
    for tokens in tokenizer.pipe(sources):
        if max_tokens and len(tokens) > max_tokens:
            tokens = tokens[:max_tokens]
            cut += 1
        out.append(vocab.encode(tokens) or [vocab.unk_id])
    if cut:
        log.warning(
            "%d source(s) longer than %d tokens (the most this model was trained on) were cut to their first %d",
            cut,
            max_tokens,
            max_tokens,
        )
    return out


def warn_unknown_words(texts: list[str], vocab: Vocab, tokenizer: Tokenizer, what: str) -> None:
    """Log the words of `texts` the vocabulary lacks (they are read as <unk>) and the texts with no words."""
    unknown: dict[str, None] = {}
    empty = []
    for i, tokens in enumerate(tokenizer.pipe(texts)):
        if not tokens and what == "source":
            empty.append(i + 1)
        unknown.update((t, None) for t in tokens if t not in vocab)
    if unknown:
        shown = list(unknown)[:20]
        more = f" (and {len(unknown) - 20} more)" if len(unknown) > 20 else ""
        log.warning("%s words not in the vocabulary, read as <unk>: %s%s", what, ", ".join(shown), more)
    if empty:
        log.warning("%d empty source(s) (number %s), each read as a lone <unk>", len(empty), ", ".join(map(str, empty[:20])))


def decode_ids(
    model: Seq2SeqNetwork,
    sources_ids: list[list[int]],
    max_tokens: int = 100,
    beam: int = 1,
    length_penalty: float = 0.6,
    num_samples: int = 1,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    prefix: list[int] | None = None,
    batch_size: int = 32,
    generator: torch.Generator | None = None,
) -> list[list[list[int]]]:
    """Per source, `num_samples` target id lists (beam: the n best; sampling: that many samples), <eos> cut."""
    check_decoding_options(beam, greedy, num_samples)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    eos = Vocab.eos_id
    prompt = [eos] + list(prefix or [])
    order = sorted(range(len(sources_ids)), key=lambda i: len(sources_ids[i]))
    results: list[list[list[int]]] = [[] for _ in sources_ids]
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        if beam > 1:
            stepper = Seq2SeqStepper(model, [sources_ids[i] for i in rows])
            found = beam_search(stepper, [prompt] * len(rows), beam, max_tokens, length_penalty, eos, n_best=num_samples)
            for i, hyps in zip(rows, found):
                results[i] = [h.ids for h in hyps]
        else:
            flat = [i for i in rows for _ in range(num_samples)]
            # <pad> is never output, nor <unk> when sampling (a high temperature would otherwise draw them
            # from the flattened tail); greedy decoding keeps <unk> where the model predicts an unknown word
            banned = (Vocab.pad_id,) if greedy else (Vocab.pad_id, Vocab.unk_id)
            constrained = ConstrainedStepper(cast(Stepper, Seq2SeqStepper(model, [sources_ids[i] for i in flat])), banned)
            out = generate_batch(constrained, [prompt] * len(flat), max_tokens, greedy, temperature, top_k, top_p, eos, generator)
            for k, i in enumerate(flat):
                results[i].append(out[k])
    return [[ids[:-1] if ids and ids[-1] == eos else ids for ids in per] for per in results]


def translate_texts(
    model: Seq2SeqNetwork,
    source_vocab: Vocab,
    target_vocab: Vocab,
    tokenizer: Tokenizer,
    sources: list[str],
    max_source_tokens: int | None = None,
    prefix: str = "",
    **kwargs,
) -> list[list[str]]:
    """Per source text, its `num_samples` outputs as detokenized text (options as in `decode_ids`)."""
    ids = encode_sources(sources, source_vocab, tokenizer, max_source_tokens)
    prefix_ids = target_vocab.encode(tokenizer(prefix)) if prefix.strip() else None
    found = decode_ids(model, ids, prefix=prefix_ids, **kwargs)
    head = target_vocab.decode(prefix_ids or [])
    return [[detokenize_words(head + target_vocab.decode(out)) for out in per] for per in found]
