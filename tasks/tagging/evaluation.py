"""Evaluation and reports of the tagging tasks (a mixin of `TaggingTask`), from one `TagPredictions` a split.

NER: seqeval's entity-level precision, recall and F1, in its default mode (which matches the
conlleval script, lenient: an I-X after O opens a chunk) and in strict mode (the predictions as
decoded, in the training scheme: an ill-formed chunk such as an unclosed B-X counts wrong). A split
whose every sentence the CRF must drop (all hold unseen tags) reports loss NaN.
POS: token accuracy, scikit-learn's per-tag report and a confusion-matrix PNG.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from rnn_nlp.files import replace_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagPredictions:
    """One split's gold and predicted tags, as `predict_split` returns them and the metrics take them.

    `gold` and `pred` are in the evaluation scheme (IOB2 for chunk tags, repaired as conlleval reads
    them); `strict_gold` and `strict_pred` are the same sentences in the training scheme, the
    predictions as decoded (no repair), for seqeval's strict mode under `strict_scheme`. Both views
    come from one decoding, so default and strict F1 always describe the same predictions.
    """

    gold: list[list[str]]
    pred: list[list[str]]
    loss: float
    strict_gold: list[list[str]]
    strict_pred: list[list[str]]
    strict_scheme: str = "iob2"  # "iob2" or "bioes": the seqeval scheme of the strict view

    def seqeval_scheme(self) -> type:
        """The seqeval scheme class of the strict view."""
        from seqeval.scheme import IOB2, IOBES

        return IOBES if self.strict_scheme == "bioes" else IOB2


class TaggingEvaluation:
    """Needs from the task: pieces, splits, decode_pieces, tag_names, scheme, to_eval_scheme,
    to_train_scheme, chunked, data_name. Keeps no state between calls: every figure comes from
    the `TagPredictions` it is given."""

    @torch.no_grad()
    def predict_split(self, model, split: str, device: torch.device) -> TagPredictions:
        """Gold and predicted tags of every sentence of a split, with the mean loss (NaN when no
        sentence could be scored: all hold tags never seen in training)."""
        was_training = model.training
        model.eval()
        pieces = self.pieces(split)
        names = self.tag_names()
        gold_raw = self.splits()[split]["tags"]
        paths, loss_sum, loss_n, _ = self.decode_pieces(model, pieces, len(gold_raw), self.cfg.trainer.eval_batch_size, device)
        model.train(was_training)
        raw_pred = [[names[i] for i in path] for path in paths]
        scheme = self.cfg.data.train_scheme if self.scheme() != "none" else "none"
        pred = [self.to_eval_scheme(tags, scheme) for tags in raw_pred]
        gold = [self.to_eval_scheme(tags) for tags in gold_raw]
        strict_gold = [self.to_train_scheme(t) for t in gold_raw] if self.chunked else gold
        strict_pred = raw_pred if self.chunked else pred
        strict_scheme = "bioes" if scheme == "bioes" else "iob2"
        if loss_n == 0:
            log.warning("%s [%s]: no loss: all %d sentences hold a tag never seen in training", self.data_name, split, len(gold_raw))
            loss = float("nan")
        else:
            if self.head_uses_crf(model) and loss_n < len(pieces):
                log.info(
                    "%s [%s]: loss over %d of %d pieces (the rest hold tags never seen in training)",
                    self.data_name,
                    split,
                    loss_n,
                    len(pieces),
                )
            loss = loss_sum / loss_n
        return TagPredictions(gold, pred, loss, strict_gold, strict_pred, strict_scheme)

    @staticmethod
    def head_uses_crf(model) -> bool:
        return getattr(getattr(model, "head", None), "crf", None) is not None

    @staticmethod
    def strict_f1(predictions: TagPredictions) -> float:
        """seqeval strict mode on the predictions as decoded (an unclosed B-X, an E-X after O count wrong)."""
        from seqeval.metrics import f1_score

        return float(
            f1_score(predictions.strict_gold, predictions.strict_pred, mode="strict", scheme=predictions.seqeval_scheme(), zero_division=0)
        )

    def warn_unseen_tags(self, tags: list[list[str]], where: str) -> list[str]:
        """Tags of held-out data that training never saw: logged (they can only be counted wrong)."""
        known = set(self.tag_names())
        unseen = sorted({t for s in tags for t in self.to_train_scheme(s)} - known)
        if unseen:
            log.warning("%s: tags never seen in training, always counted wrong: %s", where, ", ".join(unseen))
        return unseen

    def metrics(self, predictions: TagPredictions) -> dict[str, float]:
        """NER: seqeval precision, recall, F1 (default mode) and strict F1; POS: token accuracy."""
        gold, pred, loss = predictions.gold, predictions.pred, predictions.loss
        if self.chunked:
            from seqeval.metrics import f1_score, precision_score, recall_score

            return {
                "loss": loss,
                "precision": float(precision_score(gold, pred, zero_division=0)),
                "recall": float(recall_score(gold, pred, zero_division=0)),
                "f1": float(f1_score(gold, pred, zero_division=0)),
                "f1_strict": self.strict_f1(predictions),
            }
        flat_gold = [t for s in gold for t in s]
        flat_pred = [t for s in pred for t in s]
        correct = sum(g == p for g, p in zip(flat_gold, flat_pred))
        return {"loss": loss, "accuracy": correct / max(1, len(flat_gold))}

    def evaluate(self, model, split: str, device: torch.device) -> dict[str, float]:
        return self.metrics(self.predict_split(model, split, device))

    def report(self, model, split: str, device: torch.device, out_dir: Path) -> dict:
        """Metrics plus the text report (report-SPLIT.txt), predictions as columns, and for POS a confusion PNG."""
        return self.report_predictions(self.predict_split(model, split, device), split, out_dir)

    def report_predictions(self, predictions: TagPredictions, split: str, out_dir: Path) -> dict:
        """`report` of a split's predictions already made (`predict_split`), so that they are decoded once."""
        gold, pred = predictions.gold, predictions.pred
        metrics: dict = self.metrics(predictions)
        unseen = self.warn_unseen_tags(self.splits()[split]["tags"], f"{self.data_name} [{split}]")
        if self.chunked:
            from seqeval.metrics import classification_report

            text = "seqeval, default mode (as conlleval):\n" + classification_report(gold, pred, digits=4, zero_division=0)
            scheme_cls = predictions.seqeval_scheme()
            text += f"\nseqeval, strict mode ({scheme_cls.__name__}, predictions as decoded):\n"
            text += classification_report(
                predictions.strict_gold, predictions.strict_pred, digits=4, mode="strict", scheme=scheme_cls, zero_division=0
            )
        else:
            from sklearn.metrics import classification_report, confusion_matrix

            from rnn_nlp.metrics.confusion import plot_confusion

            flat_gold = [t for s in gold for t in s]
            flat_pred = [t for s in pred for t in s]
            names = sorted(set(flat_gold) | set(flat_pred))
            text = f"token accuracy {metrics['accuracy']:.4f} over {len(flat_gold):,} tokens\n"
            text += classification_report(flat_gold, flat_pred, labels=names, digits=4, zero_division=0)
            plot_confusion(confusion_matrix(flat_gold, flat_pred, labels=names), names, out_dir / f"confusion-{split}.png")
        if unseen:
            text += f"\ntags in {split} never seen in training (always counted wrong): {', '.join(unseen)}\n"
        metrics["unseen_tags"] = unseen
        replace_text(out_dir / f"report-{split}.txt", text)
        tokens = self.splits()[split]["tokens"]
        replace_text(
            out_dir / f"predictions-{split}.conll",
            "".join("".join(f"{w} {a} {b}\n" for w, a, b in zip(words, g, p)) + "\n" for words, g, p in zip(tokens, gold, pred)),
        )
        metrics["report"] = text
        return metrics
