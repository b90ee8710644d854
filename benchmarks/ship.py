"""Shipping a model: CPU throughput of PyTorch fp32, ONNX fp32, ONNX int8 and spaCy, the int8 accuracy change,
export size against run size, load time and first-prediction latency. One thread throughout.

    python benchmarks/ship.py --ner RUN --pos RUN --classify RUN \\
        --spacy-ner DIR --spacy-pos DIR --spacy-classify DIR     # the measurement (trained runs and pipelines)
    python benchmarks/ship.py --quick                            # a smoke test: tiny runs trained here, 40 sentences
    python benchmarks/ship.py --load-only --ner RUN ...          # only load time and first prediction (ship-load.json)

Each given run is exported (`rnn-nlp export RUN OUT --onnx --int8`) into --work. On the run's own test split
(NER and POS: its sentences already tokenized, as benchmarks/tagging.py's speed rows, so tokenization is left
out for every system; classification: raw texts, tokenized by each system), at batch 1 and 64:
- torch: `Model`'s tagging / probabilities (PyTorch fp32, the run's best model);
- onnx-fp32, onnx-int8: the torch-free predictor (`rnn_nlp.inference`) on model.onnx / model.int8.onnx;
- spacy: the given spaCy pipeline (`spacy.load(DIR)`, its `nlp.pipe`) on the same sentences;
sentences/s and words/s, after a warm-up, each the best of three passes taken in turns with the other systems (a
machine whose speed drifts favours none). The int8 change is its score (NER: seqeval F1; POS, classification:
accuracy) minus the fp32 ONNX graph's on the same split. Load time: from nothing to a loaded model in a new
process (python -c), and the first prediction's latency in that process. Results: benchmarks/results/ship.json, .md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rnn_nlp  # noqa: E402
from rnn_nlp import api, inference  # noqa: E402

CPU = torch.device("cpu")
KINDS = ("ner", "pos", "classify")
ROUNDS = 3  # timed passes per system and batch size, the systems taking turns; the best of each is reported
LOADERS = {  # one new process each: import, load, then time one prediction of one sentence
    "torch": "import rnn_nlp, torch; torch.set_num_threads(1); predict = rnn_nlp.load({path!r}, 'cpu').predict",
    "torch-export": "import rnn_nlp, torch; torch.set_num_threads(1); predict = rnn_nlp.load({path!r}, 'cpu').predict",
    "onnx-fp32": "from rnn_nlp import inference; predict = inference.load({path!r}, threads=1).predict",
    "onnx-int8": "from rnn_nlp import inference; predict = inference.load({path!r}, int8=True, threads=1).predict",
    "spacy": "import spacy; predict = spacy.load({path!r})",
}


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_split(run: Path, kind: str, limit: int | None) -> tuple[list, list]:
    """(inputs, gold) of the run's test split: token lists and IOB2/plain tags, or texts and labels."""
    task = rnn_nlp.load(run, "cpu")._task
    if kind == "classify":
        rec = task.records()["test"]
        return rec["text"][:limit], rec["label"][:limit]
    part = task.splits()["test"]
    return part["tokens"][:limit], [task.to_eval_scheme(t) for t in part["tags"][:limit]]


def systems(kind: str, run: Path, export: Path, spacy_dir: Path | None) -> dict:
    """name -> predict(inputs, batch) giving tags per sentence (tagging) or a label per text."""
    model = rnn_nlp.load(run, "cpu")
    fp32, int8 = inference.load(export, threads=1), inference.load(export, int8=True, threads=1)
    if kind == "classify":
        out = {
            "torch": lambda x, b: model.decide(model.probabilities(x, b)),
            "onnx-fp32": lambda x, b: fp32.decide(fp32.probabilities(x, b)),
            "onnx-int8": lambda x, b: int8.decide(int8.probabilities(x, b)),
        }
    else:
        out = {
            "torch": lambda x, b: model.tag_tokens(x, b),
            "onnx-fp32": lambda x, b: fp32.tag_tokens(x, b),
            "onnx-int8": lambda x, b: int8.tag_tokens(x, b),
        }
    if spacy_dir is not None:
        import spacy

        nlp = spacy.load(spacy_dir)
        out["spacy"] = lambda x, b: spacy_predict(nlp, kind, x, b)
    return out


