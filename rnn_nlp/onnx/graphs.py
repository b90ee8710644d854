"""The networks as ONNX-friendly modules: padded inputs and a lengths input, no PackedSequence.

A recurrent layer reading left to right over a left-aligned padded batch is exact at every real position:
the padding comes after. Each backward direction reads each sentence reversed within its own length
(`reverse_padded`, padding left at the end), so it too sees its real tokens only, and the result equals
packing's, sentence by sentence. The weights are copied into plain unidirectional torch RNNs (a weight-dropped
layer's raw matrices, a bidirectional layer's two halves), so every exporter sees the fused LSTM/GRU/RNN op
with its weights as constants: onnxruntime's int8 quantizer turns that LSTM into DynamicQuantizeLSTM.

    TaggerGraph(ids [B,T] int64, lengths [B] int64[, chars [B,T,C] int64][, oov_vectors, oov]) -> emissions [B,T,K] float32
    ClassifierGraph(ids [B,T] int64, lengths [B] int64, pool [B,T,3] float32[, oov_vectors, oov][, ngram_ids, ngram_scale])
        -> probabilities [B,L] float32

(An exporter leaves out an input nothing reads: lengths, where there is no backward direction and no chars.)

A network with pretrained vectors (backbone.vectors) takes two more inputs: oov_vectors [B,T,dim] float32 and
oov [B,T] bool, True where a token is <unk> but the vectors table knows it; the embedding reads that vector
in place of <unk>'s, as the PyTorch model does with the table it memory-maps (VectorEmbedding.combine). The
table itself (400k rows for GloVe) stays out of the graph: the predictor reads the rows from it. The
vocabulary's own rows are one table in the graph, the trainable embedding and the vectors summed at export
(FoldedEmbedding): one gather instead of two and an addition.

A classifier pools with weights the predictor computes in numpy (pool: rnn_nlp.inference.pooling), and with a
bag-of-n-grams path (head.ngrams) takes ngram_ids [B,K] int64 (0 pads), each text's n-gram ids, and ngram_scale
[B,1] float32, which the predictor computes with rnn_nlp.data.ngrams as the PyTorch task does. A graph exported
before pool existed takes lengths instead and derives its masks itself; the predictor feeds what a graph takes.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from rnn_nlp.errors import ConfigError
from rnn_nlp.inference.pooling import LAST, MASK, MEAN
from rnn_nlp.nn.backbone import Backbone, reverse_padded
from rnn_nlp.nn.embedders.word_vectors import VectorEmbedding
from rnn_nlp.nn.heads.classifier import ClassifierHead, ClassifierNetwork
from rnn_nlp.nn.heads.tagger import CharEncoder, TaggerNetwork
from rnn_nlp.nn.pooling import Pooling
from rnn_nlp.nn.regularization import WeightDrop


def plain_rnn(layer: nn.Module, suffix: str = "") -> nn.RNNBase:
    """A unidirectional, batch-first copy of one direction (`suffix` "" or "_reverse") of a one-layer torch RNN."""
    source = layer.module if isinstance(layer, WeightDrop) else layer
    assert isinstance(source, nn.RNNBase) and source.num_layers == 1
    kwargs: dict = {"nonlinearity": source.nonlinearity} if isinstance(source, nn.RNN) else {}
    kind: Any = type(source)
    copy: nn.RNNBase = kind(source.input_size, source.hidden_size, num_layers=1, batch_first=True, bias=source.bias, **kwargs)
    state = {}
    for name in copy.state_dict():
        own = name + suffix
        value = getattr(layer, f"{own}_raw", None) if isinstance(layer, WeightDrop) else None
        state[name] = (value if value is not None else getattr(source, own)).detach().clone()
    copy.load_state_dict(state)
    return copy.eval()


def run_padded(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor, backward: bool) -> torch.Tensor:
    """[B, T, H] outputs of `rnn` over a padded batch, exact at real positions; `backward` reads each sentence reversed."""
    if backward:
        return reverse_padded(rnn(reverse_padded(x, lengths))[0], lengths)
    return rnn(x)[0]


def joined(parts: list[torch.Tensor]) -> torch.Tensor:
    """`parts` concatenated on their last axis; a single part as it is (an exporter would write a Concat of one)."""
    return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]


class FoldedEmbedding(nn.Module):
    """The trainable embedding and the vocabulary's pretrained vectors as one table: VectorEmbedding.combine's
    sum (its frozen mode's zeroed rows and its projection included) computed once for every id at export, so that
    the graph gathers one table, not two, and adds nothing. A word outside the vocabulary that the vectors know
    (oov) reads its vector alone, projected, as combine reads it."""

    def __init__(self, embedding: nn.Embedding, vectors: VectorEmbedding):
        super().__init__()
        with torch.no_grad():
            ids = torch.arange(embedding.num_embeddings)
            table = vectors.combine(ids.unsqueeze(0), embedding(ids).unsqueeze(0)).squeeze(0)
        self.table = nn.Embedding.from_pretrained(table.detach().clone(), freeze=True)
        self.projection = vectors.projection

    def forward(self, ids: torch.Tensor, oov_vectors: torch.Tensor | None = None, oov: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.table(ids)
        if oov is None or oov_vectors is None:
            return emb
        outside = self.projection(oov_vectors) if self.projection is not None else oov_vectors
        return torch.where(oov.unsqueeze(-1), outside, emb)


class PaddedBackbone(nn.Module):
    """The backbone's eval-mode forward over padded input: [B, T] ids, [B] lengths -> [B, T, output_dim] top states."""

    def __init__(self, backbone: Backbone):
        super().__init__()
        self.backbone = backbone
        self.folded = FoldedEmbedding(backbone.embedding, backbone.vectors) if backbone.vectors is not None else None
        self.directions = backbone.directions
        self.residual = backbone.cfg.residual
        self.stacks = nn.ModuleList(nn.ModuleList(plain_rnn(layer) for layer in backbone.stack(d).layers) for d in self.directions)

    def forward(
        self, ids: torch.Tensor, lengths: torch.Tensor, oov_vectors: torch.Tensor | None = None, oov: torch.Tensor | None = None
    ) -> torch.Tensor:
        emb = self.backbone.embedding(ids) if self.folded is None else self.folded(ids, oov_vectors, oov)
        tops = []
        for direction, layers in zip(self.directions, self.stacks):
            x = emb
            rnns: list[Any] = list(cast(nn.ModuleList, layers))
            for i, rnn in enumerate(rnns):
                out = run_padded(rnn, x, lengths, direction == "backward")
                if self.residual and i > 0 and out.size(-1) == x.size(-1):
                    out = out + x
                x = out
            tops.append(x)
        return joined(tops)


class PaddedChars(nn.Module):
    """CharEncoder over every token's characters, padding tokens included (their features zeroed after)."""

    def __init__(self, chars: CharEncoder):
        super().__init__()
        self.kind, self.embedding, self.output_dim = chars.kind, chars.embedding, chars.output_dim
        if self.kind == "cnn":
            self.conv = chars.conv
        else:
            self.fwd, self.bwd = plain_rnn(chars.rnn), plain_rnn(chars.rnn, "_reverse")

    def forward(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, steps, width = chars.shape
        words = chars.reshape(batch * steps, width)
        lengths = (words != 0).sum(1).clamp(min=1)
        emb = self.embedding(words)
        if self.kind == "cnn":
            conv = self.conv(emb.transpose(1, 2)).transpose(1, 2)
            pad = torch.arange(width, device=words.device).unsqueeze(0) >= lengths.unsqueeze(1)
            feats = conv.masked_fill(pad.unsqueeze(2), float("-inf")).max(1).values
        else:
            last = (lengths - 1).view(-1, 1, 1)
            fwd = run_padded(self.fwd, emb, lengths, False)
            bwd = reverse_padded(self.bwd(reverse_padded(emb, lengths))[0], lengths)
            # packing's final states: the forward one at the last character, the backward one at the first
            feats = torch.cat([fwd.gather(1, last.expand(-1, 1, fwd.size(2))).squeeze(1), bwd[:, 0]], dim=-1)
        return feats.reshape(batch, steps, self.output_dim) * mask.unsqueeze(-1).to(feats.dtype)


VECTOR_INPUTS = ["oov_vectors", "oov"]


def vector_inputs(backbone: Backbone) -> list[str]:
    """The graph inputs of words outside the vocabulary that the vectors know: none without backbone.vectors."""
    return list(VECTOR_INPUTS) if backbone.vectors is not None else []


def _mask(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return torch.arange(ids.size(1), device=ids.device).unsqueeze(0) < lengths.unsqueeze(1)


class TaggerGraph(nn.Module):
    """A TaggerNetwork's emission scores; the CRF's Viterbi (or the argmax) runs outside, in numpy."""

    def __init__(self, network: TaggerNetwork):
        super().__init__()
        head = network.head
        if head.strings is not None:
            raise ConfigError("export --onnx: a tagger with string embeddings (a character LM's states) cannot be exported to ONNX yet")
        self.backbone = PaddedBackbone(network.backbone)
        self.chars = PaddedChars(head.chars) if head.chars is not None else None
        self.encoder: nn.ModuleList | None = None  # a fresh BiLSTM's two directions, each a plain LSTM
        if head.encoder is not None:
            self.encoder = nn.ModuleList([plain_rnn(head.encoder), plain_rnn(head.encoder, "_reverse")])
        self.scorer = head.scorer
        self.inputs = ["ids", "lengths", *(["chars"] if self.chars is not None else []), *vector_inputs(network.backbone)]

    @property
    def uses_chars(self) -> bool:
        return self.chars is not None

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The graph's inputs, in the order of `self.inputs` (which of chars, oov_vectors and oov it takes varies)."""
        named = dict(zip(self.inputs, inputs))
        ids, lengths = named["ids"], named["lengths"]
        mask = _mask(ids, lengths)
        x = self.backbone(ids, lengths, named.get("oov_vectors"), named.get("oov"))
        if self.chars is not None:
            x = torch.cat([x, self.chars(named["chars"], mask)], dim=-1)
        if self.encoder is not None:
            pair: list[Any] = list(self.encoder)
            forward, backward = pair
            x = torch.cat([run_padded(forward, x, lengths, False), run_padded(backward, x, lengths, True)], dim=-1)
        return self.scorer(x)


class PaddedPooling(nn.Module):
    """Pooling's forward over a padded batch, its masks read from the predictor's `pool` input
    (rnn_nlp.inference.pooling) rather than derived from the lengths in the graph: last as a one-hot weighted
    sum (a backward direction's last state is at position 0), max after adding 0 / -inf, mean as a 1/length
    weighted sum, attention with the mask that column gives; padded positions' states zeroed before any of them."""

    def __init__(self, pooling: Pooling):
        super().__init__()
        self.kinds, self.directions, self.input_dim = pooling.kinds, pooling.directions, pooling.input_dim
        self.attention = pooling.attention

    def forward(self, states: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
        # padded positions zeroed first, as packing leaves them: a recurrence that ran on over padding (an
        # elman_relu one can overflow there) must not reach the weighted sums as inf * 0 = NaN
        real = pool[..., MASK : MASK + 1] == 0
        states = torch.where(real, states, 0.0)
        out = []
        for kind in self.kinds:
            if kind == "last":
                width = self.input_dim // len(self.directions)
                parts = []
                for i, d in enumerate(self.directions):
                    block = states[..., i * width : (i + 1) * width] if len(self.directions) > 1 else states
                    parts.append((block * pool[..., LAST : LAST + 1]).sum(1) if d == "forward" else block[:, 0])
                out.append(joined(parts))
            elif kind == "max":
                out.append((states + pool[..., MASK : MASK + 1]).max(1).values)
            elif kind == "mean":
                out.append((states * pool[..., MEAN : MEAN + 1]).sum(1))
            else:
                assert self.attention is not None
                out.append(self.attention(states, real.squeeze(-1)))
        return joined(out)


class ClassifierGraph(nn.Module):
    """A ClassifierNetwork's label probabilities (softmax, or sigmoids for multi-label runs).

    Besides ids and lengths (which only a backward direction reads) it takes pool [B, T, 3] (PaddedPooling) and,
    with head.ngrams, ngram_scale [B, 1] (rnn_nlp.data.ngrams.ngram_scale) beside ngram_ids: the masks and counts
    come from numpy, so the graph holds about a third of the operators it would otherwise, which is most of its
    cost at batch 1. The n-gram table's padding row is zeroed in the copy, as NgramLogits' mask makes it not count."""

    def __init__(self, network: ClassifierNetwork):
        super().__init__()
        self.backbone = PaddedBackbone(network.backbone)
        self.head: ClassifierHead = network.head  # type: ignore[assignment]
        self.pooling = PaddedPooling(self.head.pooling)
        self.multi_label = self.head.cfg.multi_label
        self.inputs = ["ids", "lengths", "pool", *vector_inputs(network.backbone)]
        self.ngrams: nn.Embedding | None = None
        if self.head.ngrams is not None:
            table = self.head.ngrams.weights.weight.detach().clone()
            table[0] = 0.0
            self.ngrams = nn.Embedding.from_pretrained(table, freeze=True)
            self.inputs += ["ngram_ids", "ngram_scale"]

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The graph's inputs, in the order of `self.inputs` (oov_vectors and oov with backbone.vectors)."""
        named = dict(zip(self.inputs, inputs))
        states = self.backbone(named["ids"], named["lengths"], named.get("oov_vectors"), named.get("oov"))
        logits = self.head.mlp(self.pooling(states, named["pool"]))
        if self.ngrams is not None:
            logits = logits + self.ngrams(named["ngram_ids"]).sum(1) * named["ngram_scale"]
        return torch.sigmoid(logits) if self.multi_label else logits.softmax(-1)
