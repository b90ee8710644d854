"""A trained text classifier: labels with probabilities for raw texts, and sentence vectors."""

from __future__ import annotations

import torch

from rnn_nlp.data.batching import pad_batch
from rnn_nlp.data.ngrams import padded_ngram_ids
from rnn_nlp.results import Classification
from rnn_nlp.tasks.arguments import check_batch_size, text_list
from rnn_nlp.tasks.model import Model
from rnn_nlp.tasks.word_vectors import padded_rows


class ClassifierModel(Model):
    """`rnn_nlp.load(classify_run).predict("a gorgeous, moving film")` -> Classification(label, probabilities)."""

    @property
    def labels(self) -> list[str]:
        return self._task.label_names()

    @property
    def multi_label(self) -> bool:
        """Whether each text may have several labels (sigmoid outputs over head.threshold)."""
        return self._task.multi_label

    def probabilities(self, texts: str | list[str], batch_size: int | None = None) -> torch.Tensor:
        """[len(texts), len(labels)] probabilities (softmax, or per-label sigmoids for multi-label runs); a str is one text."""
        texts = text_list(texts, "texts")
        check_batch_size(batch_size)
        ids, _, rows, grams = self._task.encode_texts(texts)
        return self._probabilities_of(ids, batch_size, rows, grams)

    @torch.no_grad()
    def _probabilities_of(
        self,
        ids: list[list[int]],
        batch_size: int | None = None,
        rows: list[list[int]] | None = None,
        grams: list[list[int]] | None = None,
    ) -> torch.Tensor:
        """`probabilities` of texts already encoded (a text with no tokens reads as one <unk>); `rows`: each
        token's row in the backbone's vectors table, where it has vectors; `grams`: each text's n-gram ids
        (head.ngrams)."""
        size = batch_size or self.config.trainer.eval_batch_size
        vocab = self.vocab
        out = [torch.zeros(0, len(self.labels))]
        self.module.eval()
        for start in range(0, len(ids), size):
            tokens, lengths = pad_batch([x or [vocab.unk_id] for x in ids[start : start + size]], vocab.pad_id)
            table = None
            if rows is not None:
                table = padded_rows([r or [-1] for r in rows[start : start + size]], tokens.size(1)).to(self.device)
            bag = None
            if grams is not None:
                bag = torch.tensor(padded_ngram_ids(grams[start : start + size]), dtype=torch.long).to(self.device)
            logits = self.module.logits(tokens.to(self.device), lengths, table, bag)
            out.append(self.module.probabilities(logits).float().cpu())
        return torch.cat(out)

    def decide(self, probs: torch.Tensor) -> list:
        """The label of each row of probabilities (the labels over head.threshold for multi-label runs)."""
        return self._task.decide(probs)

    def _predict_batch(self, texts: list[str], **options) -> list[Classification]:
        if options:
            raise TypeError(f"classifier predict takes no options, got {', '.join(options)}")
        ids, _, rows, grams = self._task.encode_texts(texts)
        probs = self._probabilities_of(ids, rows=rows, grams=grams)
        names = self.labels
        results = []
        for i, (text, p) in enumerate(zip(texts, probs)):
            warning = "no tokens in this text" if not ids[i] else None
            results.append(Classification(text, self.decide(p.unsqueeze(0))[0], {n: round(float(v), 6) for n, v in zip(names, p)}, warning))
        return results

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return self._token_rows(texts)[0]

    def _token_rows(self, texts: list[str]) -> tuple[list[list[int]], list[list[int]] | None]:
        """Token ids and vector rows for `encode` (sentence vectors): the pooled backbone states, which the
        bag-of-n-grams path (head.ngrams) plays no part in."""
        ids, _, rows, _ = self._task.encode_texts(texts)
        return ids, rows

    def _own_pooling(self) -> torch.nn.Module | None:
        return self.module.head.pooling
