"""Generation speed on CPU: tokens/s of sampling and of beam search (width 5) from a 2 x 256 LSTM
LM, at batch 1 and batch 32, beside a naive sampler that re-runs the whole prefix at every step
(what the library avoids by carrying the hidden state).

    python benchmarks/generation_speed.py                       # a 2x256 LSTM, 10k words, full softmax
    python benchmarks/generation_speed.py --run runs/lm-ptb     # a trained run instead (its softmax)

Speed does not depend on the weights, so without --run the model is freshly initialised. Every
result is exactly `--tokens` new tokens per prompt (no stop at <eos>), so tokens/s compare
directly. Writes benchmarks/results/generation_speed.{json,md}.
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

from rnn_nlp.config import BackboneConfig  # noqa: E402
from rnn_nlp.generate import beam_search, generate_batch, sample_rows  # noqa: E402
from rnn_nlp.nn.backbone import Backbone  # noqa: E402
from rnn_nlp.nn.heads.lm import LanguageModelNetwork, LMHead, LMHeadConfig  # noqa: E402


def fresh_model(vocab_size: int) -> LanguageModelNetwork:
    """A 2 x 256 LSTM LM with a tied full softmax over `vocab_size` words."""
    backbone = Backbone(BackboneConfig(rnn="lstm", emb_size=256, hidden_size=256, layers=2), vocab_size, 0)
    head = LMHead(backbone.top_size, vocab_size, LMHeadConfig(softmax="full", tie_weights=True), backbone.embedding)
    return LanguageModelNetwork(backbone, head).eval()


@torch.no_grad()
def naive_sample(model: LanguageModelNetwork, prompts: list[list[int]], tokens: int, generator) -> list[list[int]]:
    """Sampling (the same sampler) that feeds the whole sequence so far through the RNN at every step (no carried state)."""
    seq = torch.tensor(prompts, dtype=torch.long)
    for _ in range(tokens):
        top, _, _ = model.backbone.run_direction("forward", seq)
        probs = model.head.log_probs(top[:, -1]).softmax(-1)
        seq = torch.cat([seq, sample_rows(probs, generator).unsqueeze(1)], 1)
    return seq[:, len(prompts[0]) :].tolist()


def timed(fn, repeats: int) -> float:
    """The best of `repeats` wall-clock times of fn() (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", help="a trained LM run folder (default: a fresh 2x256 LSTM)")
    p.add_argument("--vocab", type=int, default=10_000, help="vocabulary of the fresh model")
    p.add_argument("--tokens", type=int, default=100, help="new tokens per prompt")
    p.add_argument("--prompt-len", type=int, default=5)
    p.add_argument("--batches", default="1,32")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "generation_speed.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.run:
        from rnn_nlp.runs import load_run

        _, _, model = load_run(args.run, "cpu")
        model.eval()
        what = f"{args.run}"
    else:
        model = fresh_model(args.vocab)
        what = f"fresh 2x256 LSTM, {args.vocab:,} words, full softmax"
    vocab_size = model.head.vocab_size
    gen = torch.Generator().manual_seed(0)
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        prompts = torch.randint(3, vocab_size, (batch, args.prompt_len), generator=gen).tolist()
        runs = {
            "sampling (ours, carried state)": lambda prompts=prompts: generate_batch(
                model, prompts, args.tokens, greedy=False, generator=gen
            ),
            "greedy (ours)": lambda prompts=prompts: generate_batch(model, prompts, args.tokens, greedy=True),
            "beam 5 (ours)": lambda prompts=prompts: beam_search(model, prompts, 5, args.tokens, stop_id=None),
            "sampling, prefix re-run (naive)": lambda prompts=prompts: naive_sample(model, prompts, args.tokens, gen),
        }
        for name, fn in runs.items():
            seconds = timed(fn, args.repeats)
            rows.append(
                {
                    "decoding": name,
                    "batch": batch,
                    "new_tokens": batch * args.tokens,
                    "seconds": seconds,
                    "tokens_per_s": batch * args.tokens / seconds,
                }
            )
            print(f"batch {batch:3d}  {name:34s} {rows[-1]['tokens_per_s']:10,.0f} tokens/s", flush=True)
    info = {
        "model": what,
        "tokens_per_prompt": args.tokens,
        "prompt_len": args.prompt_len,
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or ''}".strip(", "),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"info": info, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    lines = [
        f"Model: {what}; {args.tokens} new tokens per prompt after a {args.prompt_len}-token prompt; "
        f"torch {torch.__version__}, {args.threads} thread(s), {info['machine']}.",
        "",
        "| decoding | batch | tokens/s | seconds |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['decoding']} | {r['batch']} | {r['tokens_per_s']:,.0f} | {r['seconds']:.3f} |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
