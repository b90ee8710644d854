"""A trained language model: continue prompts (greedy, sampling, beam search), score text, encode it."""

from __future__ import annotations

import torch

from rnn_nlp.generate.decoding import generate_texts, whole_number
from rnn_nlp.results import Generation
from rnn_nlp.tasks.arguments import text_list
from rnn_nlp.tasks.model import Model


class LanguageModel(Model):
    """`rnn_nlp.load(lm_run)`: `.generate(prompt)`, `.perplexity(texts)`, `.predict(prompt)` -> Generation."""

    def generate(
        self,
        prompt: str | list[str] = "",
        max_tokens: int = 30,
        beam: int = 0,
        sample: bool = False,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        num_samples: int = 1,
        stop_at_eos: bool | None = None,
        length_penalty: float = 0.6,
        seed: int | None = None,
        min_tokens: int = 1,
        allow_unk: bool = False,
    ) -> str | list:
        """The continuation of `prompt` (without the prompt): a str, or a list of `num_samples` strs
        (samples, or the best beams first); a list of prompts gives a list of those.

        `beam` > 1 is beam search (ending at <eos> unless `stop_at_eos=False`); `sample` draws from
        the softmax at `temperature`, restricted by `top_k` / `top_p`; otherwise greedy. `seed` makes
        samples repeatable. At least `min_tokens` tokens come before <eos>; <unk> is never produced
        unless `allow_unk`.
        """
        prompts = text_list(prompt, "prompt")
        generator = None
        if seed is not None:
            whole_number(seed, "seed")
            generator = torch.Generator(device=self.device).manual_seed(seed)
        out = generate_texts(
            self.module,
            self.vocab,
            self._task.tokenizer,
            prompts,
            max_tokens=max_tokens,
            beam=beam,
            length_penalty=length_penalty,
            num_samples=num_samples,
            stop_at_eos=stop_at_eos,
            greedy=not sample,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            generator=generator,
            min_tokens=min_tokens,
            allow_unk=allow_unk,
        )
        per_prompt = [texts[0] if num_samples == 1 else texts for texts in out]
        return per_prompt[0] if isinstance(prompt, str) else per_prompt

    def _predict_batch(self, prompts: list[str], **options) -> list[Generation]:
        results = []
        for prompt, texts in zip(prompts, self.generate(prompts, **options)):
            texts = [texts] if isinstance(texts, str) else texts
            results.append(Generation(prompt, texts[0], texts[1:]))
        return results

    def perplexity(self, texts: str | list[str]) -> float:
        """exp of the mean per-token cross-entropy of `texts` (a str: its lines; a list: one text a line),
        every line closed by <eos>, read as one stream (each direction's LM, averaged)."""
        lines = texts.splitlines() if isinstance(texts, str) else text_list(texts, "texts")
        lines = [line for line in lines if line.strip()]
        if not lines:  # else the message would be about an empty test split of the run's corpus
            raise ValueError("texts: nothing to score (no line holds a word)")
        task = self._fresh_task()
        task.use_texts({"test": lines})
        return task.evaluate(self.module, "test", self.device)["ppl"]

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        return [self.vocab.encode(tokens) for tokens in self._task.tokenizer.pipe(texts)]
