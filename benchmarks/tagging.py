"""Sequence tagging beside spaCy, in one run: CoNLL-2003 NER and Brown universal POS, plus tagging speed.

    python benchmarks/tagging.py                       # the comparison (about 30 minutes on 1 CPU thread)
    python benchmarks/tagging.py --quick               # smoke test on slices, about 3 minutes
    python benchmarks/tagging.py --runs ours-ner,spacy-ner --ner-budget 600

Rows (each trained for a wall-clock budget of training time, on 1 thread):
- ours-ner: configs/ner-conll03.yaml (BiLSTM backbone, char-CNN, CRF) from a random backbone;
- ours-ner-vectors: the same with GloVe 6B 50-d vectors in the embedding (backbone.vectors, fine-tuned);
- ours-ner-base: ours-ner started from the base backbone (--base, the recipe lm-english-base: forward and
  backward word LMs on english-mix from GloVe; its shape and vectors are adopted);
- ours-ner-context: ours-ner-vectors reading document context (data.context=--context tokens on each side,
  FLERT-style; data.context_dropout=--context-dropout); each epoch costs about (14 + 2 * context) / 14
  times an ours-ner-vectors epoch (CoNLL's sentences average 14 tokens), so it sees fewer epochs in a budget;
- ours-ner-base-context: ours-ner-base reading the same document context;
- ours-ner-strings: configs/ner-conll03-flair.yaml, contextual string embeddings from --char-lm (the recipe
  lm-english-char) with the word backbone's states and a char-CNN -> BiLSTM -> CRF;
- ours-ner-all: the same from the base backbone: vectors + base backbone + string embeddings;
- ours-ner-pretrained: the same as ours-ner, its backbone first pretrained as forward+backward LMs on
  CoNLL's training text plus PTB (an lm_pretrain stage), for --lm-budget seconds;
- spacy-ner: `spacy train` with spaCy's own English NER config (`init config -p ner -o efficiency`,
  no pretrained vectors) on the same train/valid split, stopped after the same budget;
- ours-pos / ours-pos-vectors / ours-pos-base / spacy-pos: configs/pos-brown.yaml (from scratch, with
  GloVe, from the base backbone) and spaCy's
  tagger on the Brown split (universal tags);
- speed: sentences/s and words/s of each trained model at batch 1 and 64, on the same test sentences
  (already tokenized: tokenization is left out for both).
NER is scored on the CoNLL-2003 test split with seqeval, default mode (as conlleval) and strict IOB2
mode; POS by token accuracy on the held-out Brown documents. Results: benchmarks/results/tagging*.json, .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tasks` is a top-level package of the repository

from benchmarks.reuse import reuse_or_train  # noqa: E402
from rnn_nlp.data.fetchers.cache import fetch  # noqa: E402
from rnn_nlp.runs import (  # noqa: E402
    load_config,  # noqa: E402
    load_run,
    train_run,
)
from rnn_nlp.tasks.tagging.ensemble import vote_tags  # noqa: E402
from rnn_nlp.training.history import read_csv  # noqa: E402

CPU = torch.device("cpu")
RUNS = (
    "ours-ner",
    "ours-ner-vectors",
    "ours-ner-pretrained",
    "ours-ner-base",
    "ours-ner-context",
    "ours-ner-base-context",
    "ours-ner-strings",
    "ours-ner-all",
    "spacy-ner",
    "ours-pos",
    "ours-pos-vectors",
    "ours-pos-base",
    "spacy-pos",
    "speed",
)
VECTORS = ["backbone.vectors=glove-6b-50d", "backbone.emb_size=50"]  # GloVe 6B 50-d, fine-tuned, as the embedding
ANCHORS = "published CoNLL-2003 test F1: 90.94 (Lample et al. 2016, with pretrained word vectors), 93.09 (Akbik et al. 2018)"


def seqeval_scores(gold: list[list[str]], pred: list[list[str]]) -> dict:
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    return {
        "f1": f1_score(gold, pred, zero_division=0),
        "precision": precision_score(gold, pred, zero_division=0),
        "recall": recall_score(gold, pred, zero_division=0),
        "f1_strict": f1_score(gold, pred, mode="strict", scheme=IOB2, zero_division=0),
    }


def accuracy(gold: list[list[str]], pred: list[list[str]]) -> dict:
    pairs = [(g, p) for gs, ps in zip(gold, pred) for g, p in zip(gs, ps)]
    return {"accuracy": sum(g == p for g, p in pairs) / len(pairs), "tokens": len(pairs)}


def split_data(corpus: str, split: str, limit: int | None = None) -> tuple[list[list[str]], list[list[str]]]:
    table = fetch(corpus)[split]
    n = len(table) if limit is None else min(limit, len(table))
    return list(table["tokens"][:n]), list(table["tags"][:n])


# ---- ours --------------------------------------------------------------------------------------


def train_ours(name: str, recipe: str, budget: float, args, extra: list[str], seed: int | None = None) -> tuple[dict, list[list[str]]]:
    """One of our taggers trained (or with --reuse read back from its finished folder) and scored on the test
    split: its row and its test `TagPredictions` (gold and predicted tags), for an ensemble."""
    overrides = [f"trainer.time_budget_s={budget}", "trainer.progress=false", "trainer.threads=1", *extra, *args.set]
    if seed is not None:
        overrides.append(f"trainer.seed={seed}")
    if args.quick:
        overrides += ["data.max_train_sentences=500", "trainer.epochs=50"]
    cfg = load_config(ROOT / recipe, overrides)
    run_dir = args.work / (name if seed is None else f"{name}-seed{seed}")
    started = time.perf_counter()
    reused = reuse_or_train(run_dir, cfg, args.reuse, lambda: train_run(cfg, run_dir, overwrite=True))
    wall = time.perf_counter() - started
    history = read_csv(run_dir / "metrics.csv")
    _, task, model = load_run(run_dir, "cpu")
    predictions = task.predict_split(model, "test", CPU)
    report = task.report_predictions(predictions, "test", run_dir)
    scores = {k: v for k, v in report.items() if isinstance(v, float)}
    key = f"valid_{task.selection[0]}"
    row = {
        "system": name if seed is None else f"{name}/seed{seed}",
        "recipe": recipe,
        "overrides": overrides,
        "reused": reused,
        "train_s": history[-1]["elapsed_s"],
        "wall_s": wall,
        "steps": int(history[-1]["step"]),
        "epochs": history[-1]["epoch"],
        # with data.train_with_dev valid was trained on: its score is no held-out figure, and the last model is kept
        "best_valid": max((r[key] for r in history if isinstance(r.get(key), float)), default=None),
        "valid_held_out": task.valid_held_out,
        **{f"test_{k}": v for k, v in scores.items() if k != "loss"},
        "run_dir": str(run_dir),
        "pretrained_lm": str(cfg.pretrained) if cfg.pretrained else None,
    }
    return row, predictions


def ensemble_row(name: str, members: list, member_rows: list[dict]) -> dict:
    """The members' vote (tasks.tagging.ensemble.vote_tags) scored on the test split as each member was; the strict
    F1 is IOB2-strict (a vote is always well-formed IOB2), a member's is strict in its own training scheme."""
    gold = members[0].gold
    chunked = "-ner" in name
    pred = vote_tags([m.pred for m in members], chunked)
    scores = seqeval_scores(gold, pred) if chunked else accuracy(gold, pred)
    return {
        "system": f"{name}/ensemble-{len(members)}",
        "members": [r["system"] for r in member_rows],
        "train_s": sum(r["train_s"] for r in member_rows),
        "steps": sum(r["steps"] for r in member_rows),
        **{f"test_{k}": v for k, v in scores.items()},
    }


