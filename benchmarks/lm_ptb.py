"""Word-level LSTM language models on Penn Treebank, each trained for the same wall-clock budget.

Runs (one subprocess each, one after another, so that peak memory is per run and the
machine is the same for all):

- ``baseline``: a plain PyTorch loop in the style of pytorch/examples' word_language_model
  (embedding -> nn.LSTM -> linear, time-major batches, SGD by hand, clipping, ``loss.item()``
  every step, lr / 4 when the validation loss does not improve), written here.
- ``ours-full``: the library (``rnn_nlp.runs.train_run``), full softmax tied to the embeddings.
- ``ours-adaptive``: the library with an adaptive softmax (untied).

All runs share the data, the vocabulary (the library's LMTask builds both), the model size
(2 x 256 LSTM, 256-d embeddings), batch 20, BPTT 35 and the evaluation (batch 10, BPTT 35, the
whole split). Training time excludes evaluation and checkpoint writing, for every run.

    python benchmarks/lm_ptb.py --budget-s 300                 # three runs, 5 minutes each
    python benchmarks/lm_ptb.py --quick                        # smoke test, about a minute
    python benchmarks/lm_ptb.py --long                         # ours-adaptive for 60 minutes

Rows go to ``--out`` (JSON) and a Markdown table beside it (same name, ``.md``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `tasks` is a top-level package of the repository

from rnn_nlp.config import apply_overrides  # noqa: E402
from rnn_nlp.runs import (  # noqa: E402
    build_config,  # noqa: E402
    load_run,
    train_run,
)

BACKBONE = {"rnn": "lstm", "emb_size": 256, "hidden_size": 256, "layers": 2}
# Light dropout wins budgets of minutes; --long uses the heavier set of configs/lm-ptb.yaml (an hour's recipe).
REGULARISATION = {"input_dropout": 0.1, "hidden_dropout": 0.1, "output_dropout": 0.25, "embed_dropout": 0.0}
LONG_REGULARISATION = {"input_dropout": 0.25, "hidden_dropout": 0.25, "output_dropout": 0.4, "embed_dropout": 0.05}
HEADS = {
    "ours-full": {"softmax": "full", "tie_weights": True},
    "ours-adaptive": {"softmax": "adaptive", "cutoffs": [2000, 5000], "tie_weights": False},
}
RUNS = ("baseline", *HEADS)
QUICK_DATA = {"max_train_tokens": 60_000, "max_eval_tokens": 10_000}
BATCH, EVAL_BATCH, BPTT, LR, CLIP, DROPOUT = 20, 10, 35, 20.0, 0.25, 0.2


def config(run: str, args: argparse.Namespace) -> dict:
    """The library config of an `ours-*` run (the baseline borrows its data section)."""
    raw = {
        "task": "lm",
        "data": {"name": "ptb", "tokenizer": "whitespace", **(QUICK_DATA if args.quick else {})},
        "backbone": {**BACKBONE, **(LONG_REGULARISATION if args.long else REGULARISATION)},
        "head": HEADS.get(run, HEADS["ours-full"]),
        "trainer": {  # `epochs` is out of reach: the budget ends every run
            "epochs": 1000,
            "time_budget_s": args.budget_s,
            "batch_size": BATCH,
            "eval_batch_size": EVAL_BATCH,
            "bptt": BPTT,
            "optimizer": "sgd",
            "lr": LR,
            "clip_norm": CLIP,
            "schedule": "plateau",
            "plateau_factor": 0.25,
            "device": "cpu",
            "threads": args.threads,
            "checkpoint_every": 1000,
            "progress": False,
        },
    }
    return apply_overrides(raw, list(args.set)) if run != "baseline" else raw


def machine() -> dict:
    """Where the numbers were measured."""
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds the whole machine has been busy, CPU seconds this process has used)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    own = resource.getrusage(resource.RUSAGE_SELF)
    return busy / os.sysconf("SC_CLK_TCK"), own.ru_utime + own.ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def n_params(model: nn.Module) -> int:
    """Distinct parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


# ---- the plain PyTorch baseline -------------------------------------------------------------
class PlainLSTMLM(nn.Module):
    """Embedding -> dropout -> nn.LSTM (dropout between layers) -> dropout -> tied linear."""

    def __init__(self, vocab: int, size: int = 256, layers: int = 2, dropout: float = DROPOUT):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab, size)
        self.rnn = nn.LSTM(size, size, layers, dropout=dropout)  # time-major: [T, B, H]
        self.decoder = nn.Linear(size, vocab)
        self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, ids: torch.Tensor, hidden=None):
        out, hidden = self.rnn(self.drop(self.encoder(ids)), hidden)
        return self.decoder(self.drop(out)), hidden


