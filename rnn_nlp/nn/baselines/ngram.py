"""Count-based n-gram language models: add-delta, absolute-discounting backoff, interpolated Kneser-Ney.

Every sentence is padded with n-1 `<s>` on the left and ends with `</s>`, which is the RNN's
`<eos>`: every word and the final `</s>` are predicted, `<s>` never is. Words are ids of the same
`Vocab` the RNN LMs use (built on the same training text), so perplexities are comparable; `<s>` is
the vocabulary's `<pad>` id, which is never predicted. The predicted vocabulary V is every id but
`<pad>`, and every smoothing here gives a distribution that sums to 1 over V for any history.

Storage, in numpy, one table per order k: every distinct k-gram of the padded training text gets an
id, its key being `id of its (k-1)-gram prefix * |vocab| + last word`, so keys of any order fit an
int64 whatever n and the vocabulary size (a trie stored as sorted arrays). Look-ups are
`np.searchsorted`, vectorised over a whole test set.

Smoothings (`smoothing`):

- `add-delta`: (c(h, w) + delta) / (c(h) + delta |V|) on the n-gram counts (delta 1: Laplace).
- `backoff`: Katz-style backoff with absolute discounting (one discount D_k = n1 / (n1 + 2 n2) per
  order): a seen n-gram gets (c(h, w) - D_k) / c(h); the mass set free goes to the unseen words in
  the proportions of the (recursively backed-off) lower order, renormalised over them. The unigram
  level interpolates with the uniform distribution, so no word has probability 0.
- `kneser-ney`: interpolated Kneser-Ney; lower orders use continuation counts N1+(. g). With
  `discounts="modified"` (default) three discounts D1, D2, D3+ per order from count-of-counts
  (Chen & Goodman 1998); with `"single"` one D = n1 / (n1 + 2 n2) per order (plain interpolated KN).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.files import json_text

SMOOTHINGS = ("add-delta", "backoff", "kneser-ney")
BOS = Vocab.pad_id  # <s>: a context-only symbol, never predicted
EOS = Vocab.eos_id  # </s> is the RNN's <eos>


def _windows(sentences_ids: list[list[int]], n: int) -> np.ndarray:
    """[tokens, n]: for each predicted id, the n-1 ids before it (padded with <s>) and the id itself."""
    rows: list[list[int]] = []
    pad = [BOS] * (n - 1)
    for ids in sentences_ids:
        seq = pad + list(ids) + [EOS]
        rows.extend(seq[i : i + n] for i in range(len(seq) - n + 1))
    return np.asarray(rows, dtype=np.int64).reshape(-1, n)


def _discounts(counts: np.ndarray, modified: bool) -> tuple[float, float, float]:
    """D1, D2, D3+ from the count-of-counts n1..n4 (Chen & Goodman 1998), or one D = n1 / (n1 + 2 n2).

    Where a tiny corpus leaves a formula undefined, 0.5; every D_r is kept in (0, r].
    """
    n = [int(np.sum(counts == r)) for r in range(1, 5)]
    if n[0] == 0 or n[1] == 0:
        return (0.5, 0.5, 0.5)
    y = n[0] / (n[0] + 2 * n[1])
    if not modified:
        return (y, y, y)
    d1 = 1 - 2 * y * n[1] / n[0]
    d2 = 2 - 3 * y * n[2] / n[1]
    d3 = 3 - 4 * y * n[3] / n[2] if n[2] else d2
    return tuple(float(min(max(d, 1e-3), r)) for d, r in zip((d1, d2, d3), (1, 2, 3)))


class NGramLM:
    """An n-gram LM over a `Vocab`: fit on tokenized sentences, then probabilities, perplexity, sampling."""

    def __init__(self, n: int = 3, smoothing: str = "kneser-ney", delta: float = 1.0, discounts: str = "modified"):
        if not isinstance(n, int) or n < 1:
            raise ConfigError(f"n must be an integer >= 1, got {n!r}")
        if smoothing not in SMOOTHINGS:
            raise ConfigError(f"smoothing must be one of {', '.join(SMOOTHINGS)}, got {smoothing!r}")
        if discounts not in ("modified", "single"):
            raise ConfigError(f"discounts must be 'modified' or 'single', got {discounts!r}")
        if smoothing == "add-delta" and not delta > 0:
            raise ConfigError(f"delta must be positive, got {delta}")
        self.n, self.smoothing, self.delta, self.discount_kind = n, smoothing, float(delta), discounts
        self.vocab: Vocab | None = None
        # per order k = 1..n (list index k-1): sorted keys of every k-gram of the padded text,
        # model counts (raw, or continuation counts for KN's lower orders) and raw counts
        self.keys: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.raw: list[np.ndarray] = []
        # per order k: statistics of each history (a (k-1)-gram id; one entry for k = 1)
        self.total: list[np.ndarray] = []  # sum of counts after the history
        self.gamma: list[np.ndarray] = []  # KN: weight of the lower order; backoff: alpha
        self.undiscounted: list[np.ndarray] = []  # backoff: histories followed by every word (no mass to free)
        self.discounts: list[tuple[float, float, float]] = []

    # ---- ids -------------------------------------------------------------------------------
    @property
    def predicted_size(self) -> int:
        """|V|: every vocabulary id but <pad> (used as <s>) can be predicted."""
        return len(self.vocab) - 1

    def _lookup(self, k: int, prefix: np.ndarray, word: np.ndarray) -> np.ndarray:
        """Ids in table k of the k-grams (prefix id, word); -1 where unseen or where the prefix is -1."""
        table = self.keys[k - 1]
        keys = prefix * len(self.vocab) + word
        pos = np.minimum(np.searchsorted(table, keys), len(table) - 1)
        return np.where((table[pos] == keys) & (prefix >= 0), pos, -1)

    def _gram_ids(self, cols: np.ndarray) -> np.ndarray:
        """Ids of the j-grams cols [m, j] in table j (0: the empty history), -1 where unseen."""
        ids = np.zeros(len(cols), dtype=np.int64)
        for j in range(cols.shape[1]):
            ids = self._lookup(j + 1, ids, cols[:, j])
        return ids

    # ---- fitting ---------------------------------------------------------------------------
    def fit(self, train_sentences: list[list[str]], valid_sentences=None, vocab: Vocab | None = None) -> NGramLM:
        """Count the n-grams of the training sentences; `vocab` defaults to one built on them (as LMTask does).

        `valid_sentences` is accepted for the common interface and unused: counting has nothing to tune.
        """
        self.vocab = vocab if vocab is not None else Vocab.build(train_sentences)
        win = _windows([self.vocab.encode(s) for s in train_sentences], self.n)
        if len(win) == 0:
            raise ConfigError("the n-gram LM needs at least one training sentence")
        size, n = len(self.vocab), self.n
        self.keys, self.counts, self.raw = [], [], []
        # ids[a] = id of the j-gram win[:, a : a + j]; every j-gram of the padded text is in some window
        ids = [np.zeros(len(win), dtype=np.int64) for _ in range(n)]
        ending: list[np.ndarray] = []  # per k: id of the k-gram ending at each predicted position
        for j in range(1, n + 1):
            starts = range(n - j + 1)
            keys = np.concatenate([ids[a] * size + win[:, a + j - 1] for a in starts])
            table = np.unique(keys)
            self.keys.append(table)
            for a in starts:
                ids[a] = np.searchsorted(table, ids[a] * size + win[:, a + j - 1])
            ending.append(ids[n - j].copy())
            self.raw.append(np.bincount(ending[-1], minlength=len(table)).astype(np.int64))
        for k in range(1, n + 1):
            counts = self.raw[k - 1]
            if self.smoothing == "kneser-ney" and k < n:
                # continuation count: distinct one-word-longer left extensions of each k-gram
                _, first = np.unique(ending[k], return_index=True)
                counts = np.bincount(ending[k - 1][first], minlength=len(self.keys[k - 1])).astype(np.int64)
            self.counts.append(counts)
        self._history_statistics()
        return self

    def _history_statistics(self) -> None:
        """Totals, discounts and lower-order weights per history, order by order (backoff needs lower orders first)."""
        size, nv = len(self.vocab), self.predicted_size
        self.total, self.gamma, self.undiscounted, self.discounts = [], [], [], []
        for k in range(1, self.n + 1):
            counts = self.counts[k - 1]
            seen = counts > 0
            hist = self.keys[k - 1] // size  # the (k-1)-gram prefix id (0 for unigrams)
            n_hist = 1 if k == 1 else len(self.keys[k - 2])
            total = np.bincount(hist, weights=counts, minlength=n_hist)
            disc = _discounts(counts[seen], self.discount_kind == "modified" and self.smoothing == "kneser-ney")
            self.discounts.append(disc)
            n1 = np.bincount(hist, weights=counts == 1, minlength=n_hist)
            n2 = np.bincount(hist, weights=counts == 2, minlength=n_hist)
            n3 = np.bincount(hist, weights=counts >= 3, minlength=n_hist)
            freed = disc[0] * n1 + disc[1] * n2 + disc[2] * n3
            full = (n1 + n2 + n3) >= nv
            with np.errstate(divide="ignore", invalid="ignore"):
                gamma = np.where(total > 0, freed / total, 0.0)
            if self.smoothing == "backoff" and k > 1:
                # alpha(h) = freed mass / lower-order mass of the words not seen after h
                rows = np.nonzero(seen)[0]
                lower = self._prob_ids(self._tokens_of(k, rows)[:, 1:], k - 1)
                covered = np.bincount(hist[rows], weights=lower, minlength=n_hist)
                with np.errstate(divide="ignore", invalid="ignore"):
                    gamma = np.where((total > 0) & ~full, gamma / np.maximum(1.0 - covered, 1e-300), 0.0)
            self.total.append(total)
            self.gamma.append(gamma)
            self.undiscounted.append(full)

    def _tokens_of(self, k: int, rows: np.ndarray) -> np.ndarray:
        """The word ids [len(rows), k] of entries `rows` of table k (walking the prefix ids back)."""
        size = len(self.vocab)
        out = np.zeros((len(rows), k), dtype=np.int64)
        ids = rows
        for j in range(k, 0, -1):
            key = self.keys[j - 1][ids]
            out[:, j - 1] = key % size
            ids = key // size
        return out

    # ---- probabilities ---------------------------------------------------------------------
    def _discount(self, k: int, c: np.ndarray) -> np.ndarray:
        d1, d2, d3 = self.discounts[k - 1]
        return np.select([c == 0, c == 1, c == 2], [0.0, d1, d2], d3)

    def _prob_ids(self, win: np.ndarray, order: int | None = None) -> np.ndarray:
        """P(last id | the ids before it) for windows [m, >= order], using the model up to `order`."""
        order = self.n if order is None else order
        win = win[:, -order:] if order else win[:, :0]
        m, nv = len(win), self.predicted_size
        p = np.full(m, 1.0 / nv)
        first = order if self.smoothing == "add-delta" else 1
        for k in range(first, order + 1):
            h = self._gram_ids(win[:, order - k : order - 1])
            g = self._lookup(k, h, win[:, -1])
            c = np.where(g >= 0, self.counts[k - 1][np.maximum(g, 0)], 0).astype(np.float64)
            hs = np.maximum(h, 0)
            tot = np.where(h >= 0, self.total[k - 1][hs], 0.0)
            known = tot > 0
            safe = np.where(known, tot, 1.0)
            if self.smoothing == "add-delta":
                p = (c + self.delta) / (tot + self.delta * nv)
            elif self.smoothing == "kneser-ney" or k == 1:
                p = np.where(known, np.maximum(c - self._discount(k, c), 0.0) / safe + self.gamma[k - 1][hs] * p, p)
            else:  # backoff
                full = self.undiscounted[k - 1][hs]
                seen_p = (c - np.where(full, 0.0, self._discount(k, c))) / safe
                p = np.where(known, np.where(c > 0, seen_p, self.gamma[k - 1][hs] * p), p)
        return np.where(win[:, -1] == BOS, 0.0, p) if order else p

    def distribution(self, history: list[str]) -> np.ndarray:
        """P(w | history) for every vocabulary id w (0 for <pad>); the history is padded with <s>."""
        ctx = ([BOS] * (self.n - 1) + self.vocab.encode(history))[-(self.n - 1) :] if self.n > 1 else []
        win = np.empty((len(self.vocab), self.n), dtype=np.int64)
        win[:, : self.n - 1] = ctx
        win[:, -1] = np.arange(len(self.vocab))
        return self._prob_ids(win)

    def prob(self, history: list[str], word: str) -> float:
        """P(word | history); `</s>` or `<eos>` names the end of the sentence."""
        wid = EOS if word == "</s>" else self.vocab.encode([word])[0]
        return float(self.distribution(history)[wid])

    def log_probs(self, sentences: list[list[str]]) -> np.ndarray:
        """Natural-log probability of every predicted token (each word and each sentence's </s>)."""
        win = _windows([self.vocab.encode(s) for s in sentences], self.n)
        return np.log(self._prob_ids(win))

    def perplexity(self, sentences: list[list[str]]) -> float:
        """exp of the mean negative log-probability over every word and </s>."""
        lp = self.log_probs(sentences)
        if len(lp) == 0:
            raise ConfigError("perplexity needs at least one sentence")
        return float(math.exp(-lp.mean()))

    # ---- generation ------------------------------------------------------------------------
    def generate(
        self, prompt_words: list[str], max_tokens: int = 30, temperature: float = 1.0, seed: int = 0, stop_at_eos: bool = False
    ) -> list[str]:
        """Sample a continuation of the prompt: p ** (1 / temperature), renormalised; after </s> (written
        `<eos>`) a new sentence starts from <s> unless `stop_at_eos`."""
        if not temperature > 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        rng = np.random.default_rng(seed)
        history, out = list(prompt_words), []
        for _ in range(max_tokens):
            logp = np.log(np.maximum(self.distribution(history), 1e-300)) / temperature
            logp[BOS] = -np.inf
            p = np.exp(logp - logp.max())
            wid = int(rng.choice(len(p), p=p / p.sum()))
            out.append(self.vocab.itos[wid])
            if wid == EOS:
                if stop_at_eos:
                    break
                history = []
            else:
                history.append(self.vocab.itos[wid])
        return out

    # ---- size, sparsity, saving ------------------------------------------------------------
    def size(self) -> dict:
        """Stored n-grams and bytes per order (the storage cost of a larger n), and the totals."""
        orders = []
        for k in range(1, self.n + 1):
            arrays = [self.keys[k - 1], self.counts[k - 1], self.raw[k - 1], self.total[k - 1], self.gamma[k - 1]]
            orders.append(
                {
                    "order": k,
                    "ngrams": int(np.sum(self.raw[k - 1] > 0)),
                    "histories": int(np.sum(self.total[k - 1] > 0)),
                    "bytes": int(sum(a.nbytes for a in arrays)),
                    "dense_entries": float(self.predicted_size) ** k,
                }
            )
        return {
            "kind": f"{self.n}-gram {self.smoothing}",
            "entries": sum(o["ngrams"] for o in orders),
            "bytes": sum(o["bytes"] for o in orders),
            "orders": orders,
        }

    def unseen_fraction(self, sentences: list[list[str]]) -> list[float]:
        """Per order k, the share of the predicted tokens whose k-gram never occurs in the training text."""
        win = _windows([self.vocab.encode(s) for s in sentences], self.n)
        out = []
        for k in range(1, self.n + 1):
            g = self._gram_ids(win[:, self.n - k :])
            raw = np.where(g >= 0, self.raw[k - 1][np.maximum(g, 0)], 0)
            out.append(float(np.mean(raw == 0)))
        return out

    def save(self, folder: str | Path) -> None:
        """Write `ngram.json` (settings, vocabulary, discounts) and `ngram.npz` (the tables; no pickle)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "n": self.n,
            "smoothing": self.smoothing,
            "delta": self.delta,
            "discounts": self.discount_kind,
            "discount_values": self.discounts,
            "vocab": self.vocab.to_json(),
        }
        (folder / "ngram.json").write_text(json_text(meta), encoding="utf-8")
        arrays = {}
        for name in ("keys", "counts", "raw", "total", "gamma", "undiscounted"):
            for k, a in enumerate(getattr(self, name), start=1):
                arrays[f"{name}_{k}"] = a
        np.savez_compressed(folder / "ngram.npz", **arrays)

    @classmethod
    def load(cls, folder: str | Path) -> NGramLM:
        """Read a model written by `save`."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "ngram.json").read_text(encoding="utf-8"))
            model = cls(meta["n"], meta["smoothing"], meta["delta"], meta["discounts"])
            model.vocab = Vocab(meta["vocab"]["itos"], meta["vocab"].get("counts"), meta["vocab"].get("unit", "word"))
            model.discounts = [tuple(d) for d in meta["discount_values"]]
            with np.load(folder / "ngram.npz", allow_pickle=False) as data:
                for name in ("keys", "counts", "raw", "total", "gamma", "undiscounted"):
                    setattr(model, name, [data[f"{name}_{k}"] for k in range(1, model.n + 1)])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{folder}: not a readable n-gram model ({exc})") from None
        return model
