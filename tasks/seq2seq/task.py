"""Conditional generation (translation, headline generation): parallel text -> encoder -> decoder LM.

Trained by teacher forcing (the loss is the mean cross-entropy over the target tokens, <eos>
included, padding left out); evaluated by decoding (greedy or beam search, `head.beam`) and
scoring the detokenized outputs against the raw references with sacrebleu's BLEU and chrF, and
ROUGE-1/2/L (rouge-score) where `head.metrics` asks for it. Training pairs whose target is
longer than `data.max_target_tokens` are left out (counted in a warning); sources longer than
`data.max_source_tokens` are cut to that length, in training and at inference alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from rnn_nlp.config import RunConfig
from rnn_nlp.data.batching import length_buckets, pad_batch
from rnn_nlp.data.parallel import load_parallel_corpus
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError, DataError
from rnn_nlp.files import replace_text
from rnn_nlp.metrics import bleu_chrf, perplexity, rouge
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.seq2seq import Seq2SeqHead, Seq2SeqHeadConfig, Seq2SeqNetwork
from rnn_nlp.tasks.base import VOCAB_FILE, Task, optional_entry, read_vocab_json, vocab_entry
from rnn_nlp.tasks.seq2seq.model import Seq2SeqModel
from rnn_nlp.tasks.word_vectors import attach_vectors
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.transfer import ARCHITECTURE, pretrained_backbone_config, pretrained_task, transfer_decoder
from rnn_nlp.validation import positive_keys, probability_keys

log = logging.getLogger(__name__)
METRICS = ("bleu", "chrf", "rouge")


@dataclass
class Seq2SeqDataConfig:
    """`data:` of a seq2seq run: where the pairs come from, tokenization, vocabularies, length limits."""

    name: str = "bible-en-es"  # a fetcher name, a .tsv/.jsonl file, a folder of split files, or a hub name
    hub_config: str | None = None
    source_column: str = "source"  # hub and fetched tables
    target_column: str = "target"
    source_ext: str = "src"  # aligned files in a folder: train.src + train.tgt, ...
    target_ext: str = "tgt"
    tokenizer: Literal["spacy", "whitespace"] = "spacy"
    lowercase: bool = False  # BLEU is then computed case-insensitively
    shared_vocab: bool = False  # one vocabulary for source and target
    source_vocab_size: int | None = 10000  # also the shared vocabulary's size
    target_vocab_size: int | None = 10000
    min_count: int = 1
    max_source_tokens: int | None = 100  # longer sources are cut (with a warning)
    max_target_tokens: int | None = 100  # training pairs with longer targets are left out
    max_train_examples: int | None = None  # use only the first N training pairs
    max_eval_examples: int | None = None  # use only the first N pairs of valid and test


class Seq2SeqTask(Task):
    """Source/target pairs -> encoder-decoder training, decoding and BLEU/chrF/ROUGE evaluation."""

    name = "seq2seq"
    data_config = Seq2SeqDataConfig
    head_config = Seq2SeqHeadConfig
    model_class = Seq2SeqModel
    examples_name = "pairs"

    def __init__(self, cfg: RunConfig, vocab_json: dict | None = None):
        super().__init__(cfg)
        d = cfg.data
        self.tokenizer = Tokenizer(d.tokenizer, d.lowercase)
        saved = read_vocab_json(vocab_json, ("tokens", "target"))
        self.src_vocab = vocab_entry(saved, "tokens") if saved is not None else None
        self.tgt_vocab = vocab_entry(saved, "target") if saved is not None else None
        self.longest_source = optional_entry(saved, "longest_source", (int,), minimum=0) if saved is not None else None
        if saved is not None and d.shared_vocab and self.src_vocab.itos != self.tgt_vocab.itos:
            raise CheckpointError(f"{VOCAB_FILE}: target must be the same vocabulary as tokens (data.shared_vocab is true)")
        self._records: dict | None = None
        self._encoded: dict[str, tuple[list[list[int]], list[list[int]]]] = {}
        self.decode_beam = cfg.head.beam

    @staticmethod
    def validate_config(cfg: RunConfig, source: str) -> None:
        keys = ["source_vocab_size", "target_vocab_size", "min_count", "max_source_tokens", "max_target_tokens"]
        positive_keys(cfg, source, [f"data.{k}" for k in keys + ["max_train_examples", "max_eval_examples"]])
        positive_keys(cfg, source, ["head.attention_size", "head.beam", "head.max_decode_tokens"])
        if cfg.head.eval_decode_examples is not None and cfg.head.eval_decode_examples < 0:
            raise ConfigError(f"{source}: head.eval_decode_examples must be >= 0 (0: no decoding while training)")
        probability_keys(cfg, source, ["head.dropout"])
        unknown = [m for m in cfg.head.metrics if m not in METRICS]
        if unknown:
            raise ConfigError(f"{source}: head.metrics: unknown {', '.join(unknown)}; choose from {', '.join(METRICS)}")
        if cfg.head.share_embeddings and not cfg.data.shared_vocab:
            raise ConfigError(f"{source}: head.share_embeddings needs data.shared_vocab: true")
        if cfg.head.share_embeddings and cfg.backbone.vectors:
            raise ConfigError(
                f"{source}: head.share_embeddings would give the decoder the encoder's embedding without its "
                "backbone.vectors (the rows of words with a vector are corrections to it); drop one of them"
            )
        if cfg.head.decoder.vectors:
            raise ConfigError(f"{source}: head.decoder.vectors: the decoder LM takes no word vectors (backbone.vectors is the encoder's)")

    # ---- data ------------------------------------------------------------------------
    def records(self) -> dict[str, dict[str, list[str]]]:
        if self._records is None:
            d = self.cfg.data
            rec = load_parallel_corpus(d.name, d.source_column, d.target_column, d.hub_config, d.source_ext, d.target_ext)
            self._records = self._limit(rec)
        return self._records

    def _limit(self, rec: dict) -> dict:
        d = self.cfg.data
        for split, n in (("train", d.max_train_examples), ("valid", d.max_eval_examples), ("test", d.max_eval_examples)):
            if n:
                rec[split] = {k: v[:n] for k, v in rec[split].items()}
        return rec

    def split_records(self, split: str) -> dict | None:
        return self.records().get(split)

    def use_data(self, name: str) -> None:
        """Evaluate on other parallel data than the config names (`rnn-nlp evaluate --data`)."""
        d = self.cfg.data
        self._records = self._limit(
            load_parallel_corpus(name, d.source_column, d.target_column, d.hub_config, d.source_ext, d.target_ext, whole=True)
        )
        self._encoded = {}

    def _build_vocabs(self) -> None:
        d = self.cfg.data
        train = self.records()["train"]
        if d.shared_vocab:
            texts = train["source"] + train["target"]
            self.src_vocab = self.tgt_vocab = Vocab.build(self.tokenizer.pipe(texts), d.source_vocab_size, d.min_count)
        else:
            self.src_vocab = Vocab.build(self.tokenizer.pipe(train["source"]), d.source_vocab_size, d.min_count)
            self.tgt_vocab = Vocab.build(self.tokenizer.pipe(train["target"]), d.target_vocab_size, d.min_count)
        log.info(
            "vocabularies: source %d, target %d entries%s", len(self.src_vocab), len(self.tgt_vocab), " (shared)" if d.shared_vocab else ""
        )

    def token_vocab(self) -> Vocab:
        """The source (encoder) vocabulary: what a pretrained encoder's embeddings are matched to."""
        if self.src_vocab is None:
            self._build_vocabs()
        return self.src_vocab

    def target_vocab(self) -> Vocab:
        if self.tgt_vocab is None:
            self._build_vocabs()
        return self.tgt_vocab

    def max_source_tokens(self) -> int | None:
        """Sources are cut to this: the configured maximum, or the longest training source if shorter."""
        limits = [n for n in (self.cfg.data.max_source_tokens, self.longest_source) if n]
        return min(limits) if limits else None

    def vocab_json(self) -> dict:
        if self.longest_source is None:
            self.encoded("train")
        return {"tokens": self.token_vocab().to_json(), "target": self.target_vocab().to_json(), "longest_source": self.longest_source}

    def encoded(self, split: str) -> tuple[list[list[int]], list[list[int]]]:
        """(source ids, target ids) of a split: sources cut to max_source_tokens; in train, pairs with
        longer targets than max_target_tokens left out, elsewhere such targets cut (for the loss only)."""
        if split not in self._encoded:
            rec = self.records().get(split)
            if not rec or not rec["source"]:
                raise DataError(f"{self.cfg.data.name}: no pairs in the {split} split")
            d = self.cfg.data
            src_vocab, tgt_vocab = self.token_vocab(), self.target_vocab()
            srcs, tgts, cut, dropped = [], [], 0, 0
            for s, t in zip(self.tokenizer.pipe(rec["source"]), self.tokenizer.pipe(rec["target"])):
                if d.max_target_tokens and len(t) > d.max_target_tokens:
                    if split == "train":
                        dropped += 1
                        srcs.append(None)
                        tgts.append(None)
                        continue
                    t = t[: d.max_target_tokens]
                if d.max_source_tokens and len(s) > d.max_source_tokens:
                    s, cut = s[: d.max_source_tokens], cut + 1
                srcs.append(src_vocab.encode(s) or [src_vocab.unk_id])
                tgts.append(tgt_vocab.encode(t))
            if split == "train":
                self.longest_source = max(len(x) for x in srcs if x is not None) if dropped < len(srcs) else 0
            if cut:
                log.warning("%s [%s]: %d source(s) cut to data.max_source_tokens=%d", d.name, split, cut, d.max_source_tokens)
            if dropped:
                log.warning(
                    "%s [%s]: %d pair(s) with a target over data.max_target_tokens=%d left out", d.name, split, dropped, d.max_target_tokens
                )
            keep = [i for i, x in enumerate(srcs) if x is not None]
            if not keep:
                raise DataError(f"{d.name}: no {split} pair within data.max_target_tokens={d.max_target_tokens}")
            self._encoded[split] = ([srcs[i] for i in keep], [tgts[i] for i in keep])
        return self._encoded[split]

    def _batches(self, split: str, batch_size: int, seed: int | None, device: torch.device, start: int = 0) -> Iterator[dict]:
        srcs, tgts = self.encoded(split)
        eos, pad = Vocab.eos_id, Vocab.pad_id
        for rows in length_buckets([len(x) for x in srcs], batch_size, seed)[start:]:
            src, src_len = pad_batch([srcs[i] for i in rows], pad)
            tgt_in, tgt_len = pad_batch([[eos] + tgts[i] for i in rows], pad)
            tgt_out, _ = pad_batch([tgts[i] + [eos] for i in rows], pad)
            yield {
                "src": src.to(device),
                "src_lengths": src_len,
                "tgt_in": tgt_in.to(device),
                "tgt_out": tgt_out.to(device),
                "tgt_lengths": tgt_len,
            }

    # ---- model -----------------------------------------------------------------------
    def build_model(self) -> Seq2SeqNetwork:
        src_vocab, tgt_vocab = self.token_vocab(), self.target_vocab()
        encoder = Backbone(self.cfg.backbone, len(src_vocab), src_vocab.pad_id)
        attach_vectors(self.cfg, encoder, src_vocab)
        head = Seq2SeqHead(encoder, len(tgt_vocab), self.cfg.head, tgt_vocab.pad_id)
        return Seq2SeqNetwork(encoder, head)

    def adopt_pretrained(self) -> None:
        """A pretrained decoder LM gives the decoder its shape (as `pretrained` does for the encoder)."""
        source = self.cfg.head.decoder_pretrained
        if not source:
            return
        ckpt.verify(source)
        task, pretrained = pretrained_task(source), pretrained_backbone_config(source)
        if task != "lm" or pretrained.direction == "backward":
            kind = f"a '{task}' run" if task != "lm" else "a backward language model"
            raise ConfigError(
                f"head.decoder_pretrained: {source} is {kind}; the decoder starts from a forward or "
                "bidirectional language model run (task lm) on target-language text"
            )
        if pretrained.vectors:
            raise ConfigError(
                f"head.decoder_pretrained: {source} adds word vectors ({pretrained.vectors}) to its embedding; "
                "the decoder takes none, so start it from a language model trained without backbone.vectors"
            )
        for key in ARCHITECTURE:
            if key != "direction":
                setattr(self.cfg.head.decoder, key, getattr(pretrained, key))

    def start_from_pretrained(self, model: Seq2SeqNetwork) -> None:
        """Start the decoder from `head.decoder_pretrained` (called once, on a fresh run)."""
        if self.cfg.head.decoder_pretrained:
            transfer_decoder(model.head, self.target_vocab(), self.cfg.head.decoder_pretrained)

    # ---- training and evaluation -----------------------------------------------------
    def steps_per_epoch(self) -> int:
        return -(-len(self.encoded("train")[0]) // self.cfg.trainer.batch_size)

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterator[dict]:
        yield from self._batches("train", self.cfg.trainer.batch_size, self.epoch_seed(epoch), device, start_step)

    @torch.no_grad()
    def loss(self, model: Seq2SeqNetwork, split: str, device: torch.device) -> tuple[float, int]:
        """Mean teacher-forced cross-entropy per target token over a split, and the token count."""
        was_training = model.training
        model.eval()
        nll, tokens = 0.0, 0
        for batch in self._batches(split, self.cfg.trainer.eval_batch_size, None, device):
            out = model(batch)
            nll += float(out["nll"])
            tokens += out["tokens"]
        model.train(was_training)
        return nll / max(1, tokens), tokens

    def translate(self, model: Seq2SeqNetwork, sources: list[str], device: torch.device, **kwargs) -> list[list[str]]:
        """Outputs per source text (options of rnn_nlp.generate.conditional.decode_ids; defaults from the head config)."""
        from rnn_nlp.generate.conditional import translate_texts

        h = self.cfg.head
        kwargs.setdefault("beam", self.decode_beam)
        kwargs.setdefault("length_penalty", h.length_penalty)
        kwargs.setdefault("max_tokens", h.max_decode_tokens)
        kwargs.setdefault("batch_size", self.cfg.trainer.eval_batch_size)
        return translate_texts(model, self.token_vocab(), self.target_vocab(), self.tokenizer, sources, self.max_source_tokens(), **kwargs)

    def scores(self, hypotheses: list[str], references: list[str]) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if {"bleu", "chrf"} & set(self.cfg.head.metrics):
            metrics.update(bleu_chrf(hypotheses, references, lowercase=self.cfg.data.lowercase))
        if "rouge" in self.cfg.head.metrics:
            metrics.update(rouge(hypotheses, references))
        return metrics

    def evaluate(self, model: Seq2SeqNetwork, split: str, device: torch.device, limit: int | None = -1) -> dict[str, float]:
        """Loss and perplexity on the split, and the metrics of decoding its first `limit` sources
        (default: head.eval_decode_examples; None: all)."""
        loss, tokens = self.loss(model, split, device)
        metrics = {"loss": loss, "ppl": perplexity(loss), "tokens": float(tokens)}
        limit = self.cfg.head.eval_decode_examples if limit == -1 else limit
        rec = self.records()[split]
        n = len(rec["source"]) if limit is None else min(limit, len(rec["source"]))
        if n:
            hyps = [out[0] for out in self.translate(model, rec["source"][:n], device)]
            metrics.update(self.scores(hyps, rec["target"][:n]))
            metrics["decoded"] = float(n)
        return metrics

    def report(self, model: Seq2SeqNetwork, split: str, device: torch.device, out_dir: Path) -> dict:
        """Metrics over the whole split; the outputs written to predictions-<split>.txt, one a line."""
        loss, tokens = self.loss(model, split, device)
        rec = self.records()[split]
        hyps = [out[0] for out in self.translate(model, rec["source"], device)]
        metrics: dict = {"loss": loss, "ppl": perplexity(loss), "tokens": float(tokens), **self.scores(hyps, rec["target"])}
        metrics["decoded"] = float(len(hyps))
        metrics["beam"] = float(self.decode_beam)
        replace_text(out_dir / f"predictions-{split}.txt", "".join(h.replace("\n", " ") + "\n" for h in hyps))
        lines = []
        for src, ref, hyp in list(zip(rec["source"], rec["target"], hyps))[:5]:
            lines += [f"source:    {src}", f"reference: {ref}", f"output:    {hyp}", ""]
        metrics["report"] = "\n".join(lines)
        return metrics
