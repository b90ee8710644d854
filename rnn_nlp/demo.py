"""The main job on a built-in default: pretrain a small LSTM LM on a PTB slice, report, generate."""

from __future__ import annotations

import time
from pathlib import Path

from rnn_nlp.config import build_config
from rnn_nlp.data.fetch import fetch
from rnn_nlp.generate import generate_text
from rnn_nlp.runs import load_run, train_run
from tasks.lm import describe

# A few minutes on 2 CPU cores. The full recipe is configs/lm-ptb.yaml.
DEMO_CONFIG = {
    "task": "lm",
    "data": {"name": "ptb", "tokenizer": "whitespace", "max_train_tokens": 300_000, "max_eval_tokens": 40_000},
    "backbone": {
        "rnn": "lstm",
        "emb_size": 256,
        "hidden_size": 256,
        "layers": 1,
        "input_dropout": 0.1,
        "output_dropout": 0.2,
    },
    "head": {"softmax": "full", "tie_weights": True},
    "trainer": {
        "epochs": 3,
        "batch_size": 20,
        "bptt": 35,
        "optimizer": "sgd",
        "lr": 20.0,
        "clip_norm": 0.25,
        "schedule": "plateau",
        "checkpoint_every": 200,
        "seed": 1111,
    },
}
PROMPTS = ("the company said", "the stock market")


def run_demo(out: Path) -> dict:
    start = time.perf_counter()
    table = fetch("ptb")
    print(f"PTB: {len(table['train']):,} training sentences (using the first 300k tokens)")
    cfg = build_config(DEMO_CONFIG, "built-in demo config")
    train_run(cfg, out, overwrite=True)
    cfg, task, model = load_run(out, "cpu")
    device = next(model.parameters()).device
    results = {split: task.evaluate(model, split, device) for split in ("valid", "test")}
    for split, metrics in results.items():
        print(f"{split}: {describe(metrics)}")
    for prompt in PROMPTS:
        text = generate_text(model, task.token_vocab(), task.tokenizer, prompt, max_tokens=15)
        print(f"greedy: {prompt} | {text}")
    print(f"run folder: {out} (metrics.csv, curves.png); took {time.perf_counter() - start:.0f} s")
    return results
