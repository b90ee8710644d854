"""A trained encoder-decoder: translations (or headlines) of source texts, greedy, sampled or by beam."""

from __future__ import annotations

import torch

from rnn_nlp.data.inputs import check_text, whole_number
from rnn_nlp.generate.conditional import warn_unknown_words
from rnn_nlp.results import Translation
from rnn_nlp.tasks.arguments import text_list
from rnn_nlp.tasks.model import Model


class Seq2SeqModel(Model):
    """`rnn_nlp.load(seq2seq_run).predict("In the beginning ...")` -> Translation; `.generate(source, beam=5)` -> str."""

    def generate(
        self,
        source: str | list[str],
        max_tokens: int | None = None,
        beam: int | None = None,
        sample: bool = False,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        num_samples: int = 1,
        length_penalty: float | None = None,
        prefix: str = "",
        seed: int | None = None,
        batch_size: int | None = None,
    ) -> str | list:
        """The output for `source` (a str, or a list of `num_samples` strs); a list of sources gives a
        list of those. Defaults (beam width, length penalty, max tokens) are the run's head config;
        `prefix` forces the output's first words."""
        sources = text_list(source, "source")
        check_text(prefix, "prefix")
        if seed is not None:
            whole_number(seed, "seed")
        warn_unknown_words(sources, self.vocab, self._task.tokenizer, "source")
        if prefix.strip():
            warn_unknown_words([prefix], self.target_vocab, self._task.tokenizer, "--prompt (target prefix)")
        options = {
            "beam": self._task.decode_beam if beam is None else beam,
            "num_samples": num_samples,
            "greedy": not sample,
            "temperature": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "prefix": prefix,
        }
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
        if length_penalty is not None:
            options["length_penalty"] = length_penalty
        if batch_size is not None:
            options["batch_size"] = batch_size
        if seed is not None:
            options["generator"] = torch.Generator(device=self.device).manual_seed(seed)
        out = self._task.translate(self.module, sources, self.device, **options)
        per_source = [texts[0] if num_samples == 1 else texts for texts in out]
        return per_source[0] if isinstance(source, str) else per_source

    def _predict_batch(self, sources: list[str], **options) -> list[Translation]:
        outputs = self.generate(sources, **options)
        results = []
        for source, texts in zip(sources, outputs):
            texts = [texts] if isinstance(texts, str) else texts
            results.append(Translation(source, texts[0], texts[1:]))
        return results

    @property
    def beam(self) -> int:
        """The beam width `predict`, `generate` and `evaluate` decode with by default (1: greedy; head.beam)."""
        return self._task.decode_beam

    @beam.setter
    def beam(self, width: int) -> None:
        self._task.decode_beam = int(width)

    @property
    def target_vocab(self):
        """The output (decoder) vocabulary; `vocab` is the source's."""
        return self._task.target_vocab()

    def _fresh_task(self):
        task = super()._fresh_task()
        task.decode_beam = self.beam  # the copy decodes as this model does
        return task

    def evaluate(self, data: str | None = None, split: str = "test", report_dir=None, batch_size: int | None = None) -> dict:
        """Loss, perplexity and the metrics of decoding the whole split (with `beam`), as `rnn-nlp evaluate` reports them."""
        if report_dir is not None:
            return super().evaluate(data, split, report_dir, batch_size)
        task = self._eval_task(data, batch_size)
        metrics = task.evaluate(self.module, split, self.device, limit=None)
        metrics["beam"] = float(self.beam)
        return metrics

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return [self.vocab.encode(tokens) for tokens in self._task.tokenizer.pipe(texts)]
