"""The language-modelling task: a corpus as BPTT streams, perplexity as the metric.

Every direction of the backbone is trained as its own LM; the backward one reads the
reversed corpus, so one checkpoint later serves bidirectional heads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import torch

from rnn_nlp.config import DataConfig, RunConfig
from rnn_nlp.data import streaming
from rnn_nlp.data.batching import BPTTStream, batchify
from rnn_nlp.data.formats.lines import read_lines
from rnn_nlp.data.text import load_text_corpus
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError, DataError
from rnn_nlp.metrics import perplexity
from rnn_nlp.nn.backbone import DIRECTIONS, Backbone
from rnn_nlp.nn.heads.lm import LanguageModelNetwork, LMHead, LMHeadConfig
from rnn_nlp.tasks.base import FINGERPRINTED_SPLITS, Task, file_fingerprint, read_vocab_json, tensor_fingerprint, vocab_entry
from rnn_nlp.tasks.lm.model import LanguageModel
from rnn_nlp.tasks.word_vectors import attach_vectors
from rnn_nlp.validation import positive_keys

log = logging.getLogger(__name__)


class LMTask(Task):
    name = "lm"
    data_config = DataConfig
    head_config = LMHeadConfig
    model_class = LanguageModel

    def __init__(self, cfg: RunConfig, vocab_json: dict | None = None):
        super().__init__(cfg)
        d = cfg.data
        self.tokenizer = Tokenizer(d.tokenizer, d.lowercase, d.normalize_numbers, d.unit)
        saved = read_vocab_json(vocab_json, ("tokens",))
        self.vocab = vocab_entry(saved, "tokens") if saved is not None else None
        self._texts: dict[str, list[str]] | None = None
        self._ids: dict[str, torch.Tensor] = {}
        self._streams: dict[tuple, dict[str, BPTTStream]] = {}
        self._stream_corpus = None
        self.streaming = cfg.data.streaming
        self.limit_eval = True  # data.max_eval_tokens applies (not to texts given with use_texts)

    @staticmethod
    def validate_config(cfg: RunConfig, source: str) -> None:
        positive_keys(cfg, source, ["data.max_train_tokens", "data.max_eval_tokens", "data.vocab_size", "data.min_count", "head.div_value"])
        if cfg.head.softmax == "adaptive" and not cfg.head.div_value > 1:
            raise ConfigError(f"{source}: head.div_value must be > 1 for the adaptive softmax")
        if cfg.backbone.vectors and cfg.data.unit == "char":
            raise ConfigError(f"{source}: backbone.vectors are word vectors; a data.unit: char model has no words to look up")
        if cfg.backbone.vectors and cfg.head.softmax == "full" and cfg.head.tie_weights:
            raise ConfigError(
                f"{source}: head.tie_weights would tie the softmax to the embedding's trainable part only, not to the "
                "backbone.vectors added to it; set head.tie_weights: false"
            )
        if cfg.data.unit == "char" and cfg.data.normalize_numbers:
            raise ConfigError(f"{source}: data.normalize_numbers maps whole words to N; it cannot work with data.unit: char")
        if any(c <= 0 for c in cfg.head.cutoffs):
            raise ConfigError(f"{source}: head.cutoffs must be positive word ranks, got {cfg.head.cutoffs}")
        if cfg.trainer.adversarial:
            raise ConfigError(
                f"{source}: trainer.adversarial runs each batch twice, but a language model carries its hidden state from "
                "batch to batch, so the second pass would start from the wrong state; it is for the task heads (set it to 0)"
            )

    # ---- data ------------------------------------------------------------------------
    def texts(self) -> dict[str, list[str]]:
        if self._texts is None:
            d = self.cfg.data
            self._texts = load_text_corpus(d.name, d.hub_config, d.text_column)
        return self._texts

    def use_data(self, name: str) -> None:
        """Evaluate on another corpus than the config names (`rnn-nlp evaluate --data`): a corpus
        name or folder by its splits; a single text file whole, as every split."""
        d = self.cfg.data
        if os.path.isfile(name):  # False, not an OSError, for a name the system refuses: the reader below says why
            lines = read_lines(Path(name))
            self.use_texts(dict.fromkeys(("train", "valid", "test"), lines))
        else:
            self.use_texts(load_text_corpus(name, d.hub_config, d.text_column))

    def use_texts(self, texts: dict[str, list[str]]) -> None:
        """Evaluate on these splits of text lines (split name -> lines) instead of the config's corpus:
        every line counts (data.max_eval_tokens does not cut them), read into memory."""
        self._texts, self._ids, self._streams = texts, {}, {}
        self.streaming = False
        self.limit_eval = False

    def _tokens(self, split: str) -> Iterator[list[str]]:
        texts = self.texts().get(split)
        if not texts:
            raise DataError(f"corpus '{self.cfg.data.name}' has no text in its {split} split")
        return self.tokenizer.pipe(texts)

    def token_vocab(self) -> Vocab:
        if self.vocab is None:
            d = self.cfg.data
            if self.streaming:
                self.vocab = streaming.build_vocab(self._corpus(), self.tokenizer, d.vocab_size, d.min_count, d.unit)
            else:
                self.vocab = Vocab.build(self._tokens("train"), d.vocab_size, d.min_count, d.unit)
            log.info("vocabulary: %d entries", len(self.vocab))
        return self.vocab

    def ids(self, split: str) -> torch.Tensor:
        """The split as one long id sequence, an <eos> after every line."""
        if split not in self._ids:
            vocab = self.token_vocab()
            flat: list[int] = []
            for tokens in self._tokens(split):
                flat.extend(vocab.encode(tokens))
                flat.append(vocab.eos_id)
            limit = self.cfg.data.max_train_tokens if split == "train" else self.cfg.data.max_eval_tokens
            if limit and (split == "train" or self.limit_eval):
                flat = flat[:limit]
            if len(flat) < 2:
                raise DataError(f"corpus '{self.cfg.data.name}': the {split} split has fewer than 2 tokens")
            self._ids[split] = torch.tensor(flat, dtype=torch.long)
        return self._ids[split]

    def streams(self, split: str, batch_size: int, device: torch.device, variation: bool) -> dict[str, BPTTStream]:
        """One BPTT stream per direction, kept on `device` so batches are slices, not copies from the host."""
        key = (split, batch_size, str(device), variation)
        if key not in self._streams and self.streaming:
            self._streams[key] = self._disk_streams(split, batch_size, device, variation)
        if key not in self._streams:
            ids = self.ids(split)
            out = {}
            for d in self.directions:
                seq = ids if d == "forward" else ids.flip(0)
                out[d] = BPTTStream(batchify(seq, batch_size).to(device), self.cfg.trainer.bptt, variation)
            self._streams[key] = out
        return self._streams[key]

    def _corpus(self) -> streaming.StreamingCorpus:
        if self._stream_corpus is None:
            d = self.cfg.data
            self._stream_corpus = streaming.StreamingCorpus(d.name, d.hub_config, d.text_column)
        return self._stream_corpus

    def _token_file(self, split: str) -> tuple[Path, int]:
        """`data.streaming`: (path, number of tokens) of the split's token file, written once."""
        d = self.cfg.data
        limit = d.max_train_tokens if split == "train" else d.max_eval_tokens
        return streaming.token_file(self._corpus(), split, self.tokenizer, self.token_vocab(), limit)

    def _disk_streams(self, split: str, batch_size: int, device: torch.device, variation: bool) -> dict:
        """`data.streaming`: the same streams as `streams`, read from a token file chunk by chunk."""
        d = self.cfg.data
        path, n = self._token_file(split)
        if n < 2:
            raise DataError(f"corpus '{d.name}': the {split} split has fewer than 2 tokens")
        return {
            direction: streaming.DiskBPTTStream(path, n, batch_size, self.cfg.trainer.bptt, variation, direction != "forward", device)
            for direction in self.directions
        }

    @property
    def directions(self) -> tuple[str, ...]:
        return DIRECTIONS[self.cfg.backbone.direction]

    def vocab_json(self) -> dict:
        return {"tokens": self.token_vocab().to_json()}

    # ---- model -----------------------------------------------------------------------
    def build_model(self) -> LanguageModelNetwork:
        vocab = self.token_vocab()
        backbone = Backbone(self.cfg.backbone, len(vocab), vocab.pad_id)
        attach_vectors(self.cfg, backbone, vocab)
        head = LMHead(backbone.top_size, len(vocab), self.cfg.head, backbone.embedding)
        return LanguageModelNetwork(backbone, head)

    # ---- training and evaluation -----------------------------------------------------
    def steps_per_epoch(self) -> int:
        return self.epoch_steps(0)

    def epoch_steps(self, epoch: int) -> int:
        """An epoch's number of BPTT chunks: with trainer.bptt_variation each epoch draws its own lengths."""
        t = self.cfg.trainer
        stream = next(iter(self.streams("train", t.batch_size, torch.device("cpu"), t.bptt_variation).values()))
        return len(stream.schedule(self.epoch_seed(epoch)))

    def data_fingerprint(self) -> dict[str, dict]:
        """{split: {"tokens": n, "sha256": ...}} of the token ids trained and validated on: a hash of the
        id tensor in memory; with data.streaming, of the token file's size and two ends (never read whole)."""
        out = {}
        for split in FINGERPRINTED_SPLITS:
            if self.streaming:
                path, n = self._token_file(split)
                out[split] = file_fingerprint(path, n)
            elif self.texts().get(split):
                out[split] = tensor_fingerprint(self.ids(split))
        return out

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterator[dict]:
        t = self.cfg.trainer
        streams = self.streams("train", t.batch_size, device, t.bptt_variation)
        schedule = next(iter(streams.values())).schedule(self.epoch_seed(epoch))
        for start, size in schedule[start_step:]:
            batch: dict = {d: s.chunk(start, size) for d, s in streams.items()}
            # AWD-LSTM rescales the lr by size/bptt for variable-length chunks (after clipping)
            batch["scale"] = size / t.bptt if t.bptt_variation else 1.0
            yield batch

    def eval_streams_for(self, split: str) -> int:
        """trainer.eval_batch_size streams, or fewer when the split's text cannot give each a BPTT
        window and one (a short text scored as 10 streams of 2 tokens would predict half its tokens blind)."""
        t = self.cfg.trainer
        if self.streaming:
            return t.eval_batch_size
        return max(1, min(t.eval_batch_size, self.ids(split).numel() // (t.bptt + 1)))

    @torch.no_grad()
    def evaluate(self, model: LanguageModelNetwork, split: str, device: torch.device) -> dict[str, float]:
        streams = self.streams(split, self.eval_streams_for(split), device, False)
        was_training = model.training
        saved = model.runtime_state()
        model.eval()
        model.reset_runtime_state()
        nll = dict.fromkeys(streams, 0.0)
        tokens = 0
        first = next(iter(streams.values()))
        for start, size in first.schedule(0):
            out = model({d: s.chunk(start, size) for d, s in streams.items()})
            for d in streams:
                nll[d] += float(out["nll"][d])
            tokens += out["tokens"]
        model.load_runtime_state(saved)
        model.train(was_training)
        losses = {d: nll[d] / tokens for d in streams}
        mean = sum(losses.values()) / len(losses)
        result = {"loss": mean, "ppl": perplexity(mean), "tokens": float(tokens)}
        if len(losses) > 1:
            result.update({f"ppl_{d}": perplexity(v) for d, v in losses.items()})
        return result

    def train_metrics(self, train_loss: float) -> dict[str, float]:
        """The training loss as perplexity too (`train_ppl` in metrics.csv and steps.csv)."""
        return {"ppl": perplexity(train_loss)}


def describe(metrics: dict[str, float]) -> str:
    parts = [f"perplexity {metrics['ppl']:.2f}", f"loss {metrics['loss']:.4f}"]
    parts += [f"{k} {v:.2f}" for k, v in metrics.items() if k.startswith("ppl_")]
    parts.append(f"over {int(metrics['tokens']):,} tokens")
    return ", ".join(parts)
