"""Tiny models of every head, and a fixed batch for each, for the device tests in test_cuda.py.

Built from the rnn_nlp.nn modules directly (no task, no data), so a failure points at the layer
that broke on the device, not at data loading. Every batch lives on the CPU; `to_device` moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from rnn_nlp.config import BackboneConfig
from rnn_nlp.data.batching import pad_batch
from rnn_nlp.data.tag_schemes import allowed_transitions
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.classifier import ClassifierHead, ClassifierHeadConfig, ClassifierNetwork
from rnn_nlp.nn.heads.lm import LanguageModelNetwork, LMHead, LMHeadConfig
from rnn_nlp.nn.heads.reader import ReaderHead, ReaderHeadConfig, ReaderNetwork
from rnn_nlp.nn.heads.reader_features import FEATURES
from rnn_nlp.nn.heads.seq2seq import Seq2SeqHead, Seq2SeqHeadConfig, Seq2SeqNetwork
from rnn_nlp.nn.heads.tagger import TaggerHead, TaggerHeadConfig, TaggerNetwork

VOCAB = 40
EOS = 2
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
SENTENCES = [[5, 6, 7, 8, 9, 10, 11], [12, 13, 14], [15, 16, 17, 18, 19], [20, 21]]


def backbone(rnn: str = "lstm", direction: str = "forward", width: int = 12, layers: int = 2, **kw: Any) -> Backbone:
    """A small backbone over VOCAB ids (padding id 0)."""
    cfg = BackboneConfig(rnn=rnn, emb_size=width, hidden_size=width, layers=layers, direction=direction, **kw)
    return Backbone(cfg, VOCAB, 0)


def to_device(value: Any, device: torch.device) -> Any:
    """A batch (dicts, tuples, tensors, numbers) with every tensor on `device`."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(to_device(v, device) for v in value)
    return value


def sentence_batch() -> dict:
    """Padded ids [4, 7] and lengths [4]: four sentences of different lengths."""
    ids, lengths = pad_batch(SENTENCES)
    return {"ids": ids, "lengths": lengths}


def lm(softmax: str = "full", direction: str = "forward") -> tuple[torch.nn.Module, dict]:
    """A streaming LM (full softmax tied to the embedding, or adaptive) and one BPTT chunk per direction."""
    torch.manual_seed(0)
    net = backbone(direction=direction)
    adaptive = softmax == "adaptive"
    cfg = LMHeadConfig(softmax=softmax, cutoffs=[10, 20], div_value=2.0, tie_weights=not adaptive)
    model = LanguageModelNetwork(net, LMHead(net.top_size, VOCAB, cfg, net.embedding))
    stream = torch.randint(3, VOCAB, (3, 10), generator=torch.Generator().manual_seed(1))
    batch = dict.fromkeys(net.directions, (stream[:, :-1], stream[:, 1:]))
    return model, batch


def classifier() -> tuple[torch.nn.Module, dict]:
    """Both directions, every pooling, documents read in chunks of 4 with gradients through the last 3 tokens."""
    torch.manual_seed(0)
    net = backbone(direction="both")
    cfg = ClassifierHeadConfig(pooling=["last", "max", "mean", "attention"], hidden_size=8, dropout=0.0, chunk_len=4, grad_tokens=3)
    model = ClassifierNetwork(net, ClassifierHead(net.output_dim, 3, cfg, net.directions))
    return model, {**sentence_batch(), "labels": torch.tensor([0, 1, 2, 1])}


def tagger() -> tuple[torch.nn.Module, dict]:
    """A BiLSTM-CRF (constrained IOB2) with char-CNN word features."""
    torch.manual_seed(0)
    net = backbone(direction="both", layers=1)
    cfg = TaggerHeadConfig(char_features="cnn", char_size=6, char_emb_size=5, decoder="crf", dropout=0.0, word_dropout=0.0)
    head = TaggerHead(net.output_dim, len(TAGS), cfg, n_chars=15, allowed=allowed_transitions(TAGS, "iob2"))
    batch = sentence_batch()
    mask = torch.arange(batch["ids"].size(1)).unsqueeze(0) < batch["lengths"].unsqueeze(1)
    chars = torch.randint(1, 15, (*batch["ids"].shape, 4), generator=torch.Generator().manual_seed(2))
    chars[~mask] = 0
    gold = [[1, 2, 0, 3, 4, 0, 0], [0, 1, 0], [3, 0, 1, 2, 0], [1, 0]]
    tags, _ = pad_batch(gold, pad_id=-1)
    return TaggerNetwork(net, head), {**batch, "chars": chars, "tags": tags}


def reader() -> tuple[torch.nn.Module, dict]:
    """A DrQA-style reader with every feature on and a no-answer option; one question has no answer."""
    torch.manual_seed(0)
    net = backbone(direction="both", layers=1)
    cfg = ReaderHeadConfig(context_size=6, dropout=0.0, token_features=True)
    model = ReaderNetwork(net, ReaderHead(net.output_dim, net.input_dim, cfg, net.directions, no_answer=True))
    c_ids, c_lengths = pad_batch([[5, 6, 7, 8, 9, 10], [11, 12, 13]])
    q_ids, q_lengths = pad_batch([[6, 7], [14, 12, 15]])
    start = torch.zeros(2, 1 + c_ids.size(1), dtype=torch.bool)
    end = torch.zeros_like(start)
    start[0, 2], end[0, 3] = True, True  # tokens 1..2 of passage 0 (column 0 is "no answer")
    start[1, 0], end[1, 0] = True, True
    feats = torch.rand(2, c_ids.size(1), len(FEATURES), generator=torch.Generator().manual_seed(3))
    batch = {"c_ids": c_ids, "c_lengths": c_lengths, "q_ids": q_ids, "q_lengths": q_lengths, "c_feats": feats}
    return model, {**batch, "start_gold": start, "end_gold": end}


def seq2seq(attention: str = "additive") -> tuple[torch.nn.Module, dict]:
    """A bidirectional GRU encoder, a 2-layer GRU decoder LM with attention, tied output layer."""
    torch.manual_seed(0)
    enc = backbone(rnn="gru", direction="both", layers=1)
    cfg = Seq2SeqHeadConfig(
        decoder=BackboneConfig(rnn="gru", emb_size=12, hidden_size=12, layers=2, init_range=0.5),
        output=LMHeadConfig(softmax="full", tie_weights=True),
        attention=attention,
        attention_size=8,
    )
    model = Seq2SeqNetwork(enc, Seq2SeqHead(enc, VOCAB, cfg, 0))
    targets = [[22, 23, 24], [25, 26], [27, 28, 29, 30], [31]]
    src, src_lengths = pad_batch(SENTENCES)
    tgt_in, tgt_lengths = pad_batch([[EOS] + t for t in targets])
    tgt_out, _ = pad_batch([t + [EOS] for t in targets])
    return model, {"src": src, "src_lengths": src_lengths, "tgt_in": tgt_in, "tgt_out": tgt_out, "tgt_lengths": tgt_lengths}


HEADS: dict[str, Callable[[], tuple[torch.nn.Module, dict]]] = {
    "lm-full": lambda: lm("full"),
    "lm-adaptive": lambda: lm("adaptive"),
    "lm-both-directions": lambda: lm("full", "both"),
    "classifier": classifier,
    "tagger-crf": tagger,
    "reader": reader,
    "seq2seq": seq2seq,
}
