"""The decoding that stays outside the ONNX graph, in numpy: a linear-chain CRF's Viterbi and the softmax.

The same computation as `rnn_nlp.nn.crf.CRF.viterbi` for whole sentences: start + emissions at the first
token, then for each next token the best previous tag under the (masked) transitions, end scores last, and
the path read back.
"""

from __future__ import annotations

import numpy as np


def viterbi(emissions: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray) -> list[int]:
    """The best tag path of one sentence: emissions [T, K], start [K], transitions [K, K] (from row to column), end [K]."""
    if emissions.shape[0] == 0:
        return []
    score = start + emissions[0]
    history = []
    for t in range(1, emissions.shape[0]):
        candidates = score[:, None] + transitions  # [previous, next]
        best_previous = candidates.argmax(0)
        history.append(best_previous)
        score = candidates[best_previous, np.arange(candidates.shape[1])] + emissions[t]
    last = int((score + end).argmax())
    path = [last]
    for best_previous in reversed(history):
        last = int(best_previous[last])
        path.append(last)
    return path[::-1]


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float32."""
    shifted = x - x.max(-1, keepdims=True)
    e = np.exp(shifted)
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)
