"""Evaluation, reports and prediction for the tagging tasks (a mixin of tasks.tagging.TaggingTask).

NER: seqeval's entity-level precision, recall and F1, in its default mode (which matches the
conlleval script) and in strict mode (IOB2: a chunk counts only with the right boundaries and
prefixes). POS: token accuracy, scikit-learn's per-tag report and a confusion-matrix PNG.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import torch

log = logging.getLogger(__name__)


class TaggingEvaluation:
    """Needs from the task: pieces, splits, batches, tag_names, to_eval_scheme, tag_tokens, chunked."""

    @torch.no_grad()
    def predict_split(self, model, split: str, device: torch.device) -> tuple[list[list[str]], list[list[str]], float]:
        """(gold tags, predicted tags, mean loss) per sentence of a split; chunk tags in IOB2."""
        was_training = model.training
        model.eval()
        pieces = self.pieces(split)
        names = self.tag_names()
        decoded: dict[tuple[int, int], list[int]] = {}
        loss_sum, loss_n = 0.0, 0
        for rows, batch in self.batches(pieces, self.cfg.trainer.eval_batch_size, None, device):
            result = model(batch)
            if result.get("loss_count"):
                loss_sum += float(result["loss_sum"])
                loss_n += result["loss_count"]
            for row, path in zip(rows, model.decode(result["emissions"], result["mask"])):
                decoded[(pieces[row].sentence, pieces[row].start)] = path
        model.train(was_training)
        gold_raw = self.splits()[split]["tags"]
        pred: list[list[str]] = [[] for _ in gold_raw]
        for (n, _), path in sorted(decoded.items()):
            pred[n].extend(names[i] for i in path)
        scheme = self.cfg.data.train_scheme if self.scheme() != "none" else "none"
        pred = [self.to_eval_scheme(tags, scheme) for tags in pred]
        gold = [self.to_eval_scheme(tags) for tags in gold_raw]
        return gold, pred, loss_sum / max(1, loss_n)

    def warn_unseen_tags(self, tags: list[list[str]], where: str) -> list[str]:
        """Tags of held-out data that training never saw: logged (they can only be counted wrong)."""
        known = set(self.tag_names())
        unseen = sorted({t for s in tags for t in self.to_train_scheme(s)} - known)
        if unseen:
            log.warning("%s: tags never seen in training, always counted wrong: %s", where, ", ".join(unseen))
        return unseen

    def metrics(self, gold: list[list[str]], pred: list[list[str]], loss: float) -> dict[str, float]:
        if self.chunked:
            from seqeval.metrics import f1_score, precision_score, recall_score
            from seqeval.scheme import IOB2

            return {
                "loss": loss,
                "precision": float(precision_score(gold, pred, zero_division=0)),
                "recall": float(recall_score(gold, pred, zero_division=0)),
                "f1": float(f1_score(gold, pred, zero_division=0)),
                "f1_strict": float(f1_score(gold, pred, mode="strict", scheme=IOB2, zero_division=0)),
            }
        flat_gold = [t for s in gold for t in s]
        flat_pred = [t for s in pred for t in s]
        correct = sum(g == p for g, p in zip(flat_gold, flat_pred))
        return {"loss": loss, "accuracy": correct / max(1, len(flat_gold))}

    def evaluate(self, model, split: str, device: torch.device) -> dict[str, float]:
        gold, pred, loss = self.predict_split(model, split, device)
        return self.metrics(gold, pred, loss)

    def report(self, model, split: str, device: torch.device, out_dir: Path) -> dict:
        """Metrics plus the text report (report-SPLIT.txt), predictions as columns, and for POS a confusion PNG."""
        gold, pred, loss = self.predict_split(model, split, device)
        metrics: dict = self.metrics(gold, pred, loss)
        unseen = self.warn_unseen_tags(self.splits()[split]["tags"], f"{self.cfg.data.name} [{split}]")
        if self.chunked:
            from seqeval.metrics import classification_report
            from seqeval.scheme import IOB2

            text = "seqeval, default mode (as conlleval):\n" + classification_report(gold, pred, digits=4, zero_division=0)
            text += "\nseqeval, strict mode (IOB2):\n" + classification_report(gold, pred, digits=4, mode="strict", scheme=IOB2, zero_division=0)
        else:
            from sklearn.metrics import classification_report, confusion_matrix

            from tasks.classification import plot_confusion

            flat_gold = [t for s in gold for t in s]
            flat_pred = [t for s in pred for t in s]
            names = sorted(set(flat_gold) | set(flat_pred))
            text = f"token accuracy {metrics['accuracy']:.4f} over {len(flat_gold):,} tokens\n"
            text += classification_report(flat_gold, flat_pred, labels=names, digits=4, zero_division=0)
            plot_confusion(confusion_matrix(flat_gold, flat_pred, labels=names), names, out_dir / f"confusion-{split}.png")
        if unseen:
            text += f"\ntags in {split} never seen in training (always counted wrong): {', '.join(unseen)}\n"
        metrics["unseen_tags"] = unseen
        (out_dir / f"report-{split}.txt").write_text(text, encoding="utf-8")
        tokens = self.splits()[split]["tokens"]
        with open(out_dir / f"predictions-{split}.conll", "w", encoding="utf-8") as fh:
            for words, g, p in zip(tokens, gold, pred):
                fh.write("".join(f"{w} {a} {b}\n" for w, a, b in zip(words, g, p)) + "\n")
        metrics["report"] = text
        return metrics

    def predict_texts(self, model, texts: list[str], device: torch.device) -> Iterator[dict]:
        """Raw texts, tokenized by spaCy's blank English tokenizer -> tokens, tags (and entities for NER)."""
        from rnn_nlp.data.tag_schemes import spans
        from rnn_nlp.data.tokenize import _spacy_tokenizer

        docs = list(_spacy_tokenizer().pipe(texts))
        kept = [[t for t in doc if not t.is_space] for doc in docs]
        tags = self.tag_tokens(model, [[t.text for t in toks] for toks in kept], device)
        for text, toks, tg in zip(texts, kept, tags):
            row: dict = {"text": text, "tokens": [t.text for t in toks], "tags": tg}
            if self.chunked:
                row["entities"] = [
                    {"text": text[toks[s].idx : toks[e - 1].idx + len(toks[e - 1].text)], "label": label,
                     "start": toks[s].idx, "end": toks[e - 1].idx + len(toks[e - 1].text), "start_token": s, "end_token": e}
                    for s, e, label in spans(tg, "iob2")
                ]
            if not toks:
                row["warning"] = "no tokens in this text"
            yield row
