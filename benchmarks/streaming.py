"""Peak memory of LM training as the corpus grows: `data.streaming: true` against the in-memory path.

The corpus is real text (the Penn Treebank training split, repeated) written to one file of
10 MB, 100 MB, ... Each run is its own subprocess with a fresh cache (so it converts the text
to Arrow and token files itself), builds the vocabulary, trains a small LSTM LM for a few
steps and evaluates on a slice of the valid split. Memory is sampled from /proc every 20 ms:
anonymous memory (the process's own heap: what a corpus held in memory costs) and the total
resident set, which also counts pages of memory-mapped files the kernel may drop at will.

    python benchmarks/streaming.py --sizes-mb 10,100,1000 --in-memory-up-to-mb 100

Rows go to benchmarks/results/streaming.json and a Markdown table beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(corpus: str, out: str, streaming: bool) -> None:
    """One measured run (in its own process)."""
    peak = {"anon": 0, "rss": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak["anon"] = max(peak["anon"], _status_kb("RssAnon"))
            peak["rss"] = max(peak["rss"], _status_kb("VmRSS"))
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()
    import torch

    from rnn_nlp.runs import build_config, train_run

    torch.set_num_threads(1)
    base = _status_kb("RssAnon")
    cfg = build_config(
        {
            "task": "lm",
            "data": {"name": corpus, "tokenizer": "whitespace", "streaming": streaming, "max_eval_tokens": 20_000},
            "backbone": {"rnn": "lstm", "emb_size": 64, "hidden_size": 64, "layers": 1},
            "head": {"softmax": "full", "tie_weights": True},
            "trainer": {
                "epochs": 1,
                "max_steps": 50,
                "batch_size": 20,
                "eval_batch_size": 10,
                "bptt": 35,
                "lr": 20.0,
                "schedule": "none",
                "threads": 1,
                "progress": False,
                "device": "cpu",
                "checkpoint_every": 100_000,
            },
        }
    )
    started = time.perf_counter()
    trainer = train_run(cfg, out)
    total = time.perf_counter() - started
    stop.set()
    print(
        json.dumps(
            {
                "peak_anon_mb": round(max(peak["anon"], _status_kb("RssAnon")) / 1024, 1),
                "peak_rss_mb": round(max(peak["rss"], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1),
                "anon_after_imports_mb": round(base / 1024, 1),
                "train_tokens": trainer.steps_per_epoch * 20 * 35,
                "vocab": len(trainer.task.token_vocab()),
                "seconds": round(total, 1),
                "valid_ppl": round(trainer.history[-1]["valid_ppl"], 1),
            }
        )
    )


def build_corpus(path: Path, megabytes: int) -> None:
    """Concatenate the PTB training text until the file has `megabytes` MB."""
    from rnn_nlp.data.fetchers.cache import fetch

    text = "\n".join(fetch("ptb")["train"]["text"]) + "\n"
    block = text.encode("utf-8")
    target = megabytes * 1_000_000
    with open(path, "wb") as fh:
        written = 0
        while written < target:
            piece = block[: target - written]
            fh.write(piece)
            written += len(piece)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", default="10,100")
    parser.add_argument("--in-memory-up-to-mb", type=int, default=100, help="also run the in-memory path up to this size")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "streaming.json"))
    parser.add_argument("--child", nargs=3, metavar=("CORPUS", "OUT", "STREAMING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2] == "1")
        return
    rows = []
    for mb in [int(x) for x in args.sizes_mb.split(",")]:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            corpus = Path(tmp) / "corpus.txt"
            build_corpus(corpus, mb)
            modes = [True] + ([False] if mb <= args.in_memory_up_to_mb else [])
            for streaming in modes:
                cache = Path(tmp) / "cache"
                env = {**os.environ, "RNN_NLP_CACHE": str(cache), "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(cache / "hf")}
                ptb = Path(os.environ.get("RNN_NLP_CACHE") or Path.home() / ".cache" / "rnn_nlp") / "ptb"
                if ptb.exists():  # the corpus is built already; only the run's own files are fresh
                    shutil.copytree(ptb, cache / "ptb", dirs_exist_ok=True)
                cmd = [sys.executable, __file__, "--child", str(corpus), str(Path(tmp) / f"run-{streaming}"), "1" if streaming else "0"]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if done.returncode:
                    raise SystemExit(done.stderr[-3000:])
                row = {
                    "corpus_mb": mb,
                    "mode": "streaming" if streaming else "in-memory",
                    **json.loads(done.stdout.strip().splitlines()[-1]),
                }
                rows.append(row)
                print(row, flush=True)
                shutil.rmtree(cache, ignore_errors=True)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "command": "python benchmarks/streaming.py " + " ".join(sys.argv[1:]),
        "rows": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Peak memory of LM training against corpus size",
        "",
        "PTB training text repeated into one file; whitespace tokens; 1-layer 64-d LSTM, 50 steps of batch 20 x BPTT 35,",
        "valid slice of 20k tokens. Peak anonymous memory = the process's own heap (corpus held in memory shows here);",
        "peak RSS adds resident pages of memory-mapped files (Arrow tables), which the kernel can drop.",
        "",
        "| corpus MB | mode | train tokens | peak anonymous MB | peak RSS MB | seconds (prepare + train + eval) |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['corpus_mb']} | {r['mode']} | {r['train_tokens']:,} | {r['peak_anon_mb']} | {r['peak_rss_mb']} | {r['seconds']} |"
        for r in rows
    ]
    lines += ["", f"Command: `{result['command']}` ({result['machine']})"]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
