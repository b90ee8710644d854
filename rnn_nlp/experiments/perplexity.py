"""The lecture's perplexity table: Kneser-Ney n-gram vs fixed-window vs Elman RNN vs LSTM on one text.

Every model reads the same sentences (the first `max_train_tokens` words of the training split,
the first `max_eval_tokens` of valid and test), uses the same vocabulary (built on that training
text, as the LM task builds it) and predicts the same tokens: every word and every sentence end.
Besides the main table it fits Kneser-Ney models of orders `size_orders` for the lecture's
sparsity/storage trade-off: stored n-grams and bytes as n grows, and the share of test n-grams
never seen in training.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import ConfigError
from rnn_nlp.experiments.common import corpus_sentences, new_figure, save_figure
from rnn_nlp.experiments.rnnlm import RNNLM
from rnn_nlp.files import replace_text
from rnn_nlp.nn.baselines import NGramLM, WindowConfig, WindowLM
from rnn_nlp.runs import build_config

NAME = "perplexity"
DESCRIPTION = "n-gram (Kneser-Ney) vs fixed-window vs Elman RNN vs LSTM on PTB: perplexity, size, training time"
PUBLISHED_KN5 = 141.2  # Mikolov 2011, PTB test, KN-smoothed 5-gram
RNN_KINDS = {"elman": "elman_tanh", "lstm": "lstm", "gru": "gru"}
RNN_NAMES = {"elman": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass
class Params:
    data: str = "ptb"  # a fetcher name or a folder with train/valid/test text files (one sentence a line)
    max_train_tokens: int | None = 150_000
    max_eval_tokens: int | None = 20_000
    ngram_order: int = 5
    ngram_discounts: str = "modified"  # Kneser-Ney: "modified" (D1, D2, D3+) or "single"
    size_orders: list[int] = field(default_factory=lambda: [2, 3, 4, 5])
    window_context: int = 4
    window_emb: int = 64
    window_hidden: int = 128
    window_budget_s: float = 60.0
    window_epochs: int = 20
    rnns: list[str] = field(default_factory=lambda: ["elman", "lstm"])
    rnn_emb: int = 256
    rnn_hidden: int = 256
    elman_layers: int = 1
    lstm_layers: int = 1
    rnn_budget_s: float = 60.0  # training seconds per RNN
    # LSTM/GRU: Adam learns most in a minute; for longer runs SGD at lr 20 (configs/lm-ptb.yaml), as the
    # long config does. Both: clipping at rnn_clip, lr / 4 on a plateau.
    rnn_optimizer: str = "adam"
    rnn_lr: float = 0.002
    elman_optimizer: str = "adam"  # SGD at lr 20 diverges for the Elman RNN; Adam learns fastest in minutes
    elman_lr: float = 0.002
    rnn_clip: float = 0.25
    rnn_dropout: float = 0.1
    rnn_epochs: int = 1000  # the budget ends the run first
    batch_size: int = 20
    rnn_eval_batch: int = 10  # evaluation streams, as the LM task evaluates (1: one stream, slower)
    bptt: int = 35
    threads: int = 1
    seed: int = 1111
    keep_runs: bool = False  # keep the RNN run folders under <out_dir>/runs (else a temporary folder)


def rnn_config(kind: str, p: Params, vocab_size: int):
    """The library run config of one RNN LM of the table."""
    layers = p.elman_layers if kind == "elman" else p.lstm_layers
    adaptive = vocab_size > 6000
    head = (
        {"softmax": "adaptive", "cutoffs": [2000, 5000], "tie_weights": False}
        if adaptive
        else {"softmax": "full", "tie_weights": p.rnn_emb == p.rnn_hidden}
    )
    drop = p.rnn_dropout
    raw = {
        "task": "lm",
        "data": {"name": p.data, "tokenizer": "whitespace"},
        "backbone": {
            "rnn": RNN_KINDS[kind],
            "emb_size": p.rnn_emb,
            "hidden_size": p.rnn_hidden,
            "layers": layers,
            "input_dropout": drop,
            "hidden_dropout": drop,
            "output_dropout": drop,
        },
        "head": head,
        "trainer": {
            "epochs": p.rnn_epochs,
            "time_budget_s": p.rnn_budget_s,
            "batch_size": p.batch_size,
            "eval_batch_size": 10,
            "bptt": p.bptt,
            "optimizer": p.elman_optimizer if kind == "elman" else p.rnn_optimizer,
            "lr": p.elman_lr if kind == "elman" else p.rnn_lr,
            "clip_norm": p.rnn_clip,
            "schedule": "plateau",
            "plateau_factor": 0.25,
            "seed": p.seed,
            "device": "cpu",
            "threads": p.threads,
            "checkpoint_every": 1_000_000,
            "progress": False,
        },
    }
    return build_config(raw, f"experiment {NAME}: {kind}")


def _row(name: str, model, valid, test, train_s: float) -> dict:
    size = model.size()
    return {
        "model": name,
        "kind": size["kind"],
        "valid_ppl": round(model.perplexity(valid), 2),
        "test_ppl": round(model.perplexity(test), 2),
        "size": int(size["entries"]),
        "bytes": int(size["bytes"]),
        "train_s": round(train_s, 1),
    }


def run(params: Params, out_dir: Path) -> dict:
    import torch

    unknown = [k for k in params.rnns if k not in RNN_KINDS]
    if unknown:
        raise ConfigError(f"experiment {NAME}: rnns holds unknown kinds {unknown}; known: {', '.join(RNN_KINDS)}")
    for key, orders in (("ngram_order", [params.ngram_order]), ("size_orders", params.size_orders)):
        if any(n < 1 for n in orders):
            raise ConfigError(f"experiment {NAME}: {key} must hold n-gram orders >= 1, got {orders}")
    torch.set_num_threads(params.threads)
    train = corpus_sentences(params.data, "train", params.max_train_tokens)
    valid = corpus_sentences(params.data, "valid", params.max_eval_tokens)
    test = corpus_sentences(params.data, "test", params.max_eval_tokens)
    vocab = Vocab.build(train)
    rows = []

    start = time.perf_counter()
    kn = NGramLM(params.ngram_order, "kneser-ney", discounts=params.ngram_discounts).fit(train, vocab=vocab)
    kn_fit_s = time.perf_counter() - start
    rows.append(_row(f"KN {params.ngram_order}-gram", kn, valid, test, kn_fit_s))

    orders = []
    for n in params.size_orders:
        start = time.perf_counter() - (kn_fit_s if n == params.ngram_order else 0.0)  # fit and scoring seconds
        lm = kn if n == params.ngram_order else NGramLM(n, "kneser-ney", discounts=params.ngram_discounts).fit(train, vocab=vocab)
        size = lm.size()
        orders.append(
            {
                "n": n,
                "test_ppl": round(lm.perplexity(test), 2),
                "ngrams": size["entries"],
                "ngrams_per_order": [o["ngrams"] for o in size["orders"]],
                "bytes": size["bytes"],
                "unseen_test_fraction": [round(f, 4) for f in lm.unseen_fraction(test)],
                "fit_s": round(time.perf_counter() - start, 1),
            }
        )

    window = WindowLM(
        WindowConfig(
            context=params.window_context,
            emb_size=params.window_emb,
            hidden_size=params.window_hidden,
            epochs=params.window_epochs,
            time_budget_s=params.window_budget_s,
            seed=params.seed,
        ),
        vocab=vocab,
    )
    window.fit(train, valid)
    rows.append(_row(f"window (n={params.window_context + 1})", window, valid, test, window.train_seconds))

    with tempfile.TemporaryDirectory(prefix="perplexity-") as tmp:
        runs = out_dir / "runs" if params.keep_runs else Path(tmp)
        for kind in params.rnns:
            rnn = RNNLM(rnn_config(kind, params, len(vocab)), work_dir=runs / kind, eval_batch_size=params.rnn_eval_batch)
            rnn.fit(train, valid)
            if rnn.vocab.itos != vocab.itos:
                raise RuntimeError("the RNN's vocabulary differs from the baselines' one")
            rows.append(_row(RNN_NAMES[kind], rnn, valid, test, rnn.train_seconds))

    kn_test = rows[0]["test_ppl"]
    result = {
        "tokens": {
            "train": sum(map(len, train)) + len(train),
            "valid": sum(map(len, valid)) + len(valid),
            "test": sum(map(len, test)) + len(test),
            "vocab": len(vocab) - 1,
        },
        "models": rows,
        "ngram_orders": orders,
        "published": {"KN5 test ppl (Mikolov 2011)": PUBLISHED_KN5},
        "rnns_beat_ngram": {r["model"]: r["test_ppl"] < kn_test for r in rows[2:]},
        "kn_discounts": [list(d) for d in kn.discounts],
    }
    replace_text(out_dir / f"{NAME}.md", markdown(result, params))
    _plot(result, out_dir / f"{NAME}.png")
    return result


def markdown(result: dict, params: Params) -> str:
    """The two tables: models side by side, and the n-gram orders' size and sparsity."""
    t = result["tokens"]
    lines = [
        f"Data: `{params.data}`, {t['train']:,} training tokens, {t['valid']:,} valid, {t['test']:,} test "
        f"(words and sentence ends), vocabulary {t['vocab']:,} predicted types.",
        "",
        "| model | kind | valid ppl | test ppl | size | MB | train s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["models"]:
        lines.append(
            f"| {r['model']} | {r['kind']} | {r['valid_ppl']:.1f} | {r['test_ppl']:.1f} | {r['size']:,} | "
            f"{r['bytes'] / 1e6:.1f} | {r['train_s']:.0f} |"
        )
    lines += [
        "",
        f"Published: KN 5-gram, PTB test perplexity {PUBLISHED_KN5} (Mikolov 2011); ours: "
        f"{result['models'][0]['test_ppl']:.1f} (size: stored n-grams of all orders; parameters for the neural models).",
        "",
        "| n | test ppl | stored n-grams | MB | test n-grams unseen in training (orders 1..n) |",
        "|---:|---:|---:|---:|---|",
    ]
    for o in result["ngram_orders"]:
        unseen = ", ".join(f"{100 * f:.1f}%" for f in o["unseen_test_fraction"])
        lines.append(f"| {o['n']} | {o['test_ppl']:.1f} | {o['ngrams']:,} | {o['bytes'] / 1e6:.1f} | {unseen} |")
    return "\n".join(lines) + "\n"


def _plot(result: dict, path: Path) -> None:
    fig, axes = new_figure(ncols=4, width=4.2, height=4.0)
    rows = result["models"]
    names = [r["model"] for r in rows]
    colors = ["#888888", "#9467bd", "#1f77b4", "#d62728", "#2ca02c"][: len(rows)]
    for ax, key, title in zip(
        axes[0][:3], ("test_ppl", "bytes", "train_s"), ("test perplexity", "model size (bytes)", "training time (s)")
    ):
        values = [r[key] for r in rows]
        ax.bar(names, values, color=colors)
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=30)
        for i, v in enumerate(values):
            label = f"{v / 1e6:.1f} MB" if key == "bytes" else f"{v:.0f}"
            ax.annotate(label, (i, v), ha="center", va="bottom", fontsize=8)
    axes[0][0].axhline(PUBLISHED_KN5, color="black", linestyle="--", linewidth=1, label=f"published KN5 {PUBLISHED_KN5}")
    axes[0][0].legend(fontsize=8)
    axes[0][1].set_yscale("log")
    ax = axes[0][3]
    orders = result["ngram_orders"]
    if orders:
        ns = [o["n"] for o in orders]
        ax.plot(ns, [o["ngrams"] for o in orders], "o-", label="stored n-grams")
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_xticks(ns)
        ax.set_title("n-gram storage and sparsity")
        twin = ax.twinx()
        twin.plot(ns, [100 * o["unseen_test_fraction"][-1] for o in orders], "s--", color="#d62728", label="unseen test n-grams (%)")
        twin.set_ylim(0, 100)
        ax.legend(loc="upper left", fontsize=8)
        twin.legend(loc="lower right", fontsize=8)
    save_figure(fig, path)
