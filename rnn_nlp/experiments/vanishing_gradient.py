"""Vanishing gradients: how fast ||dLoss_t / dh_(t-k)|| shrinks with k, Elman RNN against LSTM, on PTB.

The loss at the last position of a window is backpropagated once; the gradient reaching each
earlier hidden state h_(t-k) is read off. The library's own recurrent layer runs one step at a
time here (this is analysis, not training), so every h_(t-k) is a tensor autograd can report on;
the weights are those of the library's LM, fresh and after a short training run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from rnn_nlp.experiments.common import new_figure, save_figure
from rnn_nlp.experiments.lm_training import build_lm, lm_config, train_lm
from rnn_nlp.nn.heads.lm import LanguageModelNetwork

NAME = "vanishing-gradient"
DESCRIPTION = "norm of dLoss_t/dh_(t-k) against k for an Elman RNN (tanh) and an LSTM, fresh and briefly trained"


@dataclass
class Params:
    corpus: str = "ptb"  # a fetcher name or a local folder with train/valid/test text
    rnns: list[str] = field(default_factory=lambda: ["elman_tanh", "lstm"])
    hidden_size: int = 128  # also the embedding width
    vocab_size: int = 2000  # most frequent words kept; the rest become <unk>
    max_k: int = 60  # measure k = 0..max_k steps back
    warmup: int = 20  # steps run (without gradient) before the window, so the state is not zero
    batch_size: int = 32  # windows per backward pass
    batches: int = 4  # backward passes averaged per model
    fit_from: int = 10  # the decay rate is fitted over k = fit_from..max_k (the curve's tail)
    train_steps: int = 600  # optimiser steps of the "trained" model; 0 measures fresh models only
    train_tokens: int | None = 450000  # training text used for those steps (null: all of it)
    optimizer: str = "adam"
    lr: float = 0.002
    clip_norm: float = 0.25
    seed: int = 1111
    threads: int = 1


def gradient_profile(model: LanguageModelNetwork, ids: torch.Tensor, p: Params) -> np.ndarray:
    """[batches * batch_size, max_k + 1] gradient norms ||dL_t / dh_(t-k)||, one row per window.

    Windows of `warmup + max_k + 2` tokens start at random places in `ids`; the loss is the
    cross-entropy of the window's last prediction only.
    """
    rnn = model.backbone.stack("forward").layers[0]
    if not isinstance(rnn, (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU)):
        raise TypeError("gradient_profile reads a plain fused RNN layer (no weight drop)")
    span = p.warmup + p.max_k + 2
    if ids.numel() < span + 1:
        raise ValueError(f"{ids.numel()} tokens are too few for windows of {span}; lower max_k or warmup")
    gen = torch.Generator().manual_seed(p.seed)
    was_training = model.training
    model.eval()
    rows = []
    embed = model.backbone.embedding
    for _ in range(p.batches):
        starts = torch.randint(0, ids.numel() - span + 1, (p.batch_size,), generator=gen)
        window = ids[starts.unsqueeze(1) + torch.arange(span)]  # [B, span]
        with torch.no_grad():
            _, state = rnn(embed(window[:, : p.warmup]))
        hidden = []  # h_t for each step of the window: the tensor the next step and the loss read
        for t in range(p.max_k + 1):
            step = embed(window[:, p.warmup + t : p.warmup + t + 1]).detach()
            _, state = rnn(step, state)
            h = state[0] if isinstance(state, tuple) else state
            h.retain_grad()
            hidden.append(h)
        top = hidden[-1].transpose(0, 1)  # [B, 1, H]
        target = window[:, p.warmup + p.max_k + 1 : p.warmup + p.max_k + 2]
        model.head.nll(top, target).backward()  # a sum over rows: row b's gradient is its own
        norms = [hidden[-1 - k].grad[0].norm(dim=-1) for k in range(p.max_k + 1)]
        rows.append(torch.stack(norms, dim=1))
        model.zero_grad(set_to_none=True)
    model.train(was_training)
    return torch.cat(rows).numpy()


def decay_fit(mean_norms: np.ndarray, fit_from: int = 0) -> dict:
    """Least-squares line through log10(norm) against k >= fit_from: the slope and the factor per step."""
    k = np.arange(len(mean_norms))
    keep = (mean_norms > 0) & (k >= min(fit_from, len(k) - 2))
    slope, intercept = np.polyfit(k[keep], np.log10(mean_norms[keep]), 1)
    return {"log10_slope_per_step": float(slope), "decay_per_step": float(10**slope), "half_life_steps": half_life(slope)}


def half_life(log10_slope: float) -> float | None:
    """Steps for the norm to halve at the fitted rate (None when it does not shrink)."""
    return float(math.log10(0.5) / log10_slope) if log10_slope < 0 else None


def summarise(norms: np.ndarray, fit_from: int) -> dict:
    mean = norms.mean(axis=0)
    ratio = mean / mean[0]
    checkpoints = [k for k in (1, 5, 10, 20, 30, 50) if k < len(mean)]
    return {
        "mean_norm": [float(v) for v in mean],
        "median_norm": [float(v) for v in np.median(norms, axis=0)],
        "ratio_to_k0": {str(k): float(ratio[k]) for k in checkpoints},
        **decay_fit(mean, fit_from),
        "windows": int(norms.shape[0]),
    }


def run(p: Params, out_dir) -> dict:
    curves: dict[str, dict] = {}
    states = ["fresh"] + (["trained"] if p.train_steps > 0 else [])
    for rnn in p.rnns:
        cfg = lm_config(
            p.corpus,
            {"rnn": rnn, "emb_size": p.hidden_size, "hidden_size": p.hidden_size},
            {
                "optimizer": p.optimizer,
                "lr": p.lr,
                "clip_norm": p.clip_norm,
                "max_steps": max(1, p.train_steps),
                "epochs": 1000,
                "seed": p.seed,
                "threads": p.threads,
            },
            data={"vocab_size": p.vocab_size, "max_train_tokens": p.train_tokens},
        )
        threads = torch.get_num_threads()
        torch.set_num_threads(p.threads)
        try:
            task, model = build_lm(cfg)
            ids = task.ids("valid")
            curves[f"{rnn} fresh"] = summarise(gradient_profile(model, ids, p), p.fit_from)
            if "trained" in states:
                trainer, recorder = train_lm(cfg, built=(task, model))
                result = summarise(gradient_profile(model, ids, p), p.fit_from)
                result["train_steps"] = len(recorder.loss)
                result["valid_ppl_after_training"] = float(trainer.history[-1]["valid_ppl"])
                curves[f"{rnn} trained"] = result
        finally:
            torch.set_num_threads(threads)
    plot(curves, out_dir / f"{NAME}.png", p)
    keys = ("decay_per_step", "log10_slope_per_step", "half_life_steps", "ratio_to_k0", "valid_ppl_after_training")
    summary = {name: {k: c[k] for k in keys if k in c} for name, c in curves.items()}
    return {
        "summary": summary,
        "claim": claim(curves, p),
        "note": "decay_per_step: factor by which the mean gradient norm shrinks per step back, fitted over "
        f"k = {p.fit_from}..{p.max_k}; a fresh LSTM's forget gates sit near sigmoid(0) = 0.5 (biases start "
        "within +-init_range), which shortens its memory until training opens them",
        "curves": curves,
    }


def claim(curves: dict, p: Params) -> dict:
    """Does the Elman curve fall faster than the LSTM's, fresh and trained alike?"""
    out = {}
    if "elman_tanh" in p.rnns and "lstm" in p.rnns:
        for state in ("fresh", "trained"):
            e, l_ = curves.get(f"elman_tanh {state}"), curves.get(f"lstm {state}")
            if e and l_:
                out[f"elman_decays_faster_{state}"] = e["log10_slope_per_step"] < l_["log10_slope_per_step"]
    return out


def plot(curves: dict, path, p: Params) -> None:
    fig, axes = new_figure(1, width=7.0, height=4.5)
    ax = axes[0][0]
    colours = {"elman_tanh": "tab:red", "elman_relu": "tab:orange", "gru": "tab:green", "lstm": "tab:blue"}
    for name, c in curves.items():
        rnn, state = name.split()
        ks = np.arange(len(c["mean_norm"]))
        label = f"{rnn} {state} (x{c['decay_per_step']:.3f}/step)"
        ax.plot(ks, c["mean_norm"], "-" if state == "trained" else "--", color=colours.get(rnn), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("k (steps back from the loss)")
    ax.set_ylabel("mean ||dLoss_t / dh_(t-k)||")
    ax.axvline(p.fit_from, color="grey", lw=0.8, ls=":")
    ax.text(p.fit_from, ax.get_ylim()[0], " decay fitted from here", color="grey", fontsize=7, va="bottom")
    ax.set_title(f"Vanishing gradient on {p.corpus}: hidden {p.hidden_size}, {p.batch_size * p.batches} windows")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, path)
