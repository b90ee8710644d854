"""Cloze reading comprehension on CoNLL-2003 documents: the reader beside two baselines, in one run.

    python benchmarks/qa_cloze.py                  # about 40 minutes on 1 CPU thread
    python benchmarks/qa_cloze.py --quick          # smoke test: 1,000 training questions, 1-minute budgets
    python benchmarks/qa_cloze.py --runs baselines,reader-vectors-regularized --seeds 3 --ensemble --budget 1200

Rows, all scored on the test split of `conll2003-cloze` (documents never seen in training):
- most-frequent: the candidate entity mentioned most often in the passage;
- word-overlap: the candidate with the most question words within W tokens of one of its mentions
  (W chosen on the valid split from 5, 10, 20; rnn_nlp.nn.baselines.cloze);
- reader: configs/qa-cloze.yaml (token features on) from a randomly initialised backbone, trained for
  --budget seconds;
- reader-pretrained: the same, its backbone first pretrained (--lm-budget seconds) as forward and
  backward LMs on the cloze training passages plus PTB (an lm_pretrain stage), then
  trained for the same --budget seconds;
- reader-no-features: the reader with head.token_features=false (what the features bring);
- reader-vectors: the reader with GloVe 6B 50-d vectors in its embedding (backbone.vectors).
With --seeds N every reader row is trained N times (trainer.seed 1..N; rows `NAME`, `NAME-s2`, ...), and
--ensemble adds a row that averages the candidate probabilities of every reader row of the run
(tasks.qa.task.ensemble_candidates). With --reuse a reader whose folder in --work already holds a finished
run of the same config is evaluated instead of trained again (its figures come from its metrics.csv).
Each reader row carries McNemar's exact paired test (rnn_nlp.metrics.mcnemar) against each baseline on
the same test questions: the questions only the reader gets right, only the baseline, and the p-value.
Results: benchmarks/results/qa_cloze.json and .md, with the command that made them.
"""

from __future__ import annotations

import argparse
import hashlib
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

from benchmarks.reuse import reuse_or_train  # noqa: E402
from rnn_nlp.data.cloze import normalize_entity  # noqa: E402
from rnn_nlp.data.qa import load_qa_corpus  # noqa: E402
from rnn_nlp.metrics import mcnemar  # noqa: E402
from rnn_nlp.nn.baselines.cloze import most_frequent, word_overlap  # noqa: E402
from rnn_nlp.runs import (  # noqa: E402
    load_config,  # noqa: E402
    load_run,
    train_run,
)
from rnn_nlp.tasks.qa.task import ensemble_candidates  # noqa: E402
from rnn_nlp.training.history import read_csv  # noqa: E402

CPU = torch.device("cpu")
WINDOWS = (5, 10, 20)
BASELINES = ("most-frequent", "word-overlap")
READERS = {  # run name -> (LM pretraining, config overrides)
    "reader": (False, []),
    "reader-pretrained": (True, []),
    "reader-no-features": (False, ["head.token_features=false"]),
    "reader-vectors": (False, ["backbone.vectors=glove-6b-50d", "backbone.emb_size=50"]),
    # the reader above overfits after its first epoch (valid accuracy falls while train loss drops): GloVe
    # frozen, three times the dropout and word dropout
    "reader-vectors-regularized": (
        False,
        ["backbone.vectors=glove-6b-50d", "backbone.emb_size=50", "backbone.vectors_mode=frozen"]
        + ["backbone.embed_dropout=0.1", "backbone.input_dropout=0.3", "backbone.output_dropout=0.3", "head.dropout=0.3"],
    ),
}


def gold_answers(records: dict) -> list[str]:
    return [normalize_entity(a["text"][0]) for a in records["answers"]]


def accuracy(predicted: list[str], records: dict) -> float:
    gold = gold_answers(records)
    return sum(normalize_entity(p) == g for p, g in zip(predicted, gold)) / len(gold)


