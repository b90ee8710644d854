"""Sentence classification on Rotten Tomatoes and BBC news: every pooling, with and without a
pretrained LM backbone, the ULMFiT switches one at a time, and a TF-IDF + logistic-regression
baseline and spaCy's own text classifier (`spacy-textcat`, trained for --spacy-budget seconds) on the
same split, all in one run.

    python benchmarks/classify.py --pretrained runs/lm-ptb                  # the full grid
    python benchmarks/classify.py --pretrained runs/lm-ptb --quick          # smoke test, ~2 minutes
    python benchmarks/classify.py --datasets rotten-tomatoes --runs tfidf,concat,concat-scratch
    python benchmarks/classify.py --datasets rotten-tomatoes --vectors glove-6b-50d --emb-size 50 \
        --runs tfidf,concat-scratch,concat-scratch-ngrams           # + a bag of uni- and bigrams (head.ngrams: 2)
    python benchmarks/classify.py ... --adversarial 0.5             # + adversarial training (trainer.adversarial)
    python benchmarks/classify.py --pretrained runs/lm-mix --datasets rotten-tomatoes --runs tfidf,concat-plain-finetune --seeds 5

Each row: test accuracy and macro-F1, wins and losses against TF-IDF on the same test texts with
McNemar's exact p-value (rnn_nlp.metrics.mcnemar), validation accuracy (the only figure used to
choose settings), seconds of training to the best validation accuracy,
prediction speed (texts/s, batch `eval_batch_size`, CPU), and the machine. Rows are appended to
`--out` (JSON) as they finish, with a Markdown table beside it.

With `--seeds N` each model run is trained N times from the same (fine-tuned) LM with trainer seeds
1..N (head initialisation, batch order, dropout masks), and a `RUN/ensemble-N` row scores the mean of
the members' probabilities (tasks.classification.ensemble_probabilities); `--ensemble` adds one row
averaging every member of every model run listed (e.g. two poolings). An ensemble's training
seconds are its members' added up and its texts/s counts every member's prediction time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tasks` is a top-level package of the repository

from rnn_nlp.data.labeled import load_labeled_corpus  # noqa: E402
from rnn_nlp.data.splits import with_valid_in_train  # noqa: E402
from rnn_nlp.metrics import mcnemar  # noqa: E402
from rnn_nlp.runs import (  # noqa: E402
    build_config,  # noqa: E402
    load_run,
    train_run,
)
from rnn_nlp.tasks.classification import ensemble_probabilities  # noqa: E402

POOLINGS = {
    "last": ["last"],
    "max": ["max"],
    "mean": ["mean"],
    "attention": ["attention"],
    "concat": ["last", "max", "mean"],
}
ULMFIT_FULL = {"lm_finetune_epochs": 1, "gradual_unfreezing": True, "discriminative_lr": 2.6, "schedule": "slanted_triangular"}
# Each ablation switches one ULMFiT ingredient off (the rest as in ULMFIT_FULL, concat pooling).
ABLATIONS = {
    "no-lm-finetune": {"lm_finetune_epochs": 0},
    "no-gradual-unfreezing": {"gradual_unfreezing": False},
    "no-discriminative-lr": {"discriminative_lr": 1.0},
    "no-stlr": {"schedule": "none"},
}


SPACY_TEXTCAT = {  # run name -> `spacy init config --optimize` of spaCy's own text classifier
    "spacy-textcat": "efficiency",  # a bag-of-words linear model (TextCatBOW)
    "spacy-textcat-accuracy": "accuracy",  # TextCatEnsemble: a CNN tok2vec (width 256, depth 8) + the bag of words
}
NOT_OURS = ("tfidf", *SPACY_TEXTCAT)


def run_specs() -> dict[str, dict]:
    """Run name -> {pooling, pretrained (bool), ulmfit switches}."""
    specs: dict[str, dict] = {"tfidf": {}, **{name: {} for name in SPACY_TEXTCAT}}
    for name, pooling in POOLINGS.items():
        specs[name] = {"pooling": pooling, "pretrained": True, **ULMFIT_FULL}
        specs[f"{name}-scratch"] = {
            "pooling": pooling,
            "pretrained": False,
            **ULMFIT_FULL,
            "lm_finetune_epochs": 0,
            "gradual_unfreezing": False,
            "discriminative_lr": 1.0,
        }
    for name in POOLINGS:  # pretrained and LM-fine-tuned, every layer at one rate from the start
        specs[f"{name}-plain-finetune"] = {**specs[name], "gradual_unfreezing": False, "discriminative_lr": 1.0}
    for name, change in ABLATIONS.items():
        specs[f"concat-{name}"] = {"pooling": POOLINGS["concat"], "pretrained": True, **ULMFIT_FULL, **change}
    # wide & deep: concat-scratch plus a bag of word uni- and bigrams whose scores join its logits (head.ngrams)
    specs["concat-scratch-ngrams"] = {**specs["concat-scratch"], "head": {"ngrams": 2}}
    return specs


def config(dataset: str, spec: dict, args: argparse.Namespace, pretrained: str | None = None, seed: int = 1) -> dict:
    long_docs = dataset == "bbc-news"
    drop = args.drop_mult  # ULMFiT's drop_mult: every dropout of backbone and head scaled at once
    return {
        "task": "classify",
        "pretrained": pretrained,
        "data": {
            "name": dataset,
            "tokenizer": "spacy",
            "lowercase": True,
            "normalize_numbers": True,
            "min_count": 1,
            "max_train_examples": args.max_train,
            "train_with_dev": bool(getattr(args, "train_with_dev", False)),
        },
        "backbone": {
            "rnn": "lstm",
            "emb_size": 256,
            "hidden_size": getattr(args, "hidden_size", 256),
            "layers": getattr(args, "layers", 2),
            "input_dropout": 0.2 * drop,
            "hidden_dropout": 0.2 * drop,
            "output_dropout": 0.3 * drop,
            **({"vectors": args.vectors, "emb_size": args.emb_size} if getattr(args, "vectors", None) else {}),
        },
        "head": {
            "pooling": spec["pooling"],
            "dropout": 0.3 * drop,
            "hidden_size": 50,
            "chunk_len": 200,
            "grad_tokens": 400 if long_docs else 1000,
            **spec.get("head", {}),
        },
        "trainer": {
            "epochs": args.epochs,
            "batch_size": 16 if long_docs else 32,
            "eval_batch_size": 32 if long_docs else 64,
            "optimizer": "adam",
            "lr": args.lr,
            "clip_norm": 1.0,
            "adversarial": getattr(args, "adversarial", 0.0),
            "schedule": spec["schedule"],
            "warmup_frac": 0.1,
            "discriminative_lr": spec["discriminative_lr"],
            "gradual_unfreezing": spec["gradual_unfreezing"],
            "device": "cpu",
            "threads": args.threads,
            "progress": False,
            "checkpoint_every": 100_000,
            "seed": seed,
        },
    }


def tfidf_row(dataset: str, args: argparse.Namespace) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    records = load_labeled_corpus(dataset)
    train = {k: v[: args.max_train] if args.max_train else v for k, v in records["train"].items()}
    if getattr(args, "train_with_dev", False):  # as ours with data.train_with_dev: valid joins train
        train = with_valid_in_train({**records, "train": train}, dataset)["train"]
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    model = LogisticRegression(max_iter=2000, C=4.0).fit(vectorizer.fit_transform(train["text"]), train["label"])
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    pred = list(model.predict(vectorizer.transform(records["test"]["text"])))
    predict_s = time.perf_counter() - started
    gold = records["test"]["label"]
    valid_pred = model.predict(vectorizer.transform(records["valid"]["text"]))
    return {
        "test_pred": pred,
        "accuracy": accuracy_score(gold, pred),
        "macro_f1": f1_score(gold, pred, average="macro"),
        "valid_accuracy": accuracy_score(records["valid"]["label"], valid_pred),
        "train_s_to_best": train_s,
        "texts_per_s": len(gold) / predict_s,
        "train_examples": len(train["text"]),
    }


def spacy_textcat_row(dataset: str, args: argparse.Namespace, work: Path, name: str = "spacy-textcat") -> dict:
    """spaCy's own text classifier (`spacy init config -p textcat -o efficiency`: a bag-of-words model; or
    `-o accuracy` for `spacy-textcat-accuracy`: a CNN tok2vec ensembled with the bag of words, without static
    vectors, as spaCy's other rows here; one label a text) trained on the same split for --spacy-budget
    seconds at most (spaCy's own early stopping, `training.patience`, may end it sooner); its pipeline folder
    is kept."""
    import spacy
    from sklearn.metrics import accuracy_score, f1_score
    from spacy.tokens import DocBin

    from benchmarks.spacy_train import train_budgeted

    records = load_labeled_corpus(dataset)
    labels = sorted(set(records["train"]["label"]))
    folder = work / Path(dataset).name / name
    folder.mkdir(parents=True, exist_ok=True)
    nlp = spacy.blank("en")
    for split, file in (("train", "train.spacy"), ("valid", "dev.spacy")):
        texts, gold = records[split]["text"], records[split]["label"]
        if split == "train" and args.max_train:
            texts, gold = texts[: args.max_train], gold[: args.max_train]
        docs = DocBin()
        for doc, label in zip(nlp.pipe(texts), gold):
            doc.cats = {name: float(name == label) for name in labels}
            docs.add(doc)
        docs.to_disk(folder / file)
    trained = train_budgeted(folder, "textcat", args.spacy_budget, eval_frequency=50 if args.quick else 200, optimize=SPACY_TEXTCAT[name])
    best = spacy.load(trained["best"])

    def predict(texts: list[str]) -> list[str]:
        return [max(doc.cats, key=doc.cats.get) for doc in best.pipe(texts, batch_size=64)]

    started = time.perf_counter()
    pred = predict(records["test"]["text"])
    predict_s = time.perf_counter() - started
    gold = records["test"]["label"]
    return {
        "test_pred": pred,
        "accuracy": accuracy_score(gold, pred),
        "macro_f1": f1_score(gold, pred, average="macro"),
        "valid_accuracy": accuracy_score(records["valid"]["label"], predict(records["valid"]["text"])),
        "train_s_to_best": trained["wall_s"],  # spaCy's own patience may stop it before the budget
        "train_s_total": trained["wall_s"],
        "steps": trained["steps"],
        "texts_per_s": len(gold) / predict_s,
        "train_examples": len(records["train"]["text"][: args.max_train or None]),
        "spacy": spacy.__version__,
        "spacy_optimize": SPACY_TEXTCAT[name],
        "run_dir": str(trained["best"]),
    }


def finetuned_lm(dataset: str, args: argparse.Namespace, work: Path) -> tuple[str, float]:
    """ULMFiT stage 2 once per data set: the pretrained LM fine-tuned on the task's text (and its seconds)."""
    import csv

    from rnn_nlp.runs.training import resolve_pretrained
    from rnn_nlp.tasks.classification import ClassificationTask

    raw = config(dataset, run_specs()["concat"], args, args.pretrained)
    raw["stages"] = [{"name": "lm_finetune", "epochs": args.lm_epochs}, {"name": "task"}]
    out = work / Path(dataset).name / "shared"
    cfg = build_config(raw, f"{dataset}/lm-finetune")
    path = resolve_pretrained(cfg, ClassificationTask(cfg), out)  # trains the stage once; its run folder
    seconds = float(list(csv.DictReader(open(Path(path) / "metrics.csv")))[-1]["elapsed_s"])
    return path, seconds


def model_row(
    dataset: str, name: str, spec: dict, args: argparse.Namespace, work: Path, lm: tuple[str, float] | None, seed: int = 1
) -> dict:
    """Train one classifier (trainer seed `seed`) and score it; `test_probs`, `valid_probs` and `task`
    travel with the row for ensembles and are popped before it is written."""
    pretrained, lm_s = None, 0.0
    if spec["pretrained"]:
        pretrained, lm_s = lm if spec["lm_finetune_epochs"] else (args.pretrained, 0.0)
    cfg = build_config(config(dataset, spec, args, pretrained, seed), f"{dataset}/{name}")
    out = work / Path(dataset).name / (name if seed == 1 else f"{name}-seed{seed}")
    trainer = train_run(cfg, out, overwrite=True)
    # the kept model's evaluation: the best on valid, or the last with --train-with-dev (valid trained on)
    best = trainer.history[-1] if cfg.data.train_with_dev else max(trainer.history, key=lambda r: r["valid_accuracy"])
    _, task, model = load_run(out, "cpu")
    device = torch.device("cpu")
    started = time.perf_counter()
    gold, pred, test_probs, loss = task.predict_split(model, "test", device)
    predict_s = time.perf_counter() - started
    metrics = task.metrics(gold, pred, loss)
    return {
        "test_pred": pred,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "valid_accuracy": best["valid_accuracy"],
        "best_epoch": best["epoch"],
        "train_s_to_best": best["elapsed_s"],
        "train_s_total": trainer.history[-1]["elapsed_s"],
        "lm_finetune_s": lm_s,
        "predict_s": predict_s,
        "texts_per_s": len(gold) / predict_s,
        "train_examples": len(task.encoded("train")[0]),
        "epochs": args.epochs,
        "seed": seed,
        "test_probs": test_probs,
        "valid_probs": task.predict_split(model, "valid", device)[2],
        "task": task,
    }


def ensemble_row(members: list[dict]) -> dict:
    """The probability-averaged ensemble of `members` (model_row rows, same data set): its valid and
    test scores, and its cost: the members' training and prediction seconds added up."""
    task = members[0]["task"]
    row: dict = {"members": len(members), "seeds": [m["seed"] for m in members]}
    for split in ("valid", "test"):
        gold = task.encoded(split)[1]
        pred = task.decide(ensemble_probabilities([m[f"{split}_probs"] for m in members]))
        metrics = task.metrics(gold, pred, float("nan"))
        if split == "test":
            row.update(test_pred=pred, accuracy=metrics["accuracy"], macro_f1=metrics["macro_f1"])
        else:
            row["valid_accuracy"] = metrics["accuracy"]
    predict_s = sum(m["predict_s"] for m in members)
    row.update(
        train_s_to_best=sum(m["train_s_to_best"] for m in members),
        train_s_total=sum(m["train_s_total"] for m in members),
        lm_finetune_s=max(m["lm_finetune_s"] for m in members),  # one shared fine-tuned LM
        predict_s=predict_s,
        texts_per_s=len(task.encoded("test")[0]) / predict_s,
    )
    return row


def versus(row: dict) -> str:
    """`+wins/-losses (p)` against TF-IDF on the same test texts, or a dash for TF-IDF itself."""
    test = row.get("vs_tfidf")
    return f"+{test['a_only']}/-{test['b_only']} ({test['p_value']:.3f})" if test else "-"


def table(rows: list[dict]) -> str:
    lines = [
        "| data | run | models | valid accuracy | test accuracy | test macro-F1 | error | vs TF-IDF (McNemar p) "
        "| train s to best valid | LM fine-tune s | texts/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        valid = f"{r['valid_accuracy']:.4f}" if "valid_accuracy" in r else "-"
        lines.append(
            f"| {r['dataset']} | {r['run']} | {r.get('members', 1)} | {valid} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} "
            f"| {100 * (1 - r['accuracy']):.2f}% "
            f"| {versus(r)} | {r['train_s_to_best']:.0f} | {r.get('lm_finetune_s', 0):.0f} | {r['texts_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def record_row(rows: list, preds: dict, gold, dataset: str, info: dict, command: str, out: Path, name: str, row: dict) -> None:
    """Add a run's row (with McNemar's test against TF-IDF's test predictions) and rewrite the JSON and Markdown tables."""
    preds[name] = row.pop("test_pred")
    if name != "tfidf" and "tfidf" in preds:
        row["vs_tfidf"] = mcnemar(gold, preds[name], preds["tfidf"])
    rows.append({"dataset": dataset, "run": name, **row, **info, "command": command})
    out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    note = (
        "\n\nWith --train-with-dev every row trained on train + valid (ours kept its last epoch): the valid accuracies are not "
        "held-out figures; test is."
        if "--train-with-dev" in command.split()
        else ""
    )
    out.with_suffix(".md").write_text(f"Command: `python {command}`{note}\n\n{table(rows)}\n", encoding="utf-8")
    print(table(rows[-1:]).splitlines()[-1], flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pretrained", help="a pretrained LM run folder (e.g. runs/lm-ptb); without it, only scratch runs")
    p.add_argument("--datasets", default="rotten-tomatoes,bbc-news")
    p.add_argument("--vectors", help="pretrained word vectors in the embedding (backbone.vectors), e.g. glove-6b-50d")
    p.add_argument("--emb-size", type=int, default=50, help="backbone.emb_size with --vectors (the vectors' width: no projection)")
    p.add_argument("--hidden-size", type=int, default=256, help="backbone.hidden_size of our runs (e.g. 32: the fast sentiment-rt-fast)")
    p.add_argument("--layers", type=int, default=2, help="backbone.layers of our runs")
    p.add_argument("--runs", default=None, help=f"comma-separated, from {', '.join(run_specs())} (default: all)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=0.002, help="Adam learning rate of the top layer group")
    p.add_argument("--lm-epochs", type=int, default=1, help="epochs of LM fine-tuning on the task's text (shared by the runs)")
    p.add_argument(
        "--adversarial", type=float, default=0.0, help="trainer.adversarial of our runs: adversarial training on word embeddings (0: off)"
    )
    p.add_argument("--drop-mult", type=float, default=1.0, help="scale every dropout of backbone and head (ULMFiT's drop_mult)")
    p.add_argument("--seeds", type=int, default=1, help="train each model run N times (trainer seeds 1..N) and score their ensemble")
    p.add_argument("--ensemble", action="store_true", help="also score the ensemble of every member of every model run listed")
    p.add_argument("--max-train", type=int, default=None, help="use only the first N training examples")
    p.add_argument(
        "--train-with-dev",
        action="store_true",
        help="train ours (data.train_with_dev: the last epoch is kept) and TF-IDF on train + valid; valid figures are then not held out",
    )
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--spacy-budget", type=float, default=300.0, help="training seconds of the spacy-textcat run")
    p.add_argument("--quick", action="store_true", help="1 epoch on 800 training examples, three runs")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--work", type=Path, default=None, help="keep run folders here (default: a temporary folder)")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.max_train = 1, args.max_train or 800
        args.runs = args.runs or "tfidf,concat,concat-scratch"
        args.spacy_budget = min(args.spacy_budget, 30.0)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.seeds < 1:
        p.error("--seeds must be >= 1")
    specs = run_specs()
    names = args.runs.split(",") if args.runs else list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        p.error(f"unknown runs {unknown}; choose from {', '.join(specs)}")
    if args.train_with_dev and any(n in SPACY_TEXTCAT for n in names):
        p.error("--train-with-dev trains ours and TF-IDF on train + valid; spaCy's rows select on valid, so run them without it")
    if not args.pretrained:
        names = [n for n in names if n in NOT_OURS or not specs[n]["pretrained"]]
    out = args.out or ROOT / "benchmarks" / "results" / ("classify-quick.json" if args.quick else "classify.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="rnn-nlp-classify-"))
    info = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "torch": torch.__version__, "threads": torch.get_num_threads()}
    rows: list[dict] = []
    for dataset in args.datasets.split(","):
        needs_lm = any(specs[n].get("pretrained") and specs[n].get("lm_finetune_epochs") for n in names)
        lm = finetuned_lm(dataset, args, work) if needs_lm else None
        preds: dict[str, list] = {}  # run -> test predictions, for the paired test against TF-IDF
        gold = load_labeled_corpus(dataset)["test"]["label"] if "tfidf" in names else None
        command = " ".join(sys.argv)

        record = functools.partial(record_row, rows, preds, gold, dataset, info, command, out)
        everyone: list[dict] = []  # every trained member, for --ensemble
        for name in names:
            if name in NOT_OURS:
                print(f"== {dataset} / {name}", flush=True)
                record(name, tfidf_row(dataset, args) if name == "tfidf" else spacy_textcat_row(dataset, args, work, name))
                continue
            members = []
            for seed in range(1, args.seeds + 1):
                label = name if args.seeds == 1 else f"{name}/seed{seed}"
                print(f"== {dataset} / {label}", flush=True)
                row = model_row(dataset, name, specs[name], args, work, lm, seed)
                kept = {k: row.pop(k) for k in ("test_probs", "valid_probs", "task")}
                record(label, row)
                members.append({**row, **kept})
            if len(members) > 1:
                record(f"{name}/ensemble-{len(members)}", ensemble_row(members))
            everyone += members
        if args.ensemble and len([n for n in names if n not in NOT_OURS]) > 1:
            record(f"ensemble of all {len(everyone)} models", ensemble_row(everyone))
    print(table(rows))
    print(f"\n{info}; rows in {out}")


if __name__ == "__main__":
    main()
