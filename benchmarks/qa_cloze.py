"""Cloze reading comprehension on CoNLL-2003 documents: the reader beside two baselines, in one run.

    python benchmarks/qa_cloze.py                  # about 25 minutes on 1 CPU thread
    python benchmarks/qa_cloze.py --quick          # smoke test: 1,000 training questions, 1-minute budgets

Rows, all scored on the test split of `conll2003-cloze` (documents never seen in training):
- most-frequent: the candidate entity mentioned most often in the passage;
- word-overlap: the candidate with the most question words within W tokens of one of its mentions
  (W chosen on the valid split from 5, 10, 20; rnn_nlp.nn.baselines.cloze);
- reader: configs/qa-cloze.yaml from a randomly initialised backbone, trained for --budget seconds;
- reader-pretrained: the same, its backbone first pretrained (--lm-budget seconds) as forward and
  backward LMs on the cloze training passages plus PTB (data.pretrain_epochs, runs.train_once), then
  trained for the same --budget seconds.
Results: benchmarks/results/qa_cloze.json and .md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tasks` is a top-level package of the repository

from rnn_nlp.config import load_config  # noqa: E402
from rnn_nlp.data.cloze import normalize_entity  # noqa: E402
from rnn_nlp.data.qa import load_qa_corpus  # noqa: E402
from rnn_nlp.nn.baselines.cloze import most_frequent, word_overlap  # noqa: E402
from rnn_nlp.runs import load_run, train_run  # noqa: E402

CPU = torch.device("cpu")
WINDOWS = (5, 10, 20)


def accuracy(predicted: list[str], records: dict) -> float:
    gold = [normalize_entity(a["text"][0]) for a in records["answers"]]
    return sum(normalize_entity(p) == g for p, g in zip(predicted, gold)) / len(gold)


def baseline_rows(data: str) -> list[dict]:
    recs = load_qa_corpus(data)
    test, valid = recs["test"], recs["valid"]
    started = time.perf_counter()
    mf = [most_frequent(c, k) for c, k in zip(test["context"], test["candidates"])]
    rows = [{"run": "most-frequent", "accuracy": accuracy(mf, test), "seconds": time.perf_counter() - started}]

    def overlap(rec: dict, w: int) -> list[str]:
        return [word_overlap(q, c, k, w) for q, c, k in zip(rec["question"], rec["context"], rec["candidates"])]

    valid_acc = {w: accuracy(overlap(valid, w), valid) for w in WINDOWS}
    best = max(WINDOWS, key=lambda w: (valid_acc[w], -w))
    started = time.perf_counter()
    rows.append({"run": f"word-overlap (window {best})", "accuracy": accuracy(overlap(test, best), test),
                 "valid_accuracy_by_window": valid_acc, "seconds": time.perf_counter() - started})
    n_cand = sum(len(c) for c in test["candidates"]) / len(test["candidates"])
    rows.append({"run": "chance (1 / candidates)", "accuracy": sum(1 / len(c) for c in test["candidates"]) / len(test["candidates"]),
                 "mean_candidates": n_cand})
    return rows


def reader_row(name: str, args: argparse.Namespace, work: Path, pretrain: bool) -> dict:
    overrides = [f"data.name={args.data}", f"trainer.time_budget_s={args.budget}", "trainer.progress=false", "trainer.threads=1"]
    if pretrain:
        overrides += ["data.pretrain_epochs=20", f"data.pretrain_time_budget_s={args.lm_budget}", "data.pretrain_corpora=[ptb]"]
    if args.quick:
        overrides += ["data.max_train_examples=1000"]
    cfg = load_config(ROOT / "configs" / "qa-cloze.yaml", overrides)
    out = work / name
    started = time.perf_counter()
    trainer = train_run(cfg, out, overwrite=True)
    wall = time.perf_counter() - started
    _, task, model = load_run(out, "cpu")
    started = time.perf_counter()
    test = task.evaluate(model, "test", CPU)
    eval_s = time.perf_counter() - started
    last = trainer.history[-1]
    row = {
        "run": name,
        "accuracy": test["accuracy"],
        "exact_match": test["exact_match"],
        "f1": test["f1"],
        "valid_accuracy": max(r["valid_accuracy"] for r in trainer.history),
        "train_s": last["elapsed_s"],
        "epochs": last["epoch"],
        "steps": trainer.global_step,
        "wall_s_with_lm": wall,
        "test_eval_s": eval_s,
        "questions_per_s": len(task.records()["test"]["id"]) / eval_s,
    }
    lm_dir = out / "lm-pretrained"
    if pretrain and (lm_dir / "metrics.csv").exists():
        rows = list(csv.DictReader(open(lm_dir / "metrics.csv")))
        row["lm_train_s"] = float(rows[-1]["elapsed_s"])
        row["lm_valid_ppl"] = {k: float(v) for k, v in rows[-1].items() if "ppl" in k and v}
    return row


def table(rows: list[dict]) -> str:
    lines = ["| run | test accuracy | test EM | test F1 | train s | epochs | LM pretraining s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        em = f"{r['exact_match']:.4f}" if "exact_match" in r else "-"
        f1 = f"{r['f1']:.4f}" if "f1" in r else "-"
        train = f"{r['train_s']:.0f}" if "train_s" in r else "-"
        epochs = f"{r['epochs']:.2f}" if "epochs" in r else "-"
        lm = f"{r['lm_train_s']:.0f}" if "lm_train_s" in r else "-"
        lines.append(f"| {r['run']} | {r['accuracy']:.4f} | {em} | {f1} | {train} | {epochs} | {lm} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="conll2003-cloze", help="conll2003-cloze or conll2003-cloze-anon")
    p.add_argument("--budget", type=float, default=510, help="training seconds of each reader")
    p.add_argument("--lm-budget", type=float, default=240, help="seconds of LM pretraining for reader-pretrained")
    p.add_argument("--runs", default="baselines,reader,reader-pretrained")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--work", type=Path, default=None, help="keep run folders here (default: a temporary folder)")
    args = p.parse_args()
    if args.quick:
        args.budget, args.lm_budget = 60, 60
    torch.set_num_threads(1)
    out = args.out or ROOT / "benchmarks" / "results" / ("qa_cloze-quick.json" if args.quick else "qa_cloze.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="rnn-nlp-qa-"))
    info = {"data": args.data, "split": "test", "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "torch": torch.__version__,
            "threads": 1, "reader_budget_s": args.budget, "lm_budget_s": args.lm_budget, "config": "configs/qa-cloze.yaml"}
    rows: list[dict] = []
    started = time.perf_counter()
    for name in args.runs.split(","):
        print(f"== {name}", flush=True)
        if name == "baselines":
            rows += baseline_rows(args.data)
        elif name in ("reader", "reader-pretrained"):
            rows.append(reader_row(name, args, work, pretrain=name == "reader-pretrained"))
        else:
            p.error(f"unknown run {name}")
        record = {**info, "total_wall_s": time.perf_counter() - started, "rows": rows}
        out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(f"Cloze QA on {args.data} (test split), {info['machine']}, torch {info['torch']}, 1 thread\n\n" + table(rows) + "\n", encoding="utf-8")
        print(table(rows), flush=True)
    print(f"total {time.perf_counter() - started:.0f} s; rows in {out}")


if __name__ == "__main__":
    main()