def split_digest(records: dict) -> str:
    """sha256 (first 16 hex digits) of a split's questions, passages, answers and candidates: the same
    digest means the same questions as an earlier run."""
    rows = [
        [r, q, c, a, k]
        for r, q, c, a, k in zip(records["id"], records["question"], records["context"], records["answers"], records["candidates"])
    ]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def baseline_rows(recs: dict) -> list[dict]:
    """The baselines' rows on the corpus's test split (the overlap window chosen on its valid split)."""
    test, valid = recs["test"], recs["valid"]
    started = time.perf_counter()
    mf = [most_frequent(c, k) for c, k in zip(test["context"], test["candidates"])]
    rows = [{"run": "most-frequent", "accuracy": accuracy(mf, test), "seconds": time.perf_counter() - started, "test_pred": mf}]

    def overlap(rec: dict, w: int) -> list[str]:
        return [word_overlap(q, c, k, w) for q, c, k in zip(rec["question"], rec["context"], rec["candidates"])]

    valid_acc = {w: accuracy(overlap(valid, w), valid) for w in WINDOWS}
    best = max(WINDOWS, key=lambda w: (valid_acc[w], -w))
    started = time.perf_counter()
    wo = overlap(test, best)
    rows.append(
        {
            "run": "word-overlap",
            "window": best,
            "accuracy": accuracy(wo, test),
            "valid_accuracy_by_window": valid_acc,
            "seconds": time.perf_counter() - started,
            "test_pred": wo,
        }
    )
    n_cand = sum(len(c) for c in test["candidates"]) / len(test["candidates"])
    rows.append(
        {
            "run": "chance (1 / candidates)",
            "accuracy": sum(1 / len(c) for c in test["candidates"]) / len(test["candidates"]),
            "mean_candidates": n_cand,
        }
    )
    return rows


def reader_config(name: str, args: argparse.Namespace, pretrain: bool, extra: list[str], seed: int):
    overrides = [f"data.name={args.data}", f"trainer.time_budget_s={args.budget}", "trainer.progress=false", "trainer.threads=1", *extra]
    overrides.append(f"trainer.seed={seed}")
    if pretrain:
        overrides += [f"stages=[{{name: lm_pretrain, epochs: 20, corpora: [ptb], time_budget_s: {args.lm_budget}}}, {{name: task}}]"]
    if args.quick:
        overrides += ["data.max_train_examples=1000"]
    return load_config(ROOT / "configs" / "qa-cloze.yaml", overrides)


def reader_row(name: str, args: argparse.Namespace, work: Path, pretrain: bool, extra: list[str], seed: int = 1) -> tuple[dict, list]:
    """A reader's row (trained, or with --reuse read from its finished folder) and its test candidate probabilities."""
    cfg = reader_config(name, args, pretrain, extra, seed)
    out = work / name
    started = time.perf_counter()
    reused = reuse_or_train(out, cfg, args.reuse, lambda: train_run(cfg, out, overwrite=True))
    wall = time.perf_counter() - started
    _, task, model = load_run(out, "cpu")
    started = time.perf_counter()
    answers, loss = task.predict_split(model, "test", CPU)
    test = task.metrics("test", answers, loss)
    eval_s = time.perf_counter() - started
    history = read_csv(out / "metrics.csv")
    last = history[-1]
    row = {
        "run": name,
        "overrides": [*extra, f"trainer.seed={seed}"],
        "reused": reused,
        "test_pred": [a["text"] for a in answers],
        "accuracy": test["accuracy"],
        "exact_match": test["exact_match"],
        "f1": test["f1"],
        "valid_accuracy": max(r["valid_accuracy"] for r in history),
        "valid_by_evaluation": [{k: r[k] for k in ("epoch", "train_loss", "valid_loss", "valid_accuracy", "elapsed_s")} for r in history],
        "train_s": last["elapsed_s"],
        "epochs": last["epoch"],
        "steps": int(last["step"]),
        "wall_s_with_lm": wall,
        "test_eval_s": eval_s,
        "questions_per_s": len(task.records()["test"]["id"]) / eval_s,
    }
    lm_dir = out / "lm-pretrained"
    if pretrain and (lm_dir / "metrics.csv").exists():
        rows = read_csv(lm_dir / "metrics.csv")
        row["lm_train_s"] = rows[-1]["elapsed_s"]
        row["lm_valid_ppl"] = {k: v for k, v in rows[-1].items() if "ppl" in k and isinstance(v, float)}
    probs = task.candidate_probabilities(model, "test", CPU) if args.ensemble else []
    return row, probs


def paired(row: dict, baseline: str) -> str:
    """McNemar against a baseline, as 'only the reader right / only the baseline right / p'."""
    m = row.get(f"vs_{baseline}")
    return f"{m['a_only']} / {m['b_only']} / {m['p_value']:.2g}" if m else "-"


