"""Text vectors from any trained run with a backbone, and cosine retrieval over them.

    vectors = encode_texts("runs/qa-cloze", ["who won the cup ?", "where is the final ?"])
    ranked = most_similar(vectors[:1], vectors, k=5)   # [(index, cosine), ...] per query

`encode_texts` is `rnn_nlp.load(run).encode(texts)`: a QA run's question encoder, a classifier's
pooling, or (LMs, taggers) mean and max pooling of the backbone's states.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnn_nlp.api import load


def encode_texts(
    run_dir: str | Path, texts: list[str], pooling: list[str] | None = None, device: str = "cpu", batch_size: int = 64
) -> np.ndarray:
    """[len(texts), dim] float32 vectors of `texts` from the run in `run_dir` (see `Model.encode`)."""
    return load(run_dir, device).encode(texts, pooling, batch_size)


def most_similar(queries: np.ndarray, vectors: np.ndarray, k: int = 5) -> list[list[tuple[int, float]]]:
    """For each query vector, the k rows of `vectors` of highest cosine similarity, best first."""

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    sims = unit(queries) @ unit(vectors).T
    order = np.argsort(-sims, axis=1)[:, :k]
    return [[(int(j), float(sims[q, j])) for j in row] for q, row in enumerate(order)]
