"""Samples from an n-gram LM and an RNN LM at a few temperatures, same prompts, same seeds.

Low temperatures give safe, repetitive text, high ones diverse nonsense; the n-gram's text is
locally fluent but loses the thread, the RNN's holds longer. Measured per model and temperature:
distinct-1/2 (unique uni/bigrams over all sampled ones, Li et al. 2016) and the perplexity of the
samples under the model itself (how much of its own likely region the sampler stays in).
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from rnn_nlp.data.vocab import EOS, Vocab
from rnn_nlp.errors import ConfigError
from rnn_nlp.experiments.common import corpus_sentences, new_figure, save_figure
from rnn_nlp.experiments.perplexity import Params as TableParams
from rnn_nlp.experiments.perplexity import rnn_config
from rnn_nlp.experiments.rnnlm import RNNLM
from rnn_nlp.nn.baselines import NGramLM

NAME = "generation"
DESCRIPTION = "samples from a Kneser-Ney n-gram LM vs an RNN LM at several temperatures (distinct-n, self-perplexity)"


@dataclass
class Params:
    data: str | None = None  # a fetcher name or a text folder; default: ptb, or the corpus rnn_run was trained on
    max_train_tokens: int | None = 100_000
    max_eval_tokens: int | None = 10_000
    ngram_order: int = 3
    rnn_run: str | None = None  # an existing LM run folder to sample from (then nothing RNN is trained)
    rnn: str = "lstm"  # trained when rnn_run is not given: kind, size and budget
    rnn_layers: int = 1
    rnn_size: int = 256
    rnn_budget_s: float = 60.0
    rnn_optimizer: str = "adam"  # or sgd with rnn_lr=20 for an LSTM trained for long (it diverges for Elman)
    rnn_lr: float = 0.002
    rnn_epochs: int = 1000  # the budget ends the run first
    prompts: list[str] = field(default_factory=lambda: ["the company said", "in new york", ""])
    temperatures: list[float] = field(default_factory=lambda: [0.5, 0.8, 1.0, 1.5])
    samples_per_prompt: int = 3
    max_tokens: int = 25
    seed: int = 0
    threads: int = 1


def _sentences(tokens: list[str]) -> list[list[str]]:
    """Sampled tokens cut at each <eos> into sentences (a trailing unfinished one included)."""
    out, current = [], []
    for tok in tokens:
        if tok == EOS:
            out.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        out.append(current)
    return [s for s in out if s] or [[]]


def distinct(samples: list[list[str]], n: int) -> float:
    """Unique n-grams / all n-grams over the samples (0 when there are none)."""
    grams = [tuple(s[i : i + n]) for s in samples for i in range(len(s) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def _train_rnn(p: Params, train, valid, vocab: Vocab, work: Path) -> RNNLM:
    table = TableParams(
        data=p.data or "ptb",
        rnn_emb=p.rnn_size,
        rnn_hidden=p.rnn_size,
        elman_layers=p.rnn_layers,
        lstm_layers=p.rnn_layers,
        rnn_budget_s=p.rnn_budget_s,
        rnn_epochs=p.rnn_epochs,
        rnn_optimizer=p.rnn_optimizer,
        elman_optimizer=p.rnn_optimizer,
        rnn_lr=p.rnn_lr,
        elman_lr=p.rnn_lr,
        seed=p.seed + 1111,
        threads=p.threads,
    )
    if p.rnn not in ("elman", "lstm", "gru"):
        raise ConfigError(f"experiment {NAME}: rnn must be elman, lstm or gru, got {p.rnn!r}")
    return RNNLM(rnn_config(p.rnn, table, len(vocab)), work_dir=work).fit(train, valid)


def run(params: Params, out_dir: Path) -> dict:
    import torch

    torch.set_num_threads(params.threads)
    if not params.temperatures or any(t <= 0 for t in params.temperatures):
        raise ConfigError(f"experiment {NAME}: temperatures must be positive, got {params.temperatures}")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="generation-") as tmp:
        if params.rnn_run:
            rnn = RNNLM.from_run(params.rnn_run)
            vocab = rnn.vocab
            train = corpus_sentences(params.data or rnn.cfg.data.name, "train", params.max_train_tokens)
        else:
            data = params.data or "ptb"
            train = corpus_sentences(data, "train", params.max_train_tokens)
            vocab = Vocab.build(train)
            valid = corpus_sentences(data, "valid", params.max_eval_tokens)
            rnn = _train_rnn(params, train, valid, vocab, Path(tmp) / "rnn")
        ngram = NGramLM(params.ngram_order, "kneser-ney").fit(train, vocab=vocab)
        models = {f"KN {params.ngram_order}-gram": ngram, f"{rnn.size()['kind']} RNN": rnn}
        samples, stats = {}, []
        for name, lm in models.items():
            samples[name] = {}
            for temp in params.temperatures:
                texts, flat = {}, []
                for i, prompt in enumerate(params.prompts):
                    outs = [
                        lm.generate(prompt.split(), params.max_tokens, temp, params.seed + 1000 * i + j)
                        for j in range(params.samples_per_prompt)
                    ]
                    texts[prompt] = [" ".join(o) for o in outs]
                    flat.extend(outs)
                sentences = [s for o in flat for s in _sentences(o) if s]
                samples[name][str(temp)] = texts
                stats.append(
                    {
                        "model": name,
                        "temperature": temp,
                        "distinct_1": round(distinct(flat, 1), 4),
                        "distinct_2": round(distinct(flat, 2), 4),
                        "self_ppl": round(lm.perplexity(sentences), 2) if sentences else None,
                    }
                )
    result = {
        "models": list(models),
        "stats": stats,
        "samples": samples,
        "train_tokens": sum(map(len, train)) + len(train),
        "elapsed_s": round(time.perf_counter() - start, 1),
    }
    _plot(result, params, out_dir / f"{NAME}.png")
    return result


def _plot(result: dict, params: Params, path: Path) -> None:
    fig, axes = new_figure(ncols=3, width=5.0, height=4.5)
    for name in result["models"]:
        rows = [s for s in result["stats"] if s["model"] == name]
        temps = [s["temperature"] for s in rows]
        axes[0][0].plot(temps, [s["distinct_2"] for s in rows], "o-", label=name)
        axes[0][1].plot(temps, [s["self_ppl"] or float("nan") for s in rows], "o-", label=name)
    axes[0][0].set(title="distinct-2 of the samples", xlabel="temperature")
    axes[0][1].set(title="perplexity of the samples under their model", xlabel="temperature", yscale="log")
    for ax in axes[0][:2]:
        ax.legend(fontsize=8)
    ax = axes[0][2]
    ax.axis("off")
    prompt = params.prompts[0]
    lines = [f"prompt: {prompt!r}"]
    for name in result["models"]:
        for temp in params.temperatures:
            text = result["samples"][name][str(temp)][prompt][0]
            lines.append(textwrap.shorten(f"{name}, T={temp}: {text}", 120))
    ax.text(0, 1, "\n".join(textwrap.fill(line, 60) for line in lines), va="top", ha="left", fontsize=6.5, family="monospace")
    save_figure(fig, path)