def spacy_predict(nlp, kind: str, inputs: list, batch: int) -> list:
    from spacy.tokens import Doc

    if kind == "classify":
        return [max(doc.cats, key=doc.cats.get) for doc in nlp.pipe(inputs, batch_size=batch)]
    docs = (Doc(nlp.vocab, words=words) for words in inputs)
    if kind == "ner":
        return [[f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in d] for d in nlp.pipe(docs, batch_size=batch)]
    return [[t.tag_ for t in d] for d in nlp.pipe(docs, batch_size=batch)]


def score(kind: str, gold: list, pred: list) -> float:
    if kind == "ner":
        from seqeval.metrics import f1_score

        return float(f1_score(gold, pred))
    if kind == "pos":
        pairs = [(g, p) for gs, ps in zip(gold, pred) for g, p in zip(gs, ps)]
        return sum(g == p for g, p in pairs) / max(1, len(pairs))
    return sum(g == p for g, p in zip(gold, pred)) / max(1, len(gold))


def throughput(systems: dict, inputs: list, words: int, rounds: int = ROUNDS) -> dict:
    """name -> batch -> sentences/s and words/s, each system's best of `rounds` passes over `inputs`, the systems
    taking turns within each round, so that a machine whose speed drifts during the run favours none of them."""
    best: dict = {name: {} for name in systems}
    for batch in (1, 64):
        for predict in systems.values():
            predict(inputs[:20], batch)  # warm up
        for _ in range(rounds):
            for name, predict in systems.items():
                started = time.perf_counter()
                predict(inputs, batch)
                seconds = time.perf_counter() - started
                if batch not in best[name] or seconds < best[name][batch]:
                    best[name][batch] = seconds
    return {
        name: {b: {"sentences_per_s": len(inputs) / t, "words_per_s": words / t} for b, t in times.items()} for name, times in best.items()
    }


