"""Pretrain the classification benchmark's LM on more text than PTB: PTB + State of the Union +
the training texts of Rotten Tomatoes and BBC news (never their valid or test texts).

    python benchmarks/pretrain_mix.py --out runs/lm-mix --budget-s 1500 --threads 1
    python benchmarks/classify.py --pretrained runs/lm-mix ...

Every text except PTB goes through the tokenizer the classifiers use (spaCy, lower-cased,
numbers as N); PTB is already in that form. The mixed corpus is written as a folder of
train/valid/test text files (valid: the reviews' validation texts, so the LM is selected on
in-domain text), then trained with the library like any local corpus.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_nlp.data.fetchers.cache import fetch  # noqa: E402
from rnn_nlp.data.labeled import load_labeled_corpus  # noqa: E402
from rnn_nlp.data.text import write_split_files  # noqa: E402
from rnn_nlp.data.tokenize import Tokenizer  # noqa: E402
from rnn_nlp.runs import build_config, train_run  # noqa: E402

SOURCES = ("ptb", "sotu", "rotten-tomatoes", "bbc-news")


def corpus_lines(source: str, split: str, tokenizer: Tokenizer) -> list[str]:
    """One source's split as space-joined tokens, one sentence or text a line."""
    if source == "ptb":
        return list(fetch("ptb")[split]["text"])
    if source == "sotu":
        texts = list(fetch("sotu")[split]["text"])
    else:
        texts = [line for text in load_labeled_corpus(source)[split]["text"] for line in text.split("\n") if line.strip()]
    return [" ".join(tokens) for tokens in tokenizer.pipe(texts) if tokens]


def write_corpus(folder: Path, sources: list[str], valid_source: str, seed: int = 0) -> dict[str, int]:
    """train.txt (all sources, lines shuffled by source block), valid.txt and test.txt (`valid_source`)."""
    tokenizer = Tokenizer("spacy", lowercase=True, normalize_numbers=True)
    blocks = [corpus_lines(s, "train", tokenizer) for s in sources]
    random.Random(seed).shuffle(blocks)
    held_out = corpus_lines(valid_source, "valid", tokenizer)  # test texts of the tasks are never read
    splits = {"train": [line for block in blocks for line in block], "valid": held_out, "test": held_out}
    write_split_files(folder, splits)
    return {split: sum(len(line.split()) for line in lines) for split, lines in splits.items()}


def lm_config(folder: Path, args: argparse.Namespace) -> dict:
    return {
        "task": "lm",
        "data": {"name": str(folder), "tokenizer": "whitespace", "vocab_size": args.vocab, "min_count": 2},
        "backbone": {
            "rnn": "lstm",
            "emb_size": 256,
            "hidden_size": 256,
            "layers": 2,
            "direction": args.direction,
            "input_dropout": 0.25,
            "hidden_dropout": 0.25,
            "output_dropout": 0.4,
            "embed_dropout": 0.05,
        },
        "head": {"softmax": "adaptive", "cutoffs": [2000, 10000], "tie_weights": False},
        "trainer": {
            "epochs": 50,
            "time_budget_s": args.budget_s,
            "batch_size": 20,
            "eval_batch_size": 10,
            "bptt": 35,
            "optimizer": "sgd",
            "lr": 20.0,
            "clip_norm": 0.25,
            "schedule": "plateau",
            "plateau_factor": 0.25,
            "seed": 1111,
            "device": "cpu",
            "threads": args.threads,
            "progress": False,
            "checkpoint_every": 2000,
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="the LM's run folder")
    p.add_argument("--sources", default=",".join(SOURCES))
    p.add_argument("--valid-source", default="rotten-tomatoes")
    p.add_argument("--budget-s", type=float, default=1500, help="seconds of training")
    p.add_argument("--vocab", type=int, default=30000)
    p.add_argument("--direction", default="forward", choices=["forward", "backward", "both"], help="which LMs to train")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--resume", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = args.out.with_name(args.out.name + "-corpus")
    if not (folder / "train.txt").exists():
        sizes = write_corpus(folder, args.sources.split(","), args.valid_source)
        print(f"corpus in {folder}: " + ", ".join(f"{k} {v:,} tokens" for k, v in sizes.items()), flush=True)
    cfg = build_config(lm_config(folder, args), "pretrain_mix")
    train_run(cfg, args.out, resume=args.resume, overwrite=not args.resume)
    print(f"LM in {args.out}")


if __name__ == "__main__":
    main()
