"""Text generation from a forward language model: greedy decoding and sampling.

The hidden state is carried from step to step: each new token is fed alone, the prefix is
never re-run.
"""

from __future__ import annotations

import logging
from typing import Optional

import torch

from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.heads.lm import LanguageModel

log = logging.getLogger(__name__)
MAX_TOKENS = 10_000


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


@torch.no_grad()
def generate_ids(
    model: LanguageModel,
    prompt_ids: list[int],
    max_tokens: int = 20,
    greedy: bool = True,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    stop_id: Optional[int] = None,
    generator: Optional[torch.Generator] = None,
) -> list[int]:
    """Continue `prompt_ids` (at least one id) with up to `max_tokens` ids from the forward LM."""
    if "forward" not in model.backbone.directions:
        raise ConfigError("generation needs a forward language model (backbone.direction forward or both)")
    if not 0 < max_tokens <= MAX_TOKENS:
        raise ConfigError(f"max_tokens must be in 1..{MAX_TOKENS}, got {max_tokens}")
    if temperature <= 0:
        raise ConfigError(f"temperature must be positive, got {temperature}")
    model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    top, _, state = model.backbone.run_direction("forward", ids)
    out: list[int] = []
    for _ in range(max_tokens):
        logp = model.head.log_probs(top[:, -1])
        if greedy:
            nxt = logp.argmax(-1)
        else:
            logp = _filter(logp / temperature, top_k, top_p)
            nxt = torch.multinomial(logp.softmax(-1), 1, generator=generator).squeeze(-1)
        token = int(nxt)
        out.append(token)
        if stop_id is not None and token == stop_id:
            break
        top, _, state = model.backbone.run_direction("forward", nxt.view(1, 1), state)
    return out


def encode_prompt(prompt: str, vocab: Vocab, tokenizer: Tokenizer) -> list[int]:
    """Prompt text -> ids, starting from <eos> (the sentence boundary); unknown words warn."""
    tokens = tokenizer(prompt) if prompt.strip() else []
    unknown = [t for t in tokens if t not in vocab]
    if unknown:
        log.warning("prompt words not in the vocabulary, read as <unk>: %s", ", ".join(unknown))
    return [vocab.eos_id] + vocab.encode(tokens)


def generate_text(model: LanguageModel, vocab: Vocab, tokenizer: Tokenizer, prompt: str, **kwargs) -> str:
    """The continuation of `prompt`, as space-joined tokens."""
    ids = generate_ids(model, encode_prompt(prompt, vocab, tokenizer), **kwargs)
    return " ".join(vocab.decode(ids))
