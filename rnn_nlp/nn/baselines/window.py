"""The fixed-window neural LM of Bengio et al. (2003): n-1 word embeddings -> tanh layer -> softmax.

The text is read as the RNN LMs read it (rnn_nlp's LMTask): one stream of ids, an `<eos>` after
every sentence, and every word and every `<eos>` predicted; the window runs across sentence ends,
and before the first word it is filled with `<eos>`. Perplexities are therefore comparable with the
RNN LMs' and the n-gram LMs' (same tokens predicted, same vocabulary).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError


@dataclass
class WindowConfig:
    """Model size and the small fit loop's settings."""

    context: int = 4  # n - 1 previous words
    emb_size: int = 64
    hidden_size: int = 128
    direct: bool = False  # Bengio's optional direct connections from the embeddings to the softmax
    dropout: float = 0.0
    lr: float = 1e-3  # Adam
    batch_size: int = 256
    epochs: int = 5
    time_budget_s: float | None = None  # stop training after this many seconds
    patience: int = 1  # validation checks without a better valid loss before stopping (needs valid text)
    eval_every: int = 0  # also check the valid loss every N steps (0: at epoch ends only)
    seed: int = 0


class WindowNet(nn.Module):
    """y = softmax(b + W x + U tanh(d + H x)), x = the concatenated embeddings of the window."""

    def __init__(self, vocab_size: int, cfg: WindowConfig):
        super().__init__()
        if cfg.context < 1 or cfg.emb_size < 1 or cfg.hidden_size < 1:
            raise ConfigError("window LM: context, emb_size and hidden_size must be positive")
        self.embedding = nn.Embedding(vocab_size, cfg.emb_size)
        self.hidden = nn.Linear(cfg.context * cfg.emb_size, cfg.hidden_size)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.hidden_size, vocab_size)
        self.direct = nn.Linear(cfg.context * cfg.emb_size, vocab_size, bias=False) if cfg.direct else None

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """windows [B, context] of ids -> logits [B, vocab]."""
        x = self.embedding(windows).flatten(1)
        logits = self.out(self.drop(torch.tanh(self.hidden(x))))
        if self.direct is not None:
            logits = logits + self.direct(x)
        return logits


class WindowLM:
    """Fit, perplexity, generation and size for the fixed-window LM (the baselines' common interface)."""

    def __init__(self, cfg: WindowConfig | None = None, vocab: Vocab | None = None):
        self.cfg = cfg or WindowConfig()
        self.vocab = vocab
        self.net: WindowNet | None = None
        self.history: list[dict] = []  # one entry per validation check: step, train and valid loss
        self.train_seconds = 0.0

    # ---- data ------------------------------------------------------------------------------
    def _stream(self, sentences: list[list[str]]) -> torch.Tensor:
        """Ids with an <eos> after every sentence, preceded by `context` <eos> (the window before the start)."""
        ids = [Vocab.eos_id] * self.cfg.context
        for words in sentences:
            ids.extend(self.vocab.encode(words))
            ids.append(Vocab.eos_id)
        return torch.tensor(ids, dtype=torch.long)

    def _windows(self, sentences: list[list[str]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(windows [N, context], targets [N]) for every predicted token."""
        stream = self._stream(sentences)
        if len(stream) <= self.cfg.context:
            raise ConfigError("the window LM needs at least one sentence")
        return stream[:-1].unfold(0, self.cfg.context, 1), stream[self.cfg.context :]

    # ---- training --------------------------------------------------------------------------
    def fit(self, train_sentences: list[list[str]], valid_sentences: list[list[str]] | None = None) -> WindowLM:
        """Adam on shuffled minibatches of windows; keeps the weights with the best valid loss."""
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        if self.vocab is None:
            self.vocab = Vocab.build(train_sentences)
        self.net = WindowNet(len(self.vocab), cfg)
        x, y = self._windows(train_sentences)
        valid = self._windows(valid_sentences) if valid_sentences else None
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        gen = torch.Generator().manual_seed(cfg.seed)
        best, best_state, bad, step = math.inf, None, 0, 0
        running: list[float] = []
        start = time.perf_counter()

        def check() -> bool:
            """Record the losses; True once `patience` checks in a row brought no better valid loss."""
            nonlocal best, best_state, bad
            entry = {"step": step, "train_loss": sum(running) / max(len(running), 1)}
            running.clear()
            if valid is not None:
                entry["valid_loss"] = self._loss(*valid)
                if entry["valid_loss"] < best:
                    best, best_state, bad = entry["valid_loss"], copy.deepcopy(self.net.state_dict()), 0
                else:
                    bad += 1
            self.history.append(entry)
            return valid is not None and bad >= max(cfg.patience, 1)

        for _ in range(cfg.epochs):
            self.net.train()
            stop = False
            for idx in torch.randperm(len(y), generator=gen).split(cfg.batch_size):
                loss = F.cross_entropy(self.net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                running.append(loss.item())
                step += 1
                if cfg.time_budget_s is not None and time.perf_counter() - start > cfg.time_budget_s:
                    stop = True
                    break
                if cfg.eval_every and step % cfg.eval_every == 0 and check():
                    stop = True
                    break
            if running and check():
                stop = True
            if stop:
                break
        self.train_seconds = time.perf_counter() - start
        if best_state is not None:
            self.net.load_state_dict(best_state)
        self.net.eval()
        return self

    @torch.no_grad()
    def _loss(self, x: torch.Tensor, y: torch.Tensor, batch: int = 4096) -> float:
        was = self.net.training
        self.net.eval()
        total = 0.0
        for i in range(0, len(y), batch):
            total += float(F.cross_entropy(self.net(x[i : i + batch]), y[i : i + batch], reduction="sum"))
        self.net.train(was)
        return total / len(y)

    # ---- the common interface --------------------------------------------------------------
    def _need_fit(self) -> None:
        if self.net is None:
            raise ConfigError("the window LM is not trained yet: call fit first")

    def perplexity(self, sentences: list[list[str]]) -> float:
        """exp of the mean cross-entropy over every word and every <eos>."""
        self._need_fit()
        return math.exp(self._loss(*self._windows(sentences)))

    @torch.no_grad()
    def generate(
        self, prompt_words: list[str], max_tokens: int = 30, temperature: float = 1.0, seed: int = 0, stop_at_eos: bool = False
    ) -> list[str]:
        """Sample a continuation of the prompt (softmax at `temperature`); `<eos>` ends a sentence."""
        self._need_fit()
        if not temperature > 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        gen = torch.Generator().manual_seed(seed)
        window = ([Vocab.eos_id] * self.cfg.context + self.vocab.encode(prompt_words))[-self.cfg.context :]
        out = []
        for _ in range(max_tokens):
            logits = self.net(torch.tensor([window]))[0] / temperature
            logits[Vocab.pad_id] = -math.inf
            wid = int(torch.multinomial(logits.softmax(-1), 1, generator=gen))
            out.append(self.vocab.itos[wid])
            if wid == Vocab.eos_id and stop_at_eos:
                break
            window = window[1:] + [wid]
        return out

    def size(self) -> dict:
        """Parameters and their bytes (float32)."""
        self._need_fit()
        params = sum(p.numel() for p in self.net.parameters())
        nbytes = sum(p.numel() * p.element_size() for p in self.net.parameters())
        return {"kind": f"window LM (n = {self.cfg.context + 1})", "entries": params, "bytes": nbytes}