def ours_tagger(run_dir: Path):
    _, task, model = load_run(run_dir, "cpu")
    return lambda sentences, batch: task.tag_tokens(model, sentences, CPU, batch)


# ---- spaCy -------------------------------------------------------------------------------------


def to_docbin(sentences, tags, kind: str, path: Path) -> None:
    import spacy
    from spacy.tokens import Doc, DocBin

    vocab = spacy.blank("en").vocab
    db = DocBin()
    for words, tg in zip(sentences, tags):
        db.add(Doc(vocab, words=words, ents=tg) if kind == "ner" else Doc(vocab, words=words, tags=tg))
    db.to_disk(path)


def train_spacy(name: str, kind: str, corpus: str, budget: float, args) -> dict:
    """`spacy init config` (efficiency, no vectors) + `spacy train`, stopped after `budget` seconds."""
    import spacy

    from benchmarks.spacy_train import train_budgeted

    work = args.work / name
    work.mkdir(parents=True, exist_ok=True)
    limit = 500 if args.quick else None
    for split, file in (("train", "train.spacy"), ("valid", "dev.spacy")):
        tokens, tags = split_data(corpus, split, limit)
        to_docbin(tokens, tags, kind, work / file)
    trained = train_budgeted(work, "ner" if kind == "ner" else "tagger", budget, eval_frequency=50 if args.quick else 200)
    best = trained["best"]
    nlp = spacy.load(best)
    tokens, gold = split_data(corpus, "test")
    pred = spacy_predict(nlp, kind, tokens, 256)
    scores = seqeval_scores(gold, pred) if kind == "ner" else accuracy(gold, pred)
    return {
        "system": name,
        "spacy": spacy.__version__,
        "train_s": budget,
        "wall_s": trained["wall_s"],
        "steps": trained["steps"],
        **{f"test_{k}": v for k, v in scores.items()},
        "run_dir": str(best),
    }