def table(rows: list[dict]) -> str:
    lines = [
        "| run | test accuracy | test EM | test F1 | train s | epochs | LM pretraining s "
        "| vs most-frequent: only reader / only baseline / p "
        "| vs word-overlap: only reader / only baseline / p |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        em = f"{r['exact_match']:.4f}" if "exact_match" in r else "-"
        f1 = f"{r['f1']:.4f}" if "f1" in r else "-"
        train = f"{r['train_s']:.0f}" if "train_s" in r else "-"
        epochs = f"{r['epochs']:.2f}" if "epochs" in r else "-"
        lm = f"{r['lm_train_s']:.0f}" if "lm_train_s" in r else "-"
        name = f"{r['run']} (window {r['window']})" if "window" in r else r["run"]
        lines.append(
            f"| {name} | {r['accuracy']:.4f} | {em} | {f1} | {train} | {epochs} | {lm} "
            f"| {paired(r, 'most-frequent')} | {paired(r, 'word-overlap')} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="conll2003-cloze", help="conll2003-cloze or conll2003-cloze-anon")
    p.add_argument("--budget", type=float, default=600, help="training seconds of each reader")
    p.add_argument("--lm-budget", type=float, default=240, help="seconds of LM pretraining for reader-pretrained")
    p.add_argument("--runs", default="baselines," + ",".join(READERS), help=f"comma-separated from baselines, {', '.join(READERS)}")
    p.add_argument("--seeds", type=int, default=1, help="train each reader with trainer.seed 1..N (rows NAME, NAME-s2, ...)")
    p.add_argument("--ensemble", action="store_true", help="add a row averaging the candidate probabilities of every reader row")
    p.add_argument("--reuse", action="store_true", help="evaluate a finished run of the same config in --work instead of training it again")
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
    names = sorted(args.runs.split(","), key=lambda n: n != "baselines")  # baselines first: every reader row gets its paired tests
    unknown = [n for n in names if n != "baselines" and n not in READERS]
    if unknown:
        p.error(f"unknown runs {', '.join(unknown)}")
    if args.seeds < 1:
        p.error("--seeds must be at least 1")
    jobs = [("baselines", "baselines", 1)] if "baselines" in names else []  # (row name, reader, seed)
    jobs += [(n if k == 1 else f"{n}-s{k}", n, k) for n in names if n != "baselines" for k in range(1, args.seeds + 1)]
    if args.ensemble and not any(base != "baselines" for _, base, _ in jobs):
        p.error("--ensemble needs at least one reader in --runs")
    corpus = load_qa_corpus(args.data)
    test_records = corpus["test"]
    gold = gold_answers(test_records)
    command = "python benchmarks/qa_cloze.py " + " ".join(sys.argv[1:])
    info = {
        "data": args.data,
        "split": "test",
        "test_questions": len(gold),
        "test_split_sha256": split_digest(test_records),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "threads": 1,
        "reader_budget_s": args.budget,
        "lm_budget_s": args.lm_budget,
        "config": "configs/qa-cloze.yaml",
        "seeds": args.seeds,
        "command": command.strip(),
    }
    rows: list[dict] = []
    preds: dict[str, list[str]] = {}  # run -> normalised test answers, for the paired tests
    started = time.perf_counter()
    members: list[list] = []  # each reader's test candidate probabilities, for --ensemble
    for job, base, seed in jobs + ([("ensemble", "ensemble", 0)] if args.ensemble else []):
        print(f"== {job}", flush=True)
        if job == "baselines":
            new = baseline_rows(corpus)
        elif job == "ensemble":
            picks = ensemble_candidates(members)
            answers = [c[i] if i >= 0 else "" for i, c in zip(picks, test_records["candidates"])]  # -1: none found
            new = [{"run": "ensemble", "members": len(members), "test_pred": answers, "accuracy": accuracy(answers, test_records)}]
        else:
            row, probs = reader_row(job, args, work, *READERS[base], seed=seed)
            members.append(probs)
            new = [row]
        for row in new:
            if "test_pred" in row:
                preds[row["run"]] = [normalize_entity(x) for x in row.pop("test_pred")]
            if row["run"] not in BASELINES and row["run"] != "chance (1 / candidates)":
                for b in BASELINES:
                    if b in preds:
                        row[f"vs_{b}"] = mcnemar(gold, preds[row["run"]], preds[b])
        rows += new
        record = {**info, "total_wall_s": time.perf_counter() - started, "rows": rows}
        out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(
            f"Cloze QA on {args.data} (test split, {len(gold)} questions, sha256 {info['test_split_sha256']}), "
            f"{info['machine']}, torch {info['torch']}, 1 thread\n\n"
            + table(rows)
            + f"\n\nPaired test: McNemar's exact test on the same test questions. Command: `{info['command']}`\n",
            encoding="utf-8",
        )
        print(table(rows), flush=True)
    print(f"total {time.perf_counter() - started:.0f} s; rows in {out}")


if __name__ == "__main__":
    main()
