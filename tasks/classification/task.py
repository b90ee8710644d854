"""Sentence and document classification: labelled text -> pooled backbone states -> labels.

Evaluated with scikit-learn (accuracy, macro-F1, per-class report, confusion matrix). The
ULMFiT recipe is a set of switches: start from a pretrained LM (`pretrained`), fine-tune that
LM on the task's own text first (`stages: [{name: lm_finetune, epochs: N}, {name: task}]`), gradual unfreezing and
discriminative learning rates (`trainer.gradual_unfreezing`, `trainer.discriminative_lr`),
slanted triangular learning rates (`trainer.schedule: slanted_triangular`).

`head.ngrams: N` adds a linear bag-of-n-grams model (orders 1..N) whose scores are added to the recurrent
head's logits (wide & deep, as spaCy's TextCatEnsemble); its n-gram vocabulary is built from the training
split and saved in vocab.json under "ngrams", beside the word vocabulary.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, f1_score

from rnn_nlp.config import RunConfig
from rnn_nlp.data.batching import length_buckets, pad_batch
from rnn_nlp.data.inputs import first_tokens
from rnn_nlp.data.labeled import load_labeled_corpus
from rnn_nlp.data.ngrams import build_ngram_vocab, ngram_ids, padded_ngram_ids
from rnn_nlp.data.splits import train_alone, with_valid_in_train
from rnn_nlp.data.tokenize import Tokenizer
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError, DataError
from rnn_nlp.files import replace_text
from rnn_nlp.metrics.confusion import plot_confusion
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.classifier import ClassifierHead, ClassifierHeadConfig, ClassifierNetwork
from rnn_nlp.tasks.base import VOCAB_FILE, Task, name_list, read_vocab_json, vocab_entry
from rnn_nlp.tasks.classification.model import ClassifierModel
from rnn_nlp.tasks.word_vectors import attach_vectors, padded_rows, vector_rows
from rnn_nlp.validation import positive_keys, probability_keys

log = logging.getLogger(__name__)


@dataclass
class ClassificationDataConfig:
    name: str = "rotten-tomatoes"  # a fetcher name, a CSV/TSV/JSONL file or folder, or a hub name
    hub_config: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    label_separator: str | None = None  # multi-label strings such as "a|b"
    tokenizer: Literal["spacy", "whitespace"] = "spacy"
    unit: Literal["word"] = "word"
    lowercase: bool = True
    normalize_numbers: bool = True
    vocab_size: int | None = 30000
    min_count: int = 2
    max_train_examples: int | None = None  # use only the first N training examples (quick runs; before valid joins them)
    # train on train + valid (flair's train_with_dev): the latest model is kept (valid selects nothing) and a
    # plateau schedule reads the training loss
    train_with_dev: bool = False
    max_tokens: int | None = None  # cut documents to their first N tokens (None: chunk them instead)


class ClassificationTask(Task):
    name = "classify"
    data_config = ClassificationDataConfig
    head_config = ClassifierHeadConfig
    model_class = ClassifierModel
    selection = ("accuracy", "max")

    def __init__(self, cfg: RunConfig, vocab_json: dict | None = None):
        super().__init__(cfg)
        d = cfg.data
        self.tokenizer = Tokenizer(d.tokenizer, d.lowercase, d.normalize_numbers)
        saved = read_vocab_json(vocab_json, ("tokens", "labels"))
        self.vocab = vocab_entry(saved, "tokens") if saved is not None else None
        self.labels: list[str] | None = name_list(saved, "labels", at_least=2) if saved is not None else None
        self.ngram_vocab: Vocab | None = None  # head.ngrams: the training split's n-grams (rnn_nlp.data.ngrams)
        if saved is not None and cfg.head.ngrams:
            if "ngrams" not in saved:
                raise CheckpointError(f"{VOCAB_FILE}: missing key 'ngrams' (the n-gram vocabulary a run with head.ngrams saves)")
            self.ngram_vocab = vocab_entry(saved, "ngrams")
        self._records: dict | None = None
        self._encoded: dict[str, tuple[list[list[int]], list]] = {}
        self._rows: dict[str, list[list[int]] | None] = {}  # each token's row in backbone.vectors' table
        self._ngrams: dict[str, list[list[int]] | None] = {}  # each text's n-gram ids (head.ngrams)
        self.data_name = d.name  # the data actually read: `evaluate --data` changes it, so messages name it

    @staticmethod
    def validate_config(cfg: RunConfig, source: str) -> None:
        positive_keys(
            cfg,
            source,
            [
                "data.vocab_size",
                "data.min_count",
                "data.max_train_examples",
                "data.max_tokens",
                "head.hidden_size",
                "head.chunk_len",
                "head.grad_tokens",
            ],
        )
        positive_keys(cfg, source, ["head.ngram_min_count", "head.ngram_vocab_size"])
        probability_keys(cfg, source, ["head.dropout", "head.ngram_dropout"])
        if cfg.head.ngrams < 0:
            raise ConfigError(f"{source}: head.ngrams must be >= 0 (0: no bag-of-n-grams path), got {cfg.head.ngrams}")
        if not 0 < cfg.head.threshold < 1:
            raise ConfigError(f"{source}: head.threshold must be in (0, 1), got {cfg.head.threshold}")
        if cfg.head.lm_finetune_epochs < 0:
            raise ConfigError(f"{source}: head.lm_finetune_epochs must be >= 0")

    # ---- data ------------------------------------------------------------------------
    def records(self) -> dict[str, dict[str, list]]:
        if self._records is None:
            d = self.cfg.data
            records = load_labeled_corpus(d.name, d.text_column, d.label_column, d.hub_config, d.label_separator)
            if d.max_train_examples:
                records["train"] = {k: v[: d.max_train_examples] for k, v in records["train"].items()}
            if d.train_with_dev:
                records = with_valid_in_train(records, d.name)
            self._records = records
        return self._records

    def split_records(self, split: str) -> dict[str, list] | None:
        return self.records().get(split)

    def use_data(self, name: str) -> None:
        """Evaluate on other data than the config names (`rnn-nlp evaluate --data`); a single file whole, as every split."""
        d = self.cfg.data
        self._records = load_labeled_corpus(name, d.text_column, d.label_column, d.hub_config, d.label_separator, whole=True)
        self._encoded, self._rows, self._ngrams = {}, {}, {}
        self.data_name = name

    def token_vocab(self) -> Vocab:
        if self.vocab is None:
            d = self.cfg.data
            self.vocab = Vocab.build(self.tokenizer.pipe(self.records()["train"]["text"]), d.vocab_size, d.min_count)
            log.info("vocabulary: %d entries", len(self.vocab))
        return self.vocab

    def ngram_vocabulary(self) -> Vocab | None:
        """The n-gram vocabulary of head.ngrams (None without that path), built from the training split's texts
        as the word vocabulary sees them (cut to data.max_tokens)."""
        h = self.cfg.head
        if h.ngrams and self.ngram_vocab is None:
            limit = self.cfg.data.max_tokens
            texts = (first_tokens(tokens, limit) for tokens in self.tokenizer.pipe(self.records()["train"]["text"]))
            self.ngram_vocab = build_ngram_vocab(texts, h.ngrams, h.ngram_min_count, h.ngram_vocab_size)
            log.info("n-gram vocabulary (orders 1..%d): %d entries", h.ngrams, len(self.ngram_vocab))
        return self.ngram_vocab

    def label_names(self) -> list[str]:
        if self.labels is None:
            seen: set[str] = set()
            for label in self.records()["train"]["label"]:
                seen.update(label if isinstance(label, list) else [label])
            self.labels = sorted(seen)
            if not self.multi_label and any(isinstance(y, list) for y in self.records()["train"]["label"]):
                raise ConfigError(f"head.multi_label must be true: {self.cfg.data.name} has rows with several labels")
            if len(self.labels) < 2:
                raise DataError(f"{self.cfg.data.name}: the training data has only the label {self.labels}; need two or more")
        return self.labels

    @property
    def multi_label(self) -> bool:
        return self.cfg.head.multi_label

    def vocab_json(self) -> dict:
        out = {"tokens": self.token_vocab().to_json(), "labels": self.label_names()}
        ngrams = self.ngram_vocabulary()
        if ngrams is not None:
            out["ngrams"] = ngrams.to_json()
        return out

    def encode_texts(self, texts: list[str]) -> tuple[list[list[int]], list[int], list[list[int]] | None, list[list[int]] | None]:
        """Token ids per text (cut to data.max_tokens), the indices of texts left empty, each token's row
        in backbone.vectors' whole table (None without vectors), so that a word outside the vocabulary
        still reads its pretrained vector, and each text's n-gram ids (None without head.ngrams)."""
        vocab, limit = self.token_vocab(), self.cfg.data.max_tokens
        ngram_vocab, order = self.ngram_vocabulary(), self.cfg.head.ngrams
        ids: list[list[int]] = []
        empty: list[int] = []
        rows: list[list[int]] | None = [] if self.cfg.backbone.vectors else None
        grams: list[list[int]] | None = [] if ngram_vocab is not None else None
        for i, tokens in enumerate(self.tokenizer.pipe(texts)):
            if not tokens:
                empty.append(i)
            tokens = first_tokens(tokens, limit)
            ids.append(vocab.encode(tokens))
            if grams is not None and ngram_vocab is not None:
                grams.append(ngram_ids(tokens, order, ngram_vocab))
            if rows is not None:
                found = vector_rows(self.cfg, tokens, tokens)
                if found is None:  # a saved model whose vectors source is gone: its vocabulary's vectors only
                    rows = None
                else:
                    rows.append(found)
        return ids, empty, rows, grams

    def encoded(self, split: str) -> tuple[list[list[int]], list]:
        """(token ids, labels) of a split; texts that tokenize to nothing are skipped, and counted."""
        if split not in self._encoded:
            rec = self.records().get(split)
            if not rec or not rec["text"]:
                raise DataError(f"{self.data_name}: no examples in the {split} split")
            ids, empty, rows, grams = self.encode_texts(rec["text"])
            if empty:
                log.warning("%s [%s]: skipped %d texts with no tokens", self.data_name, split, len(empty))
            skipped = set(empty)
            keep = [i for i in range(len(ids)) if i not in skipped]
            self._encoded[split] = ([ids[i] for i in keep], [rec["label"][i] for i in keep])
            self._rows[split] = [rows[i] for i in keep] if rows is not None else None
            self._ngrams[split] = [grams[i] for i in keep] if grams is not None else None
            unknown = {lab for y in self._encoded[split][1] for lab in (y if isinstance(y, list) else [y])} - set(self.label_names())
            if unknown:
                log.warning(
                    "%s [%s]: labels never seen in training, always counted wrong: %s",
                    self.data_name,
                    split,
                    ", ".join(sorted(unknown)),
                )
        return self._encoded[split]

    def _label_tensor(self, labels: list) -> torch.Tensor:
        index = {name: i for i, name in enumerate(self.label_names())}
        if self.multi_label:
            out = torch.zeros(len(labels), len(index))
            for row, y in enumerate(labels):
                for lab in y if isinstance(y, list) else [y]:
                    if lab in index:
                        out[row, index[lab]] = 1.0
            return out
        return torch.tensor([index.get(y, -1) for y in labels], dtype=torch.long)

    def _batches(
        self, split: str, batch_size: int, seed: int | None, device: torch.device, start: int = 0
    ) -> Iterator[tuple[list[int], dict]]:
        """Length-bucketed, padded batches from batch number `start` on (earlier ones are not built)."""
        ids, labels = self.encoded(split)
        table_rows, grams = self._rows.get(split), self._ngrams.get(split)
        for rows in length_buckets([len(x) for x in ids], batch_size, seed)[start:]:
            tokens, lengths = pad_batch([ids[i] for i in rows], self.token_vocab().pad_id)
            batch = {
                "ids": tokens.to(device),
                "lengths": lengths,
                "labels": self._label_tensor([labels[i] for i in rows]).to(device),
            }
            if table_rows is not None:
                batch["vector_rows"] = padded_rows([table_rows[i] for i in rows], tokens.size(1)).to(device)
            if grams is not None:
                batch["ngram_ids"] = torch.tensor(padded_ngram_ids([grams[i] for i in rows]), dtype=torch.long).to(device)
            yield rows, batch

    # ---- model -----------------------------------------------------------------------
    def build_model(self) -> ClassifierNetwork:
        vocab = self.token_vocab()
        backbone = Backbone(self.cfg.backbone, len(vocab), vocab.pad_id)
        attach_vectors(self.cfg, backbone, vocab)
        ngrams = self.ngram_vocabulary()
        n_ngrams = len(ngrams) if ngrams is not None else 0
        head = ClassifierHead(backbone.output_dim, len(self.label_names()), self.cfg.head, backbone.directions, n_ngrams)
        return ClassifierNetwork(backbone, head)

    # ---- training and evaluation -----------------------------------------------------
    def steps_per_epoch(self) -> int:
        n = len(self.encoded("train")[0])
        return -(-n // self.cfg.trainer.batch_size)

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterator[dict]:
        seed = self.epoch_seed(epoch)
        for _, batch in self._batches("train", self.cfg.trainer.batch_size, seed, device, start_step):
            yield batch

    @torch.no_grad()
    def predict_split(self, model: ClassifierNetwork, split: str, device: torch.device) -> tuple[list, list, torch.Tensor, float]:
        """(gold labels, predicted labels, probabilities [N, L], mean loss) in the split's order."""
        was_training = model.training
        model.eval()
        ids, gold = self.encoded(split)
        probs = torch.zeros(len(ids), len(self.label_names()))
        loss_sum, loss_n = 0.0, 0
        for rows, batch in self._batches(split, self.cfg.trainer.eval_batch_size, None, device):
            out = model(batch)
            probs[rows] = model.probabilities(out["logits"]).float().cpu()
            labels = batch["labels"]
            known = len(rows) if labels.ndim == 2 else int((labels >= 0).sum())
            if known:
                loss_sum += float(out["loss"]) * known
                loss_n += known
        model.train(was_training)
        if not loss_n:  # every gold label is one training never saw: the loss is undefined, not 0
            log.warning("%s [%s]: no loss: every label is one never seen in training", self.data_name, split)
        return gold, self.decide(probs), probs, loss_sum / loss_n if loss_n else float("nan")

    def decide(self, probs: torch.Tensor) -> list:
        names = self.label_names()
        if self.multi_label:
            return [[names[j] for j in range(len(names)) if p[j] >= self.cfg.head.threshold] for p in probs]
        return [names[j] for j in probs.argmax(-1).tolist()]

    def _binarize(self, labels: list) -> list[list[int]]:
        names = self.label_names()
        return [[int(n in (y if isinstance(y, list) else [y])) for n in names] for y in labels]

    def evaluate(self, model: ClassifierNetwork, split: str, device: torch.device) -> dict[str, float]:
        gold, pred, _, loss = self.predict_split(model, split, device)
        return self.metrics(gold, pred, loss)

    def metrics(self, gold: list, pred: list, loss: float) -> dict[str, float]:
        """scikit-learn's accuracy and macro-F1 (and micro-F1 for multi-label data)."""
        if self.multi_label:
            g, p = self._binarize(gold), self._binarize(pred)
            return {
                "loss": loss,
                "accuracy": float(accuracy_score(g, p)),  # exact match of the label set
                "macro_f1": float(f1_score(g, p, average="macro", zero_division=0)),
                "micro_f1": float(f1_score(g, p, average="micro", zero_division=0)),
            }
        return {
            "loss": loss,
            "accuracy": float(accuracy_score(gold, pred)),
            "macro_f1": float(f1_score(gold, pred, average="macro", zero_division=0)),
        }

    def report(self, model: ClassifierNetwork, split: str, device: torch.device, out_dir: Path) -> dict:
        """Metrics plus scikit-learn's per-class report (text) and a confusion-matrix PNG in out_dir."""
        gold, pred, _, loss = self.predict_split(model, split, device)
        return self.report_predictions(gold, pred, loss, split, out_dir)

    def report_predictions(self, gold: list, pred: list, loss: float, split: str, out_dir: Path, suffix: str = "") -> dict:
        """`report` for predictions made elsewhere (an ensemble): files `report-<split><suffix>.txt` and
        `confusion-<split><suffix>.png` in out_dir."""
        metrics: dict = self.metrics(gold, pred, loss)
        if self.multi_label:
            text = classification_report(self._binarize(gold), self._binarize(pred), target_names=self.label_names(), zero_division=0)
        else:
            names = sorted(set(self.label_names()) | set(gold))
            text = classification_report(gold, pred, labels=names, zero_division=0, digits=4)
            plot_confusion(confusion_matrix(gold, pred, labels=names), names, out_dir / f"confusion-{split}{suffix}.png")
        replace_text(out_dir / f"report-{split}{suffix}.txt", text)
        metrics["report"] = text
        return metrics

    # ---- ULMFiT stage 2 --------------------------------------------------------------
    def lm_text(self) -> tuple[dict[str, list[str]], dict]:
        """The training and validation texts, one a line, read with this task's tokenizer settings (with
        data.train_with_dev the LM stage still trains on train alone, so that valid stays its held-out text)."""
        rec = self.records()
        one_line = lambda texts: [t.replace("\n", " ") for t in texts]  # noqa: E731
        d = self.cfg.data
        train, valid = (train_alone(rec) if d.train_with_dev else rec["train"])["text"], rec["valid"]["text"]
        return (
            {"train": one_line(train), "valid": one_line(valid)},
            {"tokenizer": d.tokenizer, "lowercase": d.lowercase, "normalize_numbers": d.normalize_numbers},
        )


def ensemble_probabilities(members: list[torch.Tensor]) -> torch.Tensor:
    """A probability-averaged ensemble (ULMFiT's forward+backward ensemble, or several seeds): the
    mean of the members' [N, L] probabilities on the same texts in the same order; decide with
    `ClassificationTask.decide`."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    shapes = sorted({tuple(m.shape) for m in members})
    if len(shapes) != 1:
        raise ValueError(f"ensemble members must score the same texts and labels; got probability shapes {shapes}")
    return torch.stack([m.float() for m in members]).mean(0)
