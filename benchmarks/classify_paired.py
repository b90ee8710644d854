"""Saved classifier runs against TF-IDF on the same test texts: accuracy, wins/losses and McNemar's
exact p-value, and optionally the average of the runs' probabilities (ULMFiT's forward+backward
ensemble). Answers "is the gain over the baseline more than noise?" without retraining anything.

    python benchmarks/classify_paired.py RUN_DIR [RUN_DIR ...] --ensemble --out benchmarks/results/classify-rt-paired.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from classify import tfidf_row  # noqa: E402

from rnn_nlp.metrics import mcnemar  # noqa: E402
from rnn_nlp.runs import load_run  # noqa: E402
from rnn_nlp.tasks.classification import ensemble_probabilities  # noqa: E402
from rnn_nlp.tasks.classification.ensemble import same_split  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="classification run folders trained on the same data set")
    p.add_argument("--names", help="comma-separated names for the runs in the table (default: their folders)")
    p.add_argument("--ensemble", action="store_true", help="also score the mean of the runs' probabilities")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "classify-paired.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    outputs = {}
    for run in args.runs:
        cfg, task, model = load_run(run, "cpu")
        gold, pred, probs, loss = task.predict_split(model, "test", device)
        outputs[run] = (task, gold, pred, probs, loss)
    task, gold = outputs[args.runs[0]][:2]
    dataset = task.cfg.data.name
    baseline = tfidf_row(dataset, SimpleNamespace(max_train=None))
    rows = [{"run": "tfidf", "accuracy": baseline["accuracy"], "macro_f1": baseline["macro_f1"]}]

    def add(name: str, pred: list, loss: float) -> None:
        metrics = task.metrics(gold, pred, loss)
        rows.append(
            {
                "run": name,
                "accuracy": metrics["accuracy"],
                "macro_f1": metrics["macro_f1"],
                "vs_tfidf": mcnemar(gold, pred, baseline["test_pred"]),
            }
        )

    names = args.names.split(",") if args.names else args.runs
    if len(names) != len(args.runs):
        p.error(f"--names gives {len(names)} names for {len(args.runs)} runs")
    for name, (run, (run_task, run_gold, pred, _, loss)) in zip(names, outputs.items()):
        if run_task.label_names() != task.label_names() or not same_split(task, run_task, "test", gold, run_gold):
            p.error(f"{run} was not evaluated on the same test texts and labels as {args.runs[0]}")
        add(name, pred, loss)
    if args.ensemble and len(outputs) > 1:
        mean = ensemble_probabilities([o[3] for o in outputs.values()])
        add("ensemble of the runs above", task.decide(mean), float("nan"))
    lines = ["| run | test accuracy | macro-F1 | only ours right | only TF-IDF right | McNemar p |", "|---|---|---|---|---|---|"]
    for r in rows:
        t = r.get("vs_tfidf", {"a_only": "-", "b_only": "-", "p_value": float("nan")})
        lines.append(f"| {r['run']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {t['a_only']} | {t['b_only']} | {t['p_value']:.3f} |")
    table = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dataset": dataset, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(f"Data set: {dataset}, {len(gold)} test texts.\n\n{table}\n", encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
