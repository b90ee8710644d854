"""A trained language model: continue prompts (greedy, sampling, beam search), score text, encode it,
and suggest the next word as a text is typed, carrying its state from word to word."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from rnn_nlp.data.inputs import check_text, whole_number
from rnn_nlp.errors import ConfigError
from rnn_nlp.generate.decoding import generate_texts
from rnn_nlp.generate.steppers import LMStepper
from rnn_nlp.results import Generation
from rnn_nlp.tasks.arguments import text_list
from rnn_nlp.tasks.model import Model

PARTIAL_WORD = re.compile(r"\w+$")  # the word still being typed at a text's end
MAX_SUGGESTIONS = 100


@dataclass
class LMState:
    """What a forward language model carries after the tokens it has read: its per-layer RNN state and
    its output at the last token ([1, D]). Its size is fixed by the network, however many tokens were read:
    `read` keeps copies, never views of the whole output, so the bytes it holds are fixed too."""

    rnn: list
    top: torch.Tensor
    tokens: int = 0


def _own_copies(rnn: list) -> list:
    """Each layer's state (a tensor, or an LSTM's (h, c) pair) copied into storage of its own: a state kept
    between calls (a typing session) must not pin a buffer the size of everything it read, as a view would."""
    return [tuple(t.clone() for t in s) if isinstance(s, tuple) else s.clone() for s in rnn]


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

    # ---- predictive typing: one word at a time, the state carried -------------------------------
    def _stepper(self) -> LMStepper:
        if self.vocab.unit == "char":
            raise ConfigError("next-word suggestions need a word-level language model; this one reads characters (data.unit: char)")
        return LMStepper(self.module)

    def typing_tokens(self, text: str) -> tuple[list[str], str]:
        """`text` as it is being typed: the tokens complete so far (as the model reads them) and the word
        still being typed at its end ("" when the text ends in a space or a punctuation mark)."""
        check_text(text, "text")
        match = None if text[-1:].isspace() else PARTIAL_WORD.search(text)
        partial = match.group() if match else ""
        task: Any = self._task
        complete = task.tokenizer(text[: len(text) - len(partial)]) if text.strip() else []
        return complete, partial

    @torch.no_grad()
    def read(self, tokens: list[str], state: LMState | None = None) -> LMState:
        """The state after reading `tokens` (words as `typing_tokens` gives them) from `state`, or from a
        sentence start (<eos>) when None. Only the new tokens run: the words before are never read again."""
        stepper = self._stepper()
        self.module.eval()
        if state is None:
            top, rnn = stepper.prime([[self.vocab.eos_id]], self.device)
            state = LMState(rnn, top, 0)
        if not tokens:
            return state
        ids = torch.tensor([self.vocab.encode(tokens)], dtype=torch.long, device=self.device)
        backbone: Any = self.module.backbone
        top, _, rnn = backbone.run_direction("forward", ids, state.rnn)
        return LMState(_own_copies(rnn), top[:, -1].clone(), state.tokens + len(tokens))

    @torch.no_grad()
    def next_words(self, state: LMState, k: int = 5, prefix: str = "") -> list[tuple[str, float]]:
        """The `k` likeliest next words after `state` that start with `prefix` (the word being typed),
        with their probabilities, likeliest first; the specials (<unk>, <eos>, <pad>) are never offered."""
        if not 0 < whole_number(k, "k") <= MAX_SUGGESTIONS:
            raise ConfigError(f"k must be in 1..{MAX_SUGGESTIONS}, got {k}")
        check_text(prefix, "prefix")
        probs = self._stepper().log_probs(state.top)[0].exp().cpu()
        task: Any = self._task
        if task.tokenizer.lowercase:
            prefix = prefix.lower()
        itos = self.vocab.itos
        specials = {self.vocab.pad_id, self.vocab.unk_id, self.vocab.eos_id}
        found: list[tuple[str, float]] = []
        for i in torch.argsort(probs, descending=True).tolist():
            if i not in specials and itos[i].startswith(prefix):
                found.append((itos[i], round(float(probs[i]), 6)))
                if len(found) == k:
                    break
        return found
