"""BBC article -> headline, side by side on the 212 test articles of `bbc-headlines`:

- the lead baseline: the article's first 8 words;
- configs/headlines-bbc.yaml trained from scratch;
- the same with encoder and decoder started from one bidirectional LSTM language model trained
  on the bbc-news training articles (`pretrained` and `head.decoder_pretrained`; the decoder takes
  its forward half), the LM's training time not counted in the seq2seq budget.

Both seq2seq runs train for the same wall-clock budget on one CPU thread (best validation loss
kept) and decode greedily. Scores: ROUGE-1/2/L F1 (rouge-score, stemmed), BLEU and chrF
(sacrebleu), all lower-cased as the recipe is. Writes benchmarks/results/headlines_bbc.{json,md}.

    nice -n 10 python benchmarks/headlines_bbc.py        # about 17 minutes
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_nlp.config import apply_overrides, read_yaml_mapping  # noqa: E402
from rnn_nlp.metrics import bleu_chrf, rouge  # noqa: E402
from rnn_nlp.runs import (  # noqa: E402
    build_config,  # noqa: E402
    load_run,
    train_run,
)

CONFIG = ROOT / "configs" / "headlines-bbc.yaml"


def lm_config(budget: float) -> dict:
    """A bidirectional LSTM LM with the recipe's encoder shape, on the bbc-news training articles."""
    s2s = read_yaml_mapping(CONFIG)
    backbone = {k: s2s["backbone"][k] for k in ("rnn", "emb_size", "hidden_size", "layers", "direction")}
    return {
        "task": "lm",
        "data": {"name": "bbc-news", "tokenizer": "spacy", "lowercase": True, "vocab_size": 12000, "min_count": 2},
        "backbone": {**backbone, "input_dropout": 0.2, "output_dropout": 0.2},
        "head": {"softmax": "full", "tie_weights": True},
        "trainer": {
            "epochs": 100,
            "time_budget_s": budget,
            "batch_size": 20,
            "eval_batch_size": 20,
            "bptt": 35,
            "optimizer": "adam",
            "lr": 0.002,
            "clip_norm": 1.0,
            "schedule": "none",
            "threads": 1,
            "progress": False,
            "device": "cpu",
        },
    }


def train_s2s(name: str, extra: list[str], args) -> dict:
    overrides = [
        f"trainer.time_budget_s={args.budget}",
        "trainer.epochs=100",
        "trainer.threads=1",
        "trainer.progress=false",
        "trainer.device=cpu",
        "head.eval_decode_examples=0",
        *extra,
    ]
    cfg = build_config(apply_overrides(read_yaml_mapping(CONFIG), overrides), str(CONFIG))
    out = Path(args.runs) / name
    start = time.perf_counter()
    trainer = train_run(cfg, out, overwrite=True)
    best = min(trainer.history, key=lambda h: h["valid_loss"])
    return {
        "run": str(out),
        "wall_s": round(time.perf_counter() - start, 1),
        "steps": trainer.global_step,
        "best_valid_loss": round(float(best["valid_loss"]), 4),
        "best_valid_ppl": round(float(best["valid_ppl"]), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=360, help="training seconds per seq2seq model")
    parser.add_argument("--lm-budget", type=float, default=240, help="training seconds of the language model")
    parser.add_argument("--runs", default="runs/bench-headlines-bbc")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    began = time.perf_counter()
    lm_dir = Path(args.runs) / "lm-bbc-news"
    lm_trainer = train_run(build_config(lm_config(args.lm_budget), "headlines LM"), lm_dir, overwrite=True)
    record: dict = {
        "config": str(CONFIG.relative_to(ROOT)),
        "budget_s_per_model": args.budget,
        "lm": {
            "run": str(lm_dir),
            "budget_s": args.lm_budget,
            "steps": lm_trainer.global_step,
            "valid_ppl": round(float(lm_trainer.history[-1]["valid_ppl"]), 1),
        },
        "models": {
            "from scratch": train_s2s("scratch", [], args),
            "pretrained LM (encoder + decoder)": train_s2s(
                "pretrained", [f"pretrained={lm_dir}", f"head.decoder_pretrained={lm_dir}"], args
            ),
        },
        "results": [],
    }
    _, task, _ = load_run(record["models"]["from scratch"]["run"], "cpu")
    test = task.records()["test"]
    refs = [r.lower() for r in test["target"]]

    def add(system: str, hyps: list[str]) -> None:
        scores = {**rouge(hyps, refs), **bleu_chrf(hyps, refs, lowercase=True)}
        row = {"system": system, **{k: round(v, 2) for k, v in scores.items()}, "distinct_outputs": len(set(hyps))}
        record["results"].append(row)
        print(row, flush=True)

    add("lead: first 8 words", [" ".join(s.split()[:8]).lower() for s in test["source"]])
    samples = {}
    for name, info in record["models"].items():
        _, task_i, model = load_run(info["run"], "cpu")
        hyps = [out[0] for out in task_i.translate(model, test["source"], torch.device("cpu"))]
        add(f"{name}, greedy", hyps)
        samples[name] = hyps[:3]
    record["samples"] = [{"reference": test["target"][i], **{k: v[i] for k, v in samples.items()}} for i in range(3)]
    record["test_articles"] = len(refs)
    record["total_wall_s"] = round(time.perf_counter() - began, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "headlines_bbc.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [
        "# BBC article -> headline",
        "",
        f"{record['test_articles']} test articles; `{record['config']}`, "
        f"{args.budget:.0f} s of training per model on one CPU thread (the LM: {args.lm_budget:.0f} s more, "
        f"{record['lm']['steps']} steps, valid perplexity {record['lm']['valid_ppl']}).",
        "",
        "| system | ROUGE-1 | ROUGE-2 | ROUGE-L | BLEU | chrF | distinct outputs |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in record["results"]:
        lines.append(
            f"| {r['system']} | {r['rouge1']:.2f} | {r['rouge2']:.2f} | {r['rougeL']:.2f} "
            f"| {r['bleu']:.2f} | {r['chrf']:.2f} | {r['distinct_outputs']} |"
        )
    lines += ["", "| model | steps | best valid loss (ppl) |", "|---|---:|---:|"]
    for name, m in record["models"].items():
        lines.append(f"| {name} | {m['steps']} | {m['best_valid_loss']:.3f} ({m['best_valid_ppl']}) |")
    lines += ["", "Samples:", ""]
    for s in record["samples"]:
        lines += [f"- **{k}**: {v}" for k, v in s.items()] + [""]
    lines.append(f"Whole benchmark: {record['total_wall_s'] / 60:.1f} min (2-core CPU box, torch {torch.__version__}).")
    (out / "headlines_bbc.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {out / 'headlines_bbc.md'}")


if __name__ == "__main__":
    main()