def spacy_predict(nlp, kind: str, sentences: list[list[str]], batch: int) -> list[list[str]]:
    from spacy.tokens import Doc

    docs = (Doc(nlp.vocab, words=words) for words in sentences)
    out = []
    for doc in nlp.pipe(docs, batch_size=batch):
        if kind == "ner":
            out.append([f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in doc])
        else:
            out.append([t.tag_ for t in doc])
    return out


# ---- speed ---------------------------------------------------------------------------------------


def speed_source(results: dict, name: str) -> str | None:
    """The result row whose trained run the speed rows time for `name`: its own, or with --seeds its lowest seed's
    (`NAME/seedK`), so that a seeded run still gets speed rows; None where neither was trained."""
    if name in results:
        return name
    seeded = [k for k in results if k.startswith(f"{name}/seed") and k[len(name) + 5 :].isdigit()]
    return min(seeded, key=lambda k: int(k[len(name) + 5 :])) if seeded else None


def speed_rows(results: dict, args) -> list[dict]:
    """Sentences/s and words/s of our tagger and spaCy's at batch 1 and 64 on the same test sentences, the two
    timed in turns, best of ship.py's ROUNDS passes each (this machine's speed drifts within minutes)."""
    import spacy

    from benchmarks.ship import throughput

    rows = []
    n = 100 if args.quick else 1000
    for kind, corpus, ours_name, spacy_name in (("ner", "conll2003", "ours-ner", "spacy-ner"), ("pos", "brown", "ours-pos", "spacy-pos")):
        ours_row = speed_source(results, ours_name)
        if ours_row is None or spacy_name not in results:
            continue
        sentences, _ = split_data(corpus, "test", n)
        words = sum(len(s) for s in sentences)
        nlp = spacy.load(results[spacy_name]["run_dir"])
        systems = {
            ours_row: ours_tagger(Path(results[ours_row]["run_dir"])),
            spacy_name: lambda s, b, nlp=nlp, kind=kind: spacy_predict(nlp, kind, s, b),
        }
        for name, by_batch in throughput(systems, sentences, words).items():
            for batch, speed in by_batch.items():
                rows.append({"system": name, "task": kind, "batch": batch, "sentences": len(sentences), "words": words, **speed})
    return rows


# ---- report --------------------------------------------------------------------------------------


def epoch_table(random_run: str, pretrained_run: str) -> list[str]:
    """Valid F1 after each whole epoch of the random and the pretrained run (from their metrics.csv)."""
    import csv

    def per_epoch(run: str) -> dict[str, float]:
        path = Path(run) / "metrics.csv"
        if not path.exists():
            return {}
        with open(path, encoding="utf-8") as fh:
            return {row["epoch"]: float(row["valid_f1"]) for row in csv.DictReader(fh) if "." not in row["epoch"]}

    a, b = per_epoch(random_run), per_epoch(pretrained_run)
    epochs = [e for e in a if e in b]
    if not epochs:
        return []
    return [
        "| epoch | " + " | ".join(epochs) + " |",
        "|---|" + "---|" * len(epochs),
        "| random backbone, valid F1 | " + " | ".join(f"{100 * a[e]:.2f}" for e in epochs) + " |",
        "| pretrained backbone, valid F1 | " + " | ".join(f"{100 * b[e]:.2f}" for e in epochs) + " |",
        "",
    ]