def load_times(name: str, path: Path, text: str) -> dict:
    """Seconds to import and load in a new process, and the first prediction's latency there."""
    code = LOADERS[name].format(path=str(path)) + (
        f"\nimport time, json\nt = time.perf_counter(); predict({text!r}); print(json.dumps(time.perf_counter() - t))"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    total = time.perf_counter() - started
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    first = json.loads(done.stdout.splitlines()[-1])
    return {"load_s": total - first, "first_prediction_s": first}


def measure(kind: str, run: Path, spacy_dir: Path | None, work: Path, limit: int | None, load_only: bool = False) -> dict:
    export = work / f"{kind}-export"
    api.export(run, export, onnx=True, int8=True, overwrite=export.exists())
    text = "Angela Merkel visited Paris ." if kind != "classify" else "a gorgeous , moving film"
    paths = {"torch": run, "torch-export": export, "onnx-fp32": export, "onnx-int8": export, **({"spacy": spacy_dir} if spacy_dir else {})}
    if load_only:
        return {"run": str(run), "load": {name: load_times(name, path, text) for name, path in paths.items()}}
    inputs, gold = test_split(run, kind, limit)
    words = sum(len(x) for x in inputs) if kind != "classify" else sum(len(t.split()) for t in inputs)  # texts: whitespace words
    found = systems(kind, run, export, spacy_dir)
    result: dict = {"run": str(run), "sentences": len(inputs), "words": words, "rounds": ROUNDS, "systems": {}}
    speeds = throughput(found, inputs, words)
    for name, predict in found.items():
        result["systems"][name] = {"score": score(kind, gold, predict(inputs, 64)), "speed": speeds[name]}
    fp32, int8 = result["systems"]["onnx-fp32"]["score"], result["systems"]["onnx-int8"]["score"]
    result["int8_change_points"] = 100 * (int8 - fp32)
    onnx_files = {p.name: p.stat().st_size for p in export.iterdir()}
    result["size_bytes"] = {"run": folder_bytes(run), "export (safetensors)": onnx_files["model.safetensors"], **onnx_files}
    result["load"] = {name: load_times(name, path, text) for name, path in paths.items()}
    return result


def quick_runs(work: Path) -> dict[str, Path]:
    """Tiny runs trained here on the tests' synthetic corpora (the smoke test's)."""
    from rnn_nlp.runs import build_config, train_run
    from tests.tasks.classification.test_task import classify_raw, write_sentiment
    from tests.tasks.tagging.data import tagging_raw, write_ner, write_pos

    raws = {
        "ner": tagging_raw("ner", write_ner(work / "ner-data"), trainer={"epochs": 2}),
        "pos": tagging_raw("pos", write_pos(work / "pos-data"), trainer={"epochs": 2}),
        "classify": classify_raw(write_sentiment(work / "reviews.csv"), trainer={"epochs": 2}),
    }
    runs = {}
    for kind, raw in raws.items():
        runs[kind] = work / f"{kind}-run"
        if not (runs[kind] / "best").exists():
            train_run(build_config(raw), runs[kind], overwrite=True)
    return runs


def markdown(results: dict) -> str:
    lines = [f"# Shipping a model (CPU, 1 thread)\n\n`{results['command']}` on {results['machine']}\n"]
    measured = {kind: r for kind, r in results["tasks"].items() if "systems" in r}  # not with --load-only
    if measured:
        lines += speed_and_size_lines(measured)
    lines += ["| task | system | load s (new process) | first prediction ms |", "|---|---|---|---|"]
    for kind, r in results["tasks"].items():
        for name, t in r["load"].items():
            shown = f"{t['load_s']:.2f} | {1000 * t['first_prediction_s']:.1f}" if "load_s" in t else f"failed: {t['error']} |"
            lines.append(f"| {kind} | {name} | {shown} |")
    return "\n".join(lines) + "\n"


def speed_and_size_lines(tasks: dict) -> list[str]:
    """The throughput table, then the int8 change and sizes, each followed by a blank line."""
    lines = ["| task | system | batch | sentences/s | words/s | score |", "|---|---|---|---|---|---|"]
    for kind, r in tasks.items():
        for name, s in r["systems"].items():
            for batch, speed in s["speed"].items():
                lines.append(
                    f"| {kind} | {name} | {batch} | {speed['sentences_per_s']:.0f} | {speed['words_per_s']:.0f} | {100 * s['score']:.2f} |"
                )
    lines += [
        "",
        "| task | int8 change (points) | run MB | export MB (safetensors) | model.onnx MB | model.int8.onnx MB |",
        "|---|---|---|---|---|---|",
    ]
    for kind, r in tasks.items():
        b = r["size_bytes"]
        lines.append(
            f"| {kind} | {r['int8_change_points']:+.2f} | {b['run'] / 1e6:.2f} | {b['export (safetensors)'] / 1e6:.2f} | "
            f"{b['model.onnx'] / 1e6:.2f} | {b['model.int8.onnx'] / 1e6:.2f} |"
        )
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for kind in KINDS:
        parser.add_argument(f"--{kind}", type=Path, help=f"a trained {kind} run")
        parser.add_argument(f"--spacy-{kind}", type=Path, help=f"a trained spaCy pipeline for {kind}")
    parser.add_argument("--sentences", type=int, default=1000, help="test sentences (texts) per task")
    parser.add_argument("--quick", action="store_true", help="tiny runs trained here, 40 sentences: a smoke test")
    parser.add_argument("--load-only", action="store_true", help="only the load time and first prediction of each system")
    parser.add_argument("--work", type=Path, help="where the exports go (default: a temporary folder)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    name = ("ship-quick" if args.quick else "ship") + ("-load" if args.load_only else "") + ".json"
    out = args.out or ROOT / "benchmarks" / "results" / name
    with tempfile.TemporaryDirectory(prefix="ship-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        runs = quick_runs(work) if args.quick else {k: getattr(args, k) for k in KINDS if getattr(args, k)}
        if not runs:
            parser.error("give at least one of --ner, --pos, --classify (or --quick)")
        results = {
            "command": "python benchmarks/ship.py " + " ".join(sys.argv[1:]),
            "machine": f"{os.cpu_count()} CPUs, torch {torch.__version__}",
        }
        results["tasks"] = {
            kind: measure(kind, run, getattr(args, f"spacy_{kind}"), work, 40 if args.quick else args.sentences, args.load_only)
            for kind, run in runs.items()
        }
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
