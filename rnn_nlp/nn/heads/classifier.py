"""Sentence / document classifier head: pooled backbone states -> dropout -> (hidden) -> labels, plus (head.ngrams)
a linear bag-of-n-grams model's scores added to those logits: one wide & deep model trained end to end."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.network import TaskNetwork
from rnn_nlp.nn.pooling import Pooling


@dataclass
class ClassifierHeadConfig:
    pooling: list[str] = field(default_factory=lambda: ["last", "max", "mean"])  # ULMFiT's concat pooling
    hidden_size: int | None = None  # one hidden layer (ReLU) before the output layer
    dropout: float = 0.2
    multi_label: bool = False  # independent sigmoids instead of one softmax
    threshold: float = 0.5  # multi-label decision threshold
    chunk_len: int | None = 200  # documents longer than this run through the backbone in chunks
    grad_tokens: int | None = 1000  # gradients only through each document's last N tokens
    # ULMFiT stage 2, accepted shorthand of `stages: [{name: lm_finetune, epochs: N}, {name: task}]`, resolved when the config is built
    lm_finetune_epochs: int = 0
    # The wide path (spaCy's TextCatEnsemble, fastText's bigrams): with n >= 1, a learned n_labels-vector per word
    # n-gram of orders 1..n (rnn_nlp.data.ngrams) seen in at least ngram_min_count training texts, summed over the
    # text's n-grams and added to the logits; ngram_dropout drops n-grams at training time (the path overfits fast)
    ngrams: int = 0
    ngram_min_count: int = 2
    ngram_vocab_size: int | None = 200000
    ngram_dropout: float = 0.2


class NgramLogits(nn.Module):
    """[B, K] n-gram ids (0: padding) -> [B, n_labels] scores: each n-gram's learned vector, summed over the text's
    n-grams and divided by the square root of their number.

    The bag is binary, so that division is the L2 normalisation TF-IDF and NBSVM-style linear models give their
    rows: the path's scale does not grow with a document's length (a long review's hundreds of n-grams would
    otherwise swamp the recurrent logits), while a text's evidence still adds up faster than a mean would let it.
    Zero-initialised: training starts from the recurrent model alone. At training time `dropout` drops whole
    n-grams (not single scores), the kept ones scaled by 1 / (1 - dropout) so that evaluation sees the same scale.
    """

    def __init__(self, n_ngrams: int, n_labels: int, dropout: float):
        super().__init__()
        self.weights = nn.Embedding(n_ngrams, n_labels, padding_idx=0)
        nn.init.zeros_(self.weights.weight)
        self.dropout = dropout

    def forward(self, ngram_ids: torch.Tensor) -> torch.Tensor:
        present = (ngram_ids != 0).unsqueeze(-1).to(self.weights.weight.dtype)  # [B, K, 1]
        count = present.sum(1).clamp(min=1.0)  # [B, 1]: the n-grams before any dropout
        kept = present
        if self.training and self.dropout > 0:
            kept = present * torch.bernoulli(torch.full_like(present, 1.0 - self.dropout)) / (1.0 - self.dropout)
        return (self.weights(ngram_ids) * kept).sum(1) / count.sqrt()


class ClassifierHead(nn.Module):
    """[B, T, D] states and mask (and with head.ngrams [B, K] n-gram ids) -> [B, n_labels] logits; sized from the
    pooling's output width and `n_ngrams`, the n-gram vocabulary's size."""

    def __init__(self, input_dim: int, n_labels: int, cfg: ClassifierHeadConfig, directions: tuple[str, ...], n_ngrams: int = 0):
        super().__init__()
        self.cfg = cfg
        self.pooling = Pooling(cfg.pooling, input_dim, directions)
        layers: list[nn.Module] = [nn.Dropout(cfg.dropout)]
        width = self.pooling.output_dim
        if cfg.hidden_size:
            layers += [nn.Linear(width, cfg.hidden_size), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = cfg.hidden_size
        layers.append(nn.Linear(width, n_labels))
        self.mlp = nn.Sequential(*layers)
        self.ngrams = NgramLogits(n_ngrams, n_labels, cfg.ngram_dropout) if cfg.ngrams else None

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None, ngram_ids: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.mlp(self.pooling(states, mask))
        if self.ngrams is None:
            return logits
        if ngram_ids is None:  # never silently the recurrent half alone
            raise ValueError("this classifier has a bag-of-n-grams path (head.ngrams): its batches need ngram_ids")
        return logits + self.ngrams(ngram_ids)


class ClassifierNetwork(TaskNetwork):
    """Backbone + ClassifierHead. A batch is {"ids", "lengths"}, "vector_rows" where the backbone has
    word vectors, "ngram_ids" [B, K] (0-padded) where the head has head.ngrams, and, for training, "labels".
    The n-gram scores are per document: a long document read in chunks adds them once, to its pooled logits.

    Labels are class indices [B] (-1 for a label the model does not know: left out of the loss),
    or a multi-hot float matrix [B, n_labels] for multi-label data.
    """

    def __init__(self, backbone: Backbone, head: ClassifierHead):
        super().__init__(backbone, head)

    def logits(
        self, ids: torch.Tensor, lengths: torch.Tensor, vector_rows: torch.Tensor | None = None, ngram_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`vector_rows` [B, T]: each token's row in the backbone's whole vectors table (-1: none), or None;
        `ngram_ids` [B, K]: each text's n-gram ids (head.ngrams), or None without that path."""
        cfg = self.head.cfg
        out = self.backbone(ids, lengths, chunk_len=cfg.chunk_len, grad_tokens=cfg.grad_tokens, vector_rows=vector_rows)
        return self.head(out.output, out.mask, ngram_ids)

    def forward(self, batch: dict) -> dict:
        logits = self.logits(batch["ids"], batch["lengths"], batch.get("vector_rows"), batch.get("ngram_ids"))
        result = {"logits": logits, "tokens": int(batch["lengths"].sum())}
        labels = batch.get("labels")
        if labels is not None:
            if self.head.cfg.multi_label:
                result["loss"] = F.binary_cross_entropy_with_logits(logits, labels)
            elif bool((labels >= 0).any()):
                result["loss"] = F.cross_entropy(logits, labels, ignore_index=-1)
            else:
                result["loss"] = logits.sum() * 0.0
        return result

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits) if self.head.cfg.multi_label else logits.softmax(-1)
