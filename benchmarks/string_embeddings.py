"""What contextual string embeddings cost a tagger epoch, with their cache and without it.

    python benchmarks/string_embeddings.py              # about a minute on 1 CPU thread
    python benchmarks/string_embeddings.py --sentences 800 --epochs 3

A few hundred distinct synthetic sentences (CoNLL-like lengths, 8 to 24 words of made-up letters) are
tagged by the recipe ner-conll03-flair (word backbone, char-CNN, string embeddings -> BiLSTM 256 -> CRF),
its char LM shaped as the recipe lm-english-char (one LSTM layer of 512 per direction; its weights are
those of one training step: the cost does not depend on them). Rows, each a fresh run:
- no-strings: the same tagger without string embeddings (what an epoch cost before them);
- cached: string embeddings, the frozen char LM's features kept in memory as float32 (the default);
- cached-fp16: the same, kept as float16 (the recipe's choice);
- uncached: string_embeddings_cache_mb=0, the char LM run over every batch of every epoch.
Each epoch's training time (the trainer's clock: evaluation left out) is reported; epoch 1 of a cached
row computes every sentence's features, later epochs read them. Results: benchmarks/results/string_embeddings.json, .md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_nlp.runs import load_config, train_run  # noqa: E402

ROWS = {
    "no-strings": ["head.string_embeddings=null"],
    "cached": ["head.string_embeddings_cache_dtype=float32"],
    "cached-fp16": ["head.string_embeddings_cache_dtype=float16"],  # the recipe's setting
    "uncached": ["head.string_embeddings_cache_mb=0"],
}


def write_corpus(folder: Path, sizes: tuple[int, int, int], seed: int = 0) -> list[str]:
    """CoNLL columns (word X X tag) of distinct random sentences; returns every sentence as a line of text."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(3000)]
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for split, n in zip(("train", "valid", "test"), sizes):
        rows = []
        for _ in range(n):
            sentence = [w.capitalize() if rng.random() < 0.15 else w for w in rng.choices(words, k=rng.randint(8, 24))]
            rows += [f"{w} X X {'B-X' if w[0].isupper() else 'O'}" for w in sentence] + [""]
            lines.append(" ".join(sentence))
        (folder / f"{split}.txt").write_text("\n".join(rows), encoding="utf-8")
    return lines


def char_lm(root: Path, lines: list[str]) -> Path:
    """A char LM of lm-english-char's shape after one training step on the corpus's text."""
    text = root / "text"
    text.mkdir()
    for split in ("train", "valid", "test"):
        (text / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    overrides = [f"data.name={text}", "trainer.max_steps=1", "trainer.time_budget_s=null", "trainer.progress=false", "trainer.device=cpu"]
    train_run(load_config("lm-english-char", overrides), root / "charlm")
    return root / "charlm"


def epoch_seconds(run: Path) -> list[float]:
    """Each epoch's training time from the run's metrics.csv (elapsed_s is cumulative training time)."""
    with open(run / "metrics.csv", encoding="utf-8") as fh:
        elapsed = [float(row["elapsed_s"]) for row in csv.DictReader(fh)]
    return [b - a for a, b in zip([0.0, *elapsed], elapsed)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=300, help="training sentences (valid and test: a sixth each)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "string_embeddings.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sizes = (args.sentences, max(1, args.sentences // 6), max(1, args.sentences // 6))
        lines = write_corpus(root / "data", sizes)
        lm = char_lm(root, lines)
        results = {}
        for name, extra in ROWS.items():
            overrides = [
                f"data.name={root / 'data'}",
                f"head.string_embeddings={lm}",
                f"trainer.epochs={args.epochs}",
                "trainer.time_budget_s=null",
                "trainer.progress=false",
                "trainer.device=cpu",
                *extra,
            ]
            cfg = load_config("ner-conll03-flair", overrides)
            trainer = train_run(cfg, root / name)
            strings = trainer.model.head.strings
            cache = strings.cache if strings is not None else None
            results[name] = {
                "epoch_s": [round(s, 2) for s in epoch_seconds(root / name)],
                "cache_mb": round(cache.bytes / 2**20, 1) if cache else 0.0,
                "computed_sentences": cache.misses if cache else None,
                "cache_hits": cache.hits if cache else None,
            }
            print(name, results[name], flush=True)
    tokens = sum(len(line.split()) for line in lines[: args.sentences])
    report = {
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread",
        "train_sentences": args.sentences,
        "train_tokens": tokens,
        "train_chars": sum(len(line) + 1 for line in lines[: args.sentences]),
        "rows": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md = [
        f"# String embeddings: a tagger epoch with and without the cache ({args.sentences} sentences, {tokens} tokens)",
        "",
        f"{report['machine']}; recipe ner-conll03-flair, char LM of lm-english-char's shape (512 per direction).",
        "",
        "| row | " + " | ".join(f"epoch {i + 1} (s)" for i in range(args.epochs)) + " | cache (MB) |",
        "|---|" + "---|" * (args.epochs + 1),
    ]
    for name, row in results.items():
        md.append(f"| {name} | " + " | ".join(f"{s:.2f}" for s in row["epoch_s"]) + f" | {row['cache_mb']} |")
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