def markdown(results: dict, args) -> str:
    lines = [
        f"# Tagging: ours beside spaCy ({'quick smoke test' if args.quick else 'full splits'})",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores shared, 1 thread per run; "
        f"torch {torch.__version__}.",
        f"Budgets (training seconds): NER {args.ner_budget:.0f}, POS {args.pos_budget:.0f}, LM pretraining {args.lm_budget:.0f}. "
        "Ours count training steps only (the evaluation after each epoch is outside the budget); spaCy's callback counts "
        "wall time from its first update, its dev evaluations (every 200 steps) included. Other jobs shared the machine.",
        "",
    ]
    if args.set:
        lines += [f"Every ours-* run also had: `{' '.join(args.set)}`.", ""]
    if any(r.get("valid_held_out") is False for r in results.values() if isinstance(r, dict)):
        lines += ["With `data.train_with_dev` ours trained on train + valid and kept its last model; test is still held out.", ""]
    if any("/ensemble-" in k for k in results):
        lines += ["`NAME/ensemble-N`: the N seeds' vote (a chunk most members predict is kept; for POS each token's most voted tag).", ""]
    ner = [r for k, r in results.items() if "-ner" in k]
    if ner:
        lines += [
            "## CoNLL-2003 English NER, test split (seqeval)",
            "",
            ANCHORS + ".",
            "",
            "| system | F1 (default, conlleval) | F1 (strict IOB2) | precision | recall | training s | steps |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in ner:
            lines.append(
                f"| {r['system']} | {100 * r['test_f1']:.2f} | {100 * r['test_f1_strict']:.2f} | {100 * r['test_precision']:.2f} "
                f"| {100 * r['test_recall']:.2f} | {r['train_s']:.0f} | {r['steps']} |"
            )
        lines.append("")
        if "ours-ner" in results and "ours-ner-pretrained" in results:
            gain = 100 * (results["ours-ner-pretrained"]["test_f1"] - results["ours-ner"]["test_f1"])
            lines += [
                f"Pretraining the backbone as LMs on CoNLL's training text + PTB ({args.lm_budget:.0f} s) against a random backbone: "
                f"{gain:+.2f} test F1 within the same training budget. The runs' step counts differ with the machine's load, "
                "so here is valid F1 at equal epochs:",
                "",
            ]
            lines += epoch_table(results["ours-ner"]["run_dir"], results["ours-ner-pretrained"]["run_dir"])
    pos = [r for k, r in results.items() if "-pos" in k]
    if pos:
        lines += [
            "## Brown corpus, 12 universal tags, held-out documents (test)",
            "",
            "| system | token accuracy | training s | steps |",
            "|---|---|---|---|",
        ]
        for r in pos:
            lines.append(f"| {r['system']} | {100 * r['test_accuracy']:.2f} | {r['train_s']:.0f} | {r['steps']} |")
        lines.append("")
    if results.get("speed"):
        lines += [
            "## Tagging speed (CPU, 1 thread, tokenized test sentences)",
            "",
            "| system | task | batch | sentences/s | words/s |",
            "|---|---|---|---|---|",
        ]
        for r in results["speed"]:
            lines.append(f"| {r['system']} | {r['task']} | {r['batch']} | {r['sentences_per_s']:.0f} | {r['words_per_s']:.0f} |")
        lines.append("")
    lines.append(f"Command: `{results.get('command', 'python benchmarks/tagging.py')}`")
    return "\n".join(lines) + "\n"


def parse_seeds(parser: argparse.ArgumentParser, text: str | None) -> list[int]:
    """--seeds: "3" means seeds 1, 2, 3; "2-4" seeds 2 to 4; "2,4" those two; none: one run with the recipe's own seed."""
    if not text:
        return []
    try:
        if "-" in text:
            first, last = (int(x) for x in text.split("-"))
            values = list(range(first, last + 1))
        elif "," in text:
            values = [int(x) for x in text.split(",")]
        else:
            values = list(range(1, int(text) + 1))
    except ValueError:
        parser.error(f"--seeds: expected N, A-B or a comma-separated list of seeds, got {text!r}")
    if not values or any(v < 1 for v in values):
        parser.error(f"--seeds: seeds are >= 1, got {text!r}")
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated; 'none' rewrites the Markdown from the JSON")
    parser.add_argument("--ner-budget", type=float, default=300.0)
    parser.add_argument("--pos-budget", type=float, default=180.0)
    parser.add_argument("--lm-budget", type=float, default=180.0)
    parser.add_argument("--base", default="lm-english-base", help="the base backbone run (a folder, or a recipe's name)")
    parser.add_argument("--char-lm", default="runs/lm-english-char", help="the character LM run of the string embeddings")
    parser.add_argument("--context", type=int, default=32, help="data.context of the -context runs: tokens of document context a side")
    parser.add_argument("--context-dropout", type=float, default=0.0, help="data.context_dropout of the -context runs")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every ours-* run, after the row's own (repeatable), e.g. --set data.train_with_dev=true",
    )
    parser.add_argument(
        "--seeds",
        help="train each ours-* run with these trainer seeds: N for 1..N, A-B, or a list such as 2,4 (rows NAME/seedK, folders NAME-seedK)",
    )
    parser.add_argument("--ensemble", action="store_true", help="also score each ours-* run's seeds voting together (NAME/ensemble-N)")
    parser.add_argument("--reuse", action="store_true", help="read back a finished run of the same config instead of training it again")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-tagging")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.quick:
        args.ner_budget = args.pos_budget = args.lm_budget = 20.0
    out = args.out or ROOT / "benchmarks" / "results" / ("tagging-quick.json" if args.quick else "tagging.json")
    torch.set_num_threads(1)
    runs = args.runs.split(",")
    seeds = parse_seeds(parser, args.seeds)
    if args.ensemble and len(seeds) < 2:
        parser.error("--ensemble votes several seeds: give --seeds (e.g. --seeds 3)")
    results: dict = json.loads(out.read_text()) if out.exists() and args.runs != ",".join(RUNS) else {}

    def save() -> None:
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        out.with_suffix(".md").write_text(markdown(results, args), encoding="utf-8")

    context = [f"data.context={args.context}", f"data.context_dropout={args.context_dropout}"]
    stages = f"stages=[{{name: lm_pretrain, epochs: 10, corpora: [ptb], time_budget_s: {args.lm_budget}}}, {{name: task}}]"
    base = [f"pretrained={args.base}"]
    ner, pos, flair = "configs/ner-conll03.yaml", "configs/pos-brown.yaml", "configs/ner-conll03-flair.yaml"
    ours = {  # name -> (recipe, budget, overrides)
        "ours-ner": (ner, args.ner_budget, []),
        "ours-ner-pretrained": (ner, args.ner_budget, [stages]),
        "ours-ner-base": (ner, args.ner_budget, base),
        "ours-ner-context": (ner, args.ner_budget, VECTORS + context),
        "ours-ner-base-context": (ner, args.ner_budget, base + context),
        "ours-ner-strings": (flair, args.ner_budget, [f"head.string_embeddings={args.char_lm}"]),
        "ours-ner-all": (flair, args.ner_budget, [f"head.string_embeddings={args.char_lm}", *base]),
        "ours-pos-base": (pos, args.pos_budget, base),
        "ours-ner-vectors": (ner, args.ner_budget, VECTORS),
        "ours-pos-vectors": (pos, args.pos_budget, VECTORS),
        "ours-pos": (pos, args.pos_budget, []),
    }
    spacy_jobs = {
        "spacy-ner": lambda: train_spacy("spacy-ner", "ner", "conll2003", args.ner_budget, args),
        "spacy-pos": lambda: train_spacy("spacy-pos", "pos", "brown", args.pos_budget, args),
    }
    if any(name in ours or name in spacy_jobs or name == "speed" for name in runs):
        results["command"] = "python benchmarks/tagging.py " + " ".join(sys.argv[1:])
    for name in runs:
        if name in spacy_jobs:
            print(f"== {name}", flush=True)
            results[name] = spacy_jobs[name]()
        elif name in ours:
            recipe, budget, extra = ours[name]
            members, member_rows = [], []
            for seed in seeds or [None]:
                print(f"== {name}" + (f" seed {seed}" if seed is not None else ""), flush=True)
                row, predictions = train_ours(name, recipe, budget, args, extra, seed)
                results[row["system"]] = row
                members.append(predictions)
                member_rows.append(row)
                print(json.dumps(row, indent=1), flush=True)
                save()
            if args.ensemble:
                row = ensemble_row(name, members, member_rows)
                results[row["system"]] = row
                print(json.dumps(row, indent=1), flush=True)
        else:
            continue
        save()
    if "speed" in runs:
        results["speed"] = speed_rows(results, args)
    save()
    print(markdown(results, args))


if __name__ == "__main__":
    main()
