"""The `rnn-nlp` command line: verbs, their options and their help."""

from __future__ import annotations

import argparse

from rnn_nlp.cli import commands, library, shipping
from rnn_nlp.version import __version__

DESCRIPTION = "One recurrent backbone, pretrained as a language model, feeding heads for tagging, classification, QA and generation."


def _device_and_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, help="torch threads on CPU (default: the run's trainer.threads, else torch's own)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-nlp", description=DESCRIPTION)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"rnn-nlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a recipe: rnn-nlp train lm-ptb trainer.lr=10 (a built-in name or a YAML file)")
    p.add_argument("config", help="a built-in recipe's name (rnn-nlp recipes) or a YAML file")
    p.add_argument("overrides", nargs="*", help="dotted key=value overrides, e.g. trainer.epochs=2")
    p.add_argument("--out", help="run folder (default runs/<config name>)")
    p.add_argument(
        "--resume", action="store_true", help="continue from the run folder's last checkpoint (with no overrides: its own config)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.set_defaults(func=commands.train)

    p = sub.add_parser("evaluate", help="metrics of a trained run on a split, written as JSON in the run")
    p.add_argument("run_dir")
    p.add_argument("--split", default="valid", choices=["train", "valid", "test"])
    p.add_argument("--data", help="another corpus (name, file or folder) to evaluate on")
    p.add_argument("--beam", type=int, help="seq2seq runs: beam search of this width (1: greedy; default: head.beam)")
    p.add_argument(
        "--ensemble",
        nargs="+",
        metavar="RUN",
        help="classification: average these runs' probabilities with RUN_DIR's (files *-ensemble in RUN_DIR)",
    )
    p.add_argument("--batch-size", type=int, help="examples (LM: streams) per evaluation batch (default: trainer.eval_batch_size)")
    _device_and_threads(p)
    p.set_defaults(func=commands.evaluate)

    p = sub.add_parser(
        "generate",
        help="continue a prompt with a trained language model (greedy, sampling or beam search)",
        description="One line per result: the prompt and its continuation.",
    )
    p.add_argument("run_dir")
    p.add_argument("--prompt", default="", help="text to continue; empty: start a sentence (seq2seq: a target prefix)")
    p.add_argument("--source", help="seq2seq runs: the source text to translate / summarize")
    p.add_argument("--source-file", help="seq2seq runs: many sources, one a line (- for standard input)")
    p.add_argument("--batch-size", type=int, help="seq2seq runs: sources decoded together (default: trainer.eval_batch_size)")
    p.add_argument("--max-tokens", type=int, help="at most this many new tokens (1..10000; default 30, seq2seq: head.max_decode_tokens)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same samples")
    p.add_argument("--sample", action="store_true", help="sample instead of greedy decoding")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling: below 1 sharper, above 1 flatter")
    p.add_argument("--top-k", type=int, default=0, help="sampling: only the k most likely tokens (0: all)")
    p.add_argument("--top-p", type=float, default=1.0, help="sampling: nucleus, the smallest set with this mass")
    p.add_argument("--beam", type=int, default=None, help="beam search of this width (0 or 1: greedy; default 0, seq2seq: head.beam)")
    p.add_argument(
        "--length-penalty",
        type=float,
        default=None,
        help="beam: GNMT alpha, scores divided by ((5+len)/6)**alpha (default 0.6, seq2seq: head.length_penalty)",
    )
    p.add_argument("--num-samples", type=int, default=1, help="with --sample: K samples, batched; with --beam: the K best beams")
    p.add_argument(
        "--stop-at-eos",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="end each result at <eos> (default: on for --beam, off otherwise)",
    )
    _device_and_threads(p)
    p.set_defaults(func=commands.generate)

    p = sub.add_parser("predict", help="predict for raw text, one input per line; JSON lines out")
    p.add_argument("run_dir")
    # optional for argparse only: `predict RUN --ensemble R2 FILE` would otherwise end in "required: input"
    p.add_argument("input", nargs="?", help="a text file, or - for standard input (before --ensemble)")
    p.add_argument(
        "--format",
        default="jsonl",
        choices=["jsonl", "conll"],
        help="conll: token<TAB>tag lines, a blank line after each input (tagging runs)",
    )
    p.add_argument("--ensemble", nargs="+", metavar="RUN", help="classification: average these runs' probabilities with RUN_DIR's")
    p.add_argument("--batch-size", type=int, default=64, help="inputs per forward pass; results are written batch by batch")
    _device_and_threads(p)
    p.set_defaults(func=commands.predict)

    p = sub.add_parser(
        "encode",
        help="one vector per input line from a run's backbone and pooling (a QA run: its question encoder)",
        description="JSON lines {text, vector} on standard output, or a [N, D] float32 .npy with --out.",
    )
    p.add_argument("run_dir")
    p.add_argument("input", help="a text file, one text a line, or - for standard input")
    p.add_argument("--out", help="write the vectors as a .npy file instead of JSON lines")
    p.add_argument("--pooling", help="comma-separated last,max,mean (default: the run's own; mean,max for LMs and taggers)")
    _device_and_threads(p)
    p.set_defaults(func=commands.encode)

    p = sub.add_parser(
        "serve",
        help="an HTTP API and a web page for trained runs (needs the serve extra)",
        description="Serve runs over HTTP: per-model endpoints, /health, /models, API docs at /docs and a page at / to try them.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (or trained recipes' names); NAME=RUN names one")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="server processes, each loading the models (default 1)")
    p.add_argument("--threads", type=int, help="torch threads per worker (default: the cores shared out among the workers)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--max-batch", type=int, default=32, help="inputs per forward pass; 1 turns micro-batching off")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="how long a batch's first input waits for company")
    p.add_argument("--queue", type=int, default=256, help="inputs waiting per model and endpoint; more are refused with 503")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a request may wait for its result (then 503)")
    p.set_defaults(func=commands.serve)

    p = sub.add_parser("data", help="list or fetch the built-in corpora")
    dsub = p.add_subparsers(dest="data_command", required=True)
    dsub.add_parser("list", help="the corpora `fetch` knows")
    f = dsub.add_parser("fetch", help="download and convert a corpus into the cache")
    f.add_argument("name")
    f.add_argument("--refresh", action="store_true", help="rebuild the cached copy")
    i = dsub.add_parser("info", help="a fetched corpus's splits and, for a mix, its sources' word counts and licences")
    i.add_argument("name")
    p.set_defaults(func=library.data)

    p = sub.add_parser(
        "experiment",
        help="re-run one of the lecture's claims and write JSON + PNG: rnn-nlp experiment list",
    )
    p.add_argument("name", help="an experiment name, or `list`")
    p.add_argument("overrides", nargs="*", help="parameter overrides, e.g. steps=200")
    p.add_argument("--config", help="YAML of parameters, e.g. configs/experiments/clipping-long.yaml")
    p.add_argument("--out", help="output folder (default runs/experiments/<name>)")
    p.set_defaults(func=library.experiment)

    p = sub.add_parser(
        "demo",
        help="the main job: pretrain a small LM on PTB, then fine-tune a sentiment classifier and an NER tagger from it",
    )
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--threads", type=int, help="torch threads for every step (trainer.threads; default: torch's own)")
    p.add_argument(
        "overrides",
        nargs="*",
        help="overrides for all three runs, e.g. trainer.epochs=1 (each run's own keys: lm.trainer.lr=10, "
        "sentiment.head.dropout=0.2, ner.data.max_train_sentences=500)",
    )
    p.set_defaults(func=library.demo)

    p = sub.add_parser("recipes", help="the built-in recipes: list them, show one, copy one to edit")
    rsub = p.add_subparsers(dest="recipes_command")
    rsub.add_parser("list", help="every recipe's name and what it trains (the default)")
    s = rsub.add_parser("show", help="print a recipe's YAML")
    s.add_argument("name")
    c = rsub.add_parser("copy", help="copy a recipe to a file of your own, to edit and train")
    c.add_argument("name")
    c.add_argument("file")
    c.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p.set_defaults(func=library.recipes)

    shipping.add_parsers(sub)  # export, push
    return parser