def time_major(ids: torch.Tensor, batch: int) -> torch.Tensor:
    """[N] -> [N // batch, batch]: column b is the b-th contiguous stretch of the corpus."""
    per = ids.numel() // batch
    return ids[: per * batch].view(batch, per).t().contiguous()


def chunks(data: torch.Tensor, bptt: int):
    """(inputs, targets) row slices of a time-major split: contiguous views, no copies."""
    for i in range(0, data.size(0) - 1, bptt):
        size = min(bptt, data.size(0) - 1 - i)
        yield data[i : i + size], data[i + 1 : i + 1 + size]


@torch.no_grad()
def plain_evaluate(model: PlainLSTMLM, data: torch.Tensor) -> float:
    """Mean per-token cross-entropy over a whole time-major split, state carried across chunks."""
    model.eval()
    total, tokens, hidden = 0.0, 0, None
    for x, y in chunks(data, BPTT):
        logits, hidden = model(x, hidden)
        total += F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        tokens += y.numel()
    return total / tokens


def run_baseline(args: argparse.Namespace) -> dict:
    """The classic loop; evaluates at every epoch end (and when the budget ends), keeps the best model."""
    from rnn_nlp.tasks.lm import LMTask

    task = LMTask(build_config(config("baseline", args)))
    train, valid, test = (task.ids(s) for s in ("train", "valid", "test"))
    train, valid, test = time_major(train, BATCH), time_major(valid, EVAL_BATCH), time_major(test, EVAL_BATCH)
    torch.manual_seed(1111)
    model = PlainLSTMLM(len(task.token_vocab()))
    lr, best, best_state = LR, math.inf, None
    elapsed, tokens, epochs, done = 0.0, 0, 0.0, False
    steps_per_epoch = math.ceil((train.size(0) - 1) / BPTT)
    while not done:
        model.train()
        hidden, step, started = None, 0, time.perf_counter()
        for x, y in chunks(train, BPTT):
            hidden = tuple(h.detach() for h in hidden) if hidden is not None else None
            model.zero_grad()
            logits, hidden = model(x, hidden)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            loss.item()  # the classic loop's per-step host sync (its running loss)
            tokens += y.numel()
            step += 1
            if elapsed + time.perf_counter() - started >= args.budget_s:
                done = True
                break
        elapsed += time.perf_counter() - started
        epochs += step / steps_per_epoch
        valid_loss = plain_evaluate(model, valid)
        print(f"baseline: epoch {epochs:.2f}, valid ppl {math.exp(valid_loss):.2f}, lr {lr:g}", flush=True)
        if valid_loss < best:
            best, best_state = valid_loss, copy.deepcopy(model.state_dict())
        else:
            lr /= 4
    model.load_state_dict(best_state)
    return {
        "params": n_params(model),
        "train_tokens": tokens,
        "train_s": elapsed,
        "epochs": epochs,
        "valid_ppl": math.exp(plain_evaluate(model, valid)),
        "test_ppl": math.exp(plain_evaluate(model, test)),
    }


# ---- the library --------------------------------------------------------------------------
def run_ours(args: argparse.Namespace) -> dict:
    """`train_run` with a time budget; then the best checkpoint is reloaded and evaluated."""
    cfg = build_config(config(args.child, args))
    out = args.work / args.child
    trainer = train_run(cfg, out, overwrite=True)
    last = trainer.history[-1]
    _, task, model = load_run(out)
    device = torch.device("cpu")
    return {
        "params": n_params(model),
        "train_tokens": trainer.tokens_seen,
        "train_s": trainer.elapsed,
        "epochs": last["epoch"],
        "valid_ppl": task.evaluate(model, "valid", device)["ppl"],
        "test_ppl": task.evaluate(model, "test", device)["ppl"],
    }


