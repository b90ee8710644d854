"""Text vectors from any trained run with a backbone: questions through a QA run's question encoder, or
sentences through a classifier's (or any run's backbone with a chosen) pooling; cosine retrieval over them.

    vectors = encode_texts("runs/qa-cloze", ["who won the cup ?", "where is the final ?"])
    ranked = most_similar(vectors[:1], vectors, k=5)   # [(index, cosine), ...] per query
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from rnn_nlp.data.batching import pad_batch
from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.pooling import Pooling

log = logging.getLogger(__name__)

DEFAULT_POOLING = ("mean", "max")  # for runs that have no pooling of their own (language models, taggers)


def _token_ids(task, texts: list[str]) -> list[list[int]]:
    """Each text's token ids, tokenized as the run's task reads text."""
    if hasattr(task, "question_ids"):  # QA: the question's tokenizer and word normalisation
        return [task.question_ids(t) for t in texts]
    vocab = task.token_vocab()
    if hasattr(task, "tokenizer"):
        return [vocab.encode(tokens) for tokens in task.tokenizer.pipe(texts)]
    from rnn_nlp.data.tokenize import Tokenizer  # taggers read words: spaCy's tokens, normalised as the tagger's

    return [vocab.encode(task.word(t) for t in tokens) for tokens in Tokenizer("spacy").pipe(texts)]


def run_pooling(model, kinds: Optional[list[str]]) -> torch.nn.Module:
    """The run's own pooling (a QA run's question encoder, a classifier's pooling), or a new one of `kinds`."""
    head = getattr(model, "head", None)
    own = getattr(head, "question", None) or getattr(head, "pooling", None)
    if kinds is None and own is not None:
        return own
    kinds = list(kinds or DEFAULT_POOLING)
    if own is not None and list(getattr(own, "kinds", getattr(getattr(own, "pooling", None), "kinds", ()))) == kinds:
        return own
    if "attention" in kinds:
        raise ConfigError("pooling 'attention' needs trained weights: only a run trained with attention pooling has them")
    backbone = model.backbone
    return Pooling(kinds, backbone.output_dim, backbone.directions)


@torch.no_grad()
def encode_with(model, task, texts: list[str], pooling: Optional[list[str]] = None, batch_size: int = 64) -> np.ndarray:
    """[len(texts), dim] float32 vectors from a loaded run; a text with no tokens reads as <unk> (logged)."""
    model.eval()
    pool = run_pooling(model, pooling)
    ids = _token_ids(task, texts)
    empty = [i for i, x in enumerate(ids) if not x]
    if empty:
        log.warning("%d texts have no tokens; each is encoded as a single <unk>", len(empty))
    unk, pad = task.token_vocab().unk_id, task.token_vocab().pad_id
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(ids), batch_size):
        chunk = [x or [unk] for x in ids[start : start + batch_size]]
        tokens, lengths = pad_batch(chunk, pad)
        states = model.backbone(tokens.to(device), lengths)
        out.append(pool(states.output, states.mask).float().cpu())
    if not out:
        return np.zeros((0, pool.output_dim), dtype=np.float32)
    return torch.cat(out).numpy().astype(np.float32)


def encode_texts(run_dir: str | Path, texts: list[str], pooling: Optional[list[str]] = None, device: str = "cpu",
                 batch_size: int = 64) -> np.ndarray:
    """Vectors of `texts` from the run in `run_dir` (any task with a backbone); see `encode_with`."""
    from rnn_nlp.runs import load_run

    _, task, model = load_run(run_dir, device)
    return encode_with(model, task, texts, pooling, batch_size)


def most_similar(queries: np.ndarray, vectors: np.ndarray, k: int = 5) -> list[list[tuple[int, float]]]:
    """For each query vector, the k rows of `vectors` of highest cosine similarity, best first."""
    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    sims = unit(queries) @ unit(vectors).T
    order = np.argsort(-sims, axis=1)[:, :k]
    return [[(int(j), float(sims[q, j])) for j in row] for q, row in enumerate(order)]
