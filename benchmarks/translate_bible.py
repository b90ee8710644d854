"""English -> Spanish Bible translation (KJV -> Reina-Valera 1909), side by side on the held-out verses:

- copy the source (the baseline: English words that Spanish shares, names, numbers, punctuation);
- an encoder-decoder without attention (conditioned through its initial state only), greedy;
- the same with additive (Bahdanau) attention, greedy, and with beam search of width 5.

Both models come from configs/translate-bible.yaml, differ only in `head.attention`, and train for
the same wall-clock budget on one thread (`--budget` seconds each; the best validation loss is
kept). Scores are sacrebleu's corpus BLEU and chrF on detokenized outputs against the raw test
verses (1,450 verses in 59 chapters no training verse comes from). Decoding speed is sentences/s
at batch 1 (the first `--speed-sentences` test verses one at a time) and batch 32 (the whole test
set, sorted by length, 32 at a time). Writes benchmarks/results/translate_bible.{json,md}.

    nice -n 10 python benchmarks/translate_bible.py             # about 25 min on one CPU thread
    python benchmarks/translate_bible.py --budget 20 --eval-limit 64 --out /tmp/tb   # a smoke run
    python benchmarks/translate_bible.py --reuse    # score the runs of the last full run again (no training)

"no attention + beam 5" is an extra row beside the three the comparison asks for: it shows whether
search alone repairs a decoder that is conditioned only through its initial state. Mean output
length (words) is reported beside the speeds, since an output that loops until
`head.max_decode_tokens` costs more steps than one that stops at <eos>.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_nlp.config import apply_overrides, read_yaml_mapping  # noqa: E402
from rnn_nlp.data.detokenize import detokenize_words  # noqa: E402
from rnn_nlp.generate.conditional import decode_ids, encode_sources  # noqa: E402
from rnn_nlp.metrics import bleu_chrf  # noqa: E402
from rnn_nlp.runs import (  # noqa: E402
    build_config,  # noqa: E402
    load_run,
    train_run,
)

CONFIG = ROOT / "configs" / "translate-bible.yaml"
MODELS = {"no attention": "none", "attention": "additive"}


def train(name: str, attention: str, args) -> dict:
    """Train one model for the budget into args.runs/<name>; its training record."""
    overrides = [
        f"head.attention={attention}",
        f"trainer.time_budget_s={args.budget}",
        "trainer.epochs=100",
        "trainer.threads=1",
        "trainer.progress=false",
        "trainer.device=cpu",
        "head.eval_decode_examples=0",  # validation = loss only: the budget goes to training
    ]
    if args.eval_limit:
        overrides.append(f"data.max_eval_examples={args.eval_limit}")
    cfg = build_config(apply_overrides(read_yaml_mapping(CONFIG), overrides), str(CONFIG))
    out = Path(args.runs) / name.replace(" ", "-")
    start = time.perf_counter()
    trainer = train_run(cfg, out, overwrite=True)
    last = trainer.history[-1]
    best = min(trainer.history, key=lambda h: h["valid_loss"])
    return {
        "run": str(out),
        "wall_s": round(time.perf_counter() - start, 1),
        "steps": trainer.global_step,
        "epochs": round(float(last["epoch"]), 3),
        "best_valid_loss": round(float(best["valid_loss"]), 4),
        "best_valid_ppl": round(float(best["valid_ppl"]), 2),
        "parameters": sum(p.numel() for p in {id(p): p for p in trainer.model.parameters()}.values()),
    }


def translate(model, task, ids: list[list[int]], beam: int, batch_size: int) -> tuple[list[str], float]:
    """Detokenized outputs of `ids` and the wall time of decoding them."""
    h = task.cfg.head
    start = time.perf_counter()
    found = decode_ids(model, ids, h.max_decode_tokens, beam, h.length_penalty, batch_size=batch_size)
    elapsed = time.perf_counter() - start
    vocab = task.target_vocab()
    return [detokenize_words(vocab.decode(out[0])) for out in found], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=600, help="training seconds per model")
    parser.add_argument("--eval-limit", type=int, help="only the first N valid/test verses (smoke runs)")
    parser.add_argument("--speed-sentences", type=int, default=100, help="verses decoded one at a time for batch-1 speed")
    parser.add_argument("--runs", default="runs/bench-translate-bible", help="where the two runs go")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"), help="folder for the json and md")
    parser.add_argument("--reuse", action="store_true", help="take the trained runs (and their training record) from the last results json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    began = time.perf_counter()

    record: dict = {"config": str(CONFIG.relative_to(ROOT)), "budget_s_per_model": args.budget, "models": {}, "results": []}
    if args.reuse:
        previous = json.loads((Path(args.out) / "translate_bible.json").read_text(encoding="utf-8"))
        record.update(budget_s_per_model=previous["budget_s_per_model"], models=previous["models"])
        record["training_wall_s"] = previous.get("training_wall_s", sum(m["wall_s"] for m in previous["models"].values()))
    else:
        for name, attention in MODELS.items():
            record["models"][name] = train(name, attention, args)
            print(f"trained {name}: {record['models'][name]}", flush=True)
        record["training_wall_s"] = round(time.perf_counter() - began, 1)

    models = {name: load_run(info["run"], "cpu")[1:] for name, info in record["models"].items()}
    task = next(iter(models.values()))[0]
    test = task.records()["test"]
    refs = test["target"]
    ids = encode_sources(test["source"], task.token_vocab(), task.tokenizer, task.max_source_tokens())
    record["test_verses"] = len(refs)

    def add(system: str, hyps: list[str], extra: dict) -> None:
        scores = {k: round(v, 2) for k, v in bleu_chrf(hyps, refs).items()}
        words = round(sum(len(h.split()) for h in hyps) / len(hyps), 1)
        row = {"system": system, **scores, "mean_output_words": words, **extra}
        record["results"].append(row)
        print(row, flush=True)

    record["mean_reference_words"] = round(sum(len(r.split()) for r in refs) / len(refs), 1)
    add("copy the source", list(test["source"]), {})
    samples = {}
    n1 = min(args.speed_sentences, len(ids))
    for system, name, beam in (
        ("no attention + greedy", "no attention", 1),
        ("attention + greedy", "attention", 1),
        ("attention + beam 5", "attention", 5),
        ("no attention + beam 5", "no attention", 5),
    ):
        task_i, model = models[name]
        hyps, t32 = translate(model, task_i, ids, beam, 32)
        _, t1 = translate(model, task_i, ids[:n1], beam, 1)
        add(system, hyps, {"sent_per_s_batch32": round(len(ids) / t32, 1), "sent_per_s_batch1": round(n1 / t1, 1)})
        samples[system] = hyps[:3]

    record["samples"] = [{"source": test["source"][i], "reference": refs[i], **{k: v[i] for k, v in samples.items()}} for i in range(3)]
    record["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (1 torch thread), torch {torch.__version__}"
    record["total_wall_s"] = round(time.perf_counter() - began + (record["training_wall_s"] if args.reuse else 0), 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "translate_bible.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "translate_bible.md").write_text(markdown(record), encoding="utf-8")
    print(f"wrote {out / 'translate_bible.json'} and .md in {record['total_wall_s']:.0f} s")


def markdown(r: dict) -> str:
    lines = [
        "# English -> Spanish Bible translation (KJV -> Reina-Valera 1909)",
        "",
        f"Held-out test verses: {r['test_verses']:,} (whole chapters never seen in training). "
        f"Both models: `{r['config']}`, trained {r['budget_s_per_model']:.0f} s each on one CPU thread, "
        "best validation loss kept. sacrebleu corpus BLEU and chrF on detokenized text.",
        "",
        f"Mean reference length: {r['mean_reference_words']} words.",
        "",
        "| system | BLEU | chrF | BP | mean output words | sentences/s, batch 1 | sentences/s, batch 32 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["results"]:
        lines.append(
            f"| {row['system']} | {row['bleu']:.2f} | {row['chrf']:.2f} | {row['bleu_bp']:.3f} | {row['mean_output_words']} | "
            f"{row.get('sent_per_s_batch1', '-')} | {row.get('sent_per_s_batch32', '-')} |"
        )
    lines += ["", "| model | steps | epochs | best valid loss (ppl) | parameters | wall s |", "|---|---:|---:|---:|---:|---:|"]
    for name, m in r["models"].items():
        lines.append(
            f"| {name} | {m['steps']:,} | {m['epochs']:.2f} | {m['best_valid_loss']:.3f} ({m['best_valid_ppl']:.1f}) | "
            f"{m['parameters']:,} | {m['wall_s']:.0f} |"
        )
    lines += ["", "Samples (first test verses):", ""]
    for s in r["samples"]:
        for key, value in s.items():
            lines.append(f"- **{key}**: {value}")
        lines.append("")
    lines += [f"Machine: {r['machine']}. Whole benchmark: {r['total_wall_s'] / 60:.1f} min.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