def child(args: argparse.Namespace) -> None:
    """Run `args.child` in this process; write its row as JSON to `args.child_out`."""
    import logging

    logging.basicConfig(level=logging.INFO, format=f"{args.child}: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    started, (busy0, own0) = time.perf_counter(), cpu_seconds()
    result = run_baseline(args) if args.child == "baseline" else run_ours(args)
    wall, (busy1, own1) = time.perf_counter() - started, cpu_seconds()
    preset = "quick" if args.quick else "long" if args.long else "standard"
    row = {"run": args.child, "preset": preset, "overrides": args.set, "budget_s": args.budget_s, **result}
    row["tokens_per_s"] = row["train_tokens"] / max(row["train_s"], 1e-9)
    row["wall_s"] = wall
    row["peak_rss_mb"] = peak_rss_mb()
    row["other_load"] = max(0.0, (busy1 - busy0) - (own1 - own0)) / wall  # CPUs other work kept busy
    row.update(machine())
    args.child_out.write_text(json.dumps(row))


# ---- the report ---------------------------------------------------------------------------
COLUMNS = [
    ("run", "run", "{}"),
    ("params", "params", "{:,}"),
    ("budget_s", "budget s", "{:.0f}"),
    ("epochs", "epochs", "{:.2f}"),
    ("train_tokens", "train tokens", "{:,}"),
    ("tokens_per_s", "tokens/s", "{:,.0f}"),
    ("speedup", "x baseline", "{:.2f}"),
    ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
    ("valid_ppl", "valid ppl", "{:.2f}"),
    ("valid_ppl_diff", "valid ppl - baseline", "{:+.2f}"),
    ("test_ppl", "test ppl", "{:.2f}"),
]


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [fmt.format(row[k]) if row.get(k) is not None else "" for k, _, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    first = rows[0]
    load = max(r["other_load"] for r in rows)
    lines.append(
        f"\n{first['machine']}; torch {first['torch']}, {first['torch_threads']} threads; "
        f"other work kept up to {load:.2f} CPUs busy during a run."
    )
    return "\n".join(lines)


def add_ratios(rows: list[dict]) -> None:
    """Throughput ratio and valid-perplexity difference against the baseline row, if there is one."""
    base = next((r for r in rows if r["run"] == "baseline"), None)
    for row in rows:
        row["speedup"] = row["tokens_per_s"] / base["tokens_per_s"] if base else None
        row["valid_ppl_diff"] = row["valid_ppl"] - base["valid_ppl"] if base else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget-s", type=float, default=None, help="training seconds per run (default 300; 20 --quick; 3600 --long)")
    p.add_argument("--runs", default=None, help=f"comma-separated, from {', '.join(RUNS)} (default: all)")
    p.add_argument("--out", type=Path, default=None, help="JSON rows (default benchmarks/results/lm_ptb[-quick|-long].json)")
    p.add_argument("--quick", action="store_true", help="smoke test: 20 s per run on a slice of PTB")
    p.add_argument("--long", action="store_true", help="the 60-minute target: 3600 s, ours-adaptive unless --runs")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override for ours-* runs")
    p.add_argument("--work", type=Path, default=None, help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.budget_s = args.budget_s or (20.0 if args.quick else 3600.0 if args.long else 300.0)
    if args.long:
        args.runs = args.runs or "ours-adaptive"
    if args.child:
        child(args)
        return 0
    runs = [r.strip() for r in (args.runs or ",".join(RUNS)).split(",") if r.strip()]
    unknown = [r for r in runs if r not in RUNS]
    if unknown:
        p.error(f"unknown run(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    build_config(config("ours-full", args))  # a bad --set fails here, not after the baseline
    suffix = "-quick" if args.quick else "-long" if args.long else ""
    out = args.out or ROOT / "benchmarks" / "results" / f"lm_ptb{suffix}.json"
    rows = []
    with tempfile.TemporaryDirectory(prefix="lm_ptb-") as tmp:
        work = (args.work or Path(tmp)).resolve()
        for run in runs:
            row_file = Path(tmp) / f"{run}.json"
            cmd = [sys.executable, __file__, "--child", run, "--budget-s", str(args.budget_s), "--work", str(work)]
            cmd += ["--child-out", str(row_file)] + (["--quick"] if args.quick else []) + (["--long"] if args.long else [])
            cmd += (["--threads", str(args.threads)] if args.threads else []) + [f"--set={s}" for s in args.set]
            print(f"== {run}: {args.budget_s:g} s of training", flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT)
            rows.append(json.loads(row_file.read_text()))
    add_ratios(rows)
    table = markdown(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    out.with_suffix(".md").write_text(table + "\n")
    print("\n" + table + f"\n\nrows: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
