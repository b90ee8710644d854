"""The library's RNN LMs (Elman, GRU, LSTM) behind the lecture's common LM interface
(`rnn_nlp.nn.baselines.interface.LMInterface`): trained with `rnn_nlp.runs.train_run` or read from a
run folder; perplexity is the LM task's own evaluation and samples come from `rnn_nlp.generate`.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch

from rnn_nlp.config import RunConfig
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError


def _write_lines(path: Path, sentences: list[list[str]]) -> None:
    path.write_text("".join(" ".join(words) + "\n" for words in sentences), encoding="utf-8")


class RNNLM:
    """A library RNN LM (Elman, GRU, LSTM) behind the common interface.

    `RNNLM(cfg)` then `fit(...)` trains `cfg` on the given sentences (written as text files under
    `work_dir`, read with the whitespace tokenizer, so the vocabulary is `Vocab.build(train)` when
    `data.vocab_size` and `data.min_count` are left alone); `RNNLM.from_run(folder)` wraps a trained run.
    Perplexity runs the LM task's evaluation with `eval_batch_size` streams (1: the whole text as one
    stream, every token but the very first predicted, as the n-gram and window LMs do).
    """

    def __init__(self, cfg: RunConfig | None = None, work_dir: str | Path | None = None, eval_batch_size: int = 1):
        if cfg is not None and cfg.task != "lm":
            raise ConfigError(f"RNNLM needs a config of task 'lm', got '{cfg.task}'")
        self.cfg = cfg
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self.eval_batch_size = eval_batch_size
        self.task = None
        self.model = None
        self.run_dir: Path | None = None
        self.train_seconds = 0.0

    @classmethod
    def from_run(cls, run_dir: str | Path, eval_batch_size: int = 1) -> RNNLM:
        """Wrap a trained run (or checkpoint) folder."""
        from rnn_nlp.runs import load_run

        cfg, task, model = load_run(run_dir)
        if cfg.task != "lm":
            raise ConfigError(f"{run_dir}: not a language-model run (task '{cfg.task}')")
        lm = cls(cfg, eval_batch_size=eval_batch_size)
        lm.task, lm.model, lm.run_dir = task, model, Path(run_dir)
        return lm

    @property
    def vocab(self) -> Vocab:
        self._need_model()
        return self.task.token_vocab()

    def fit(self, train_sentences: list[list[str]], valid_sentences: list[list[str]] | None = None) -> RNNLM:
        """Train the config on these sentences (valid: the config's early-stopping text) and load the best model."""
        from rnn_nlp.runs import load_run, train_run

        if self.cfg is None:
            raise ConfigError("RNNLM.fit needs a run config (RNNLM(cfg)); a loaded run is already trained")
        if self.work_dir is None:
            self.work_dir = Path(tempfile.mkdtemp(prefix="rnnlm-"))
        data = self.work_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        valid = valid_sentences or train_sentences[-max(1, len(train_sentences) // 20) :]
        _write_lines(data / "train.txt", train_sentences)
        _write_lines(data / "valid.txt", valid)
        _write_lines(data / "test.txt", valid)
        cfg = copy.deepcopy(self.cfg)
        cfg.data.name = str(data)
        cfg.data.tokenizer = "whitespace"
        trainer = train_run(cfg, self.work_dir / "run", overwrite=True)
        self.train_seconds = float(trainer.elapsed)
        self.cfg, self.task, self.model = load_run(self.work_dir / "run")
        self.run_dir = self.work_dir / "run"
        return self

    def _need_model(self) -> None:
        if self.model is None:
            raise ConfigError("the RNN LM is not trained yet: call fit, or wrap a run with RNNLM.from_run")

    def perplexity(self, sentences: list[list[str]]) -> float:
        """The LM task's evaluation (exp of the mean cross-entropy per token, <eos> included) on these sentences."""
        self._need_model()
        if not sentences:
            raise ConfigError("perplexity needs at least one sentence")
        saved_batch, saved_limit = self.task.cfg.trainer.eval_batch_size, self.task.cfg.data.max_eval_tokens
        self.task.cfg.trainer.eval_batch_size, self.task.cfg.data.max_eval_tokens = self.eval_batch_size, None
        try:
            self.task.use_texts({"eval": [" ".join(words) for words in sentences]})
            metrics = self.task.evaluate(self.model, "eval", torch.device("cpu"))
        finally:
            self.task.cfg.trainer.eval_batch_size, self.task.cfg.data.max_eval_tokens = saved_batch, saved_limit
        return float(metrics["ppl"])

    def generate(
        self, prompt_words: list[str], max_tokens: int = 30, temperature: float = 1.0, seed: int = 0, stop_at_eos: bool = False
    ) -> list[str]:
        """Sample from the softmax at `temperature` (rnn_nlp.generate), the prompt read after <eos>."""
        from rnn_nlp.generate import generate_ids

        self._need_model()
        vocab = self.vocab
        prompt = [vocab.eos_id] + vocab.encode(prompt_words)
        gen = torch.Generator().manual_seed(seed)
        ids = generate_ids(
            self.model,
            prompt,
            max_tokens,
            greedy=False,
            temperature=temperature,
            stop_id=vocab.eos_id if stop_at_eos else None,
            generator=gen,
        )
        return vocab.decode(ids)

    def size(self) -> dict:
        """Distinct parameters (a tied matrix counts once) and their bytes."""
        self._need_model()
        params = {id(p): p for p in self.model.parameters()}.values()
        n = sum(p.numel() for p in params)
        nbytes = sum(p.numel() * p.element_size() for p in params)
        b = self.cfg.backbone
        return {"kind": f"{b.rnn} {b.layers}x{b.hidden_size}", "entries": n, "bytes": nbytes}
