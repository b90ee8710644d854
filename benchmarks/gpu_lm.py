"""benchmarks/gpu.py's language-model steps: training speed against the plain loop, and AWD-LSTM's recipe.

`lm_speed`: for a 2 x 256 LSTM (benchmarks/lm_ptb.py's size, batch 20, BPTT 35) and a 3 x 1150
AWD-style LSTM (configs/lm-ptb-awd.yaml's sizes, batch 80, BPTT 70), training tokens/s of

- `plain`: the classic loop of lm_ptb.py (nn.LSTM time-major, SGD by hand, clipping, `loss.item()`
  every step), float32, on the same token ids (the library's vocabulary);
- `library`: `rnn-nlp train` with the same sizes, optimiser and locked dropouts, float32;
- `library` + bf16: the same with `trainer.amp: true` (autocast; the RNN itself stays float32);
- `library`, AWD recipe (large model only): configs/lm-ptb-awd.yaml as it is (weight drop, embedding
  dropout, variable BPTT, amp).

Every run trains for the same seconds in one process after CUDA has started; each clock starts at
the run's first step, so each run pays its own first-step allocations alike. The library's own
tokens/s (metrics.csv: tokens seen / training seconds, evaluation and checkpoints excluded) is
compared with the plain loop's tokens / seconds. Peak GPU memory is per run.

`awd`: configs/lm-ptb-awd.yaml trained for a fixed budget, then valid and test perplexity of its
best checkpoint on the whole splits.
"""

from __future__ import annotations

import importlib.util
import math
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import gpu_data
import torch
import torch.nn.functional as F
from gpu_common import CONFIGS, ROOT, PeakMemory, load, n_params, sync, train, warm_up, write_yaml
from torch import nn

AWD_CONFIG = CONFIGS / "lm-ptb-awd.yaml"
AWD_PUBLISHED = (
    "AWD-LSTM (Merity et al. 2017) reaches 57.3 test perplexity (60.0 valid) on PTB after hundreds "
    "of epochs of NT-ASGD and fine-tuning, far longer than this budget; this recipe uses SGD with plateau decay"
)
SIZES = {
    "2x256": {
        "label": "2 x 256 LSTM",
        "batch": 20,
        "bptt": 35,
        "lr": 20.0,
        "dropout": 0.2,
        "backbone": {
            "rnn": "lstm",
            "emb_size": 256,
            "hidden_size": 256,
            "layers": 2,
            "input_dropout": 0.1,
            "hidden_dropout": 0.1,
            "output_dropout": 0.25,
        },
    },
    "3x1150": {
        "label": "3 x 1150 LSTM (AWD sizes)",
        "batch": 80,
        "bptt": 70,
        "lr": 30.0,
        "dropout": 0.4,
        "backbone": {
            "rnn": "lstm",
            "emb_size": 400,
            "hidden_size": 1150,
            "top_size": 400,
            "layers": 3,
            "input_dropout": 0.4,
            "hidden_dropout": 0.25,
            "output_dropout": 0.4,
        },
    },
}
SMOKE_BACKBONES = {"2x256": {"emb_size": 16, "hidden_size": 16}, "3x1150": {"emb_size": 16, "hidden_size": 24, "top_size": 16}}
SMOKE_AWD = [
    "trainer.epochs=2",
    "backbone.emb_size=16",
    "backbone.hidden_size=24",
    "backbone.top_size=16",
    "trainer.batch_size=4",
    "trainer.bptt=8",
    "trainer.eval_batch_size=4",
    "trainer.threads=1",
]
EVAL_TOKENS = 5000  # the speed runs' validation at each epoch end (outside the clock) reads this many


def load_lm_ptb() -> ModuleType:
    """benchmarks/lm_ptb.py as a module: its plain model and batching are the baseline."""
    spec = importlib.util.spec_from_file_location("bench_lm_ptb", ROOT / "benchmarks" / "lm_ptb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PlainStackLM(nn.Module):
    """lm_ptb's plain LM with one nn.LSTM per layer, so widths may differ (AWD-LSTM's 400-1150-1150-400)."""

    def __init__(self, vocab: int, emb: int, hidden: int, top: int, layers: int, dropout: float):
        super().__init__()
        sizes = [hidden] * (layers - 1) + [top]
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(vocab, emb)
        self.rnns = nn.ModuleList(nn.LSTM(i, o) for i, o in zip([emb] + sizes[:-1], sizes))  # time-major
        self.decoder = nn.Linear(top, vocab)
        self.decoder.weight = self.encoder.weight
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, ids: torch.Tensor, hidden: Any = None) -> tuple[torch.Tensor, list]:
        x, new = self.drop(self.encoder(ids)), []
        for i, rnn in enumerate(self.rnns):
            x, h = rnn(x, hidden[i] if hidden is not None else None)
            new.append(h)
            x = self.drop(x)
        return self.decoder(x), new


def detach(hidden: Any) -> Any:
    if hidden is None or isinstance(hidden, torch.Tensor):
        return None if hidden is None else hidden.detach()
    return type(hidden)(detach(h) for h in hidden)


def plain_model(spec: dict, vocab: int, lm_ptb: ModuleType) -> nn.Module:
    b = spec["backbone"]
    top = b.get("top_size") or b["hidden_size"]
    if b["emb_size"] == b["hidden_size"] == top:
        return lm_ptb.PlainLSTMLM(vocab, b["hidden_size"], b["layers"], spec["dropout"])
    return PlainStackLM(vocab, b["emb_size"], b["hidden_size"], top, b["layers"], spec["dropout"])


def plain_speed(model: nn.Module, ids: torch.Tensor, spec: dict, budget: float, device: torch.device, lm_ptb: ModuleType) -> dict:
    """lm_ptb.py's training loop on `device` for `budget` seconds (no evaluation): tokens and seconds."""
    data = lm_ptb.time_major(ids, spec["batch"]).to(device)
    model.to(device).train()
    tokens, steps, lr = 0, 0, spec["lr"]
    sync(device)
    started = time.perf_counter()
    while time.perf_counter() - started < budget:
        hidden = None  # each pass over the corpus starts from zero states
        for x, y in lm_ptb.chunks(data, spec["bptt"]):
            hidden = detach(hidden)
            model.zero_grad()
            logits, hidden = model(x, hidden)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1))
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            loss.item()  # the classic loop's per-step host sync
            tokens += y.numel()
            steps += 1
            if time.perf_counter() - started >= budget:
                break
    sync(device)
    return {"train_tokens": tokens, "train_s": time.perf_counter() - started, "steps": steps}


def library_raw(spec: dict, data: str, args: Any, device: torch.device, amp: bool) -> dict:
    """The `rnn-nlp train` recipe matching a plain size: same widths, optimiser, clipping, batch, BPTT."""
    return {
        "task": "lm",
        "data": {"name": data, "tokenizer": "whitespace", **({} if args.smoke else {"max_eval_tokens": EVAL_TOKENS})},
        "backbone": spec["backbone"],
        "head": {"softmax": "full", "tie_weights": True},
        "trainer": {
            "epochs": 1 if args.smoke else 1000,
            "time_budget_s": args.speed_budget_s,
            "batch_size": spec["batch"],
            "eval_batch_size": 10,
            "bptt": spec["bptt"],
            "optimizer": "sgd",
            "lr": spec["lr"],
            "clip_norm": 0.25,
            "schedule": "none",
            "device": device.type,
            "amp": amp,
            "checkpoint_every": 10**6,
            "progress": False,
            "seed": 1111,
            **({"threads": 1} if args.smoke else {}),
        },
    }


def library_row(config: Path, overrides: list[str], run: Path, device: torch.device) -> dict:
    """Train one library run; its tokens/s as the trainer measured it, and its peak GPU memory."""
    with PeakMemory(device) as peak:
        last = train(config, run, overrides)[-1]
    seconds = last["elapsed_s"]
    return {
        "impl": "library",
        "train_tokens": round(last["tokens_per_s"] * seconds),
        "train_s": seconds,
        "steps": int(last["step"]),
        "tokens_per_s": last["tokens_per_s"],
        "peak_gpu_mb": peak.mb,
    }


def smoke_sizes() -> dict:
    sizes = {}
    for key, spec in SIZES.items():
        backbone = {**spec["backbone"], **SMOKE_BACKBONES[key]}
        label = f"{spec['label']}, smoke stand-in {backbone['layers']} x {backbone['hidden_size']}"
        sizes[key] = {**spec, "label": label, "batch": 4 if key == "2x256" else 8, "bptt": 8, "backbone": backbone}
    return sizes


def lm_speed(args: Any, work: Path, device: torch.device) -> dict:
    """Tokens/s of the plain loop and the library, for both sizes, in this one process."""
    lm_ptb = load_lm_ptb()
    data = str(gpu_data.lm_corpus(work / "lm-corpus")) if args.smoke else "ptb"
    warm_up(device)
    rows = []
    for key, spec in (smoke_sizes() if args.smoke else SIZES).items():
        rows += size_rows(key, spec, data, args, work, device, lm_ptb)
    add_speedups(rows)
    return {"rows": rows, "budget_s": args.speed_budget_s}


def size_rows(key: str, spec: dict, data: str, args: Any, work: Path, device: torch.device, lm_ptb: ModuleType) -> list[dict]:
    """The library in float32, the plain loop on the library's token ids, the library with bf16 autocast
    (and, for the large size, the AWD recipe as it is)."""
    base = {"model": spec["label"], "size": key, "batch": spec["batch"], "bptt": spec["bptt"]}
    fp32 = library_lm(key, spec, data, args, work, device, amp=False)
    _, task, model = load(work / f"speed-{key}-fp32", torch.device("cpu"))
    ids, vocab, params = task.ids("train"), len(task.token_vocab()), n_params(model)
    del model
    torch.manual_seed(1111)
    plain = plain_model(spec, vocab, lm_ptb)
    with PeakMemory(device) as peak:
        result = plain_speed(plain, ids, spec, args.speed_budget_s, device, lm_ptb)
    rows = [
        {**base, **fp32, "precision": "float32", "recipe": "same as plain", "params": params},
        {
            **base,
            "impl": "plain",
            "precision": "float32",
            "recipe": "lm_ptb.py loop",
            "params": n_params(plain),
            **result,
            "tokens_per_s": result["train_tokens"] / result["train_s"],
            "peak_gpu_mb": peak.mb,
            "vocab": vocab,
        },
    ]
    del plain
    bf16 = library_lm(key, spec, data, args, work, device, amp=True)
    rows.append({**base, **bf16, "precision": "bf16 autocast", "recipe": "same as plain", "params": params})
    if key == "3x1150":
        rows.append({**base, **awd_speed_row(args, data, work, device)})
    return rows


def library_lm(key: str, spec: dict, data: str, args: Any, work: Path, device: torch.device, amp: bool) -> dict:
    run = work / f"speed-{key}-{'bf16' if amp else 'fp32'}"
    return library_row(write_yaml(library_raw(spec, data, args, device, amp), run.with_suffix(".yaml")), [], run, device)


def awd_speed_row(args: Any, data: str, work: Path, device: torch.device) -> dict:
    """configs/lm-ptb-awd.yaml as it is (weight drop, embedding dropout, variable BPTT, amp) for the speed budget."""
    overrides = awd_overrides(args, data, device, args.speed_budget_s)
    overrides += ["trainer.epochs=1"] if args.smoke else [f"data.max_eval_tokens={EVAL_TOKENS}", f"trainer.checkpoint_every={10**6}"]
    run = work / "speed-awd-recipe"
    row = library_row(AWD_CONFIG, overrides, run, device)
    cfg, _, model = load(run, torch.device("cpu"))
    precision = "bf16 autocast" if cfg.trainer.amp else "float32"
    return {
        **row,
        "params": n_params(model),
        "batch": cfg.trainer.batch_size,
        "bptt": cfg.trainer.bptt,
        "precision": precision,
        "recipe": "configs/lm-ptb-awd.yaml",
    }


def add_speedups(rows: list[dict]) -> None:
    """Each row's tokens/s against the plain loop's on the same size."""
    plain = {r["size"]: r["tokens_per_s"] for r in rows if r["impl"] == "plain"}
    for row in rows:
        base = plain.get(row["size"])
        row["x_plain"] = row["tokens_per_s"] / base if base else None


def awd_overrides(args: Any, data: str, device: torch.device, budget: float) -> list[str]:
    out = [f"trainer.time_budget_s={budget}", f"trainer.device={device.type}", "trainer.progress=false"]
    if args.smoke:
        out += [f"data.name={data}", *SMOKE_AWD]
    return out


def awd(args: Any, work: Path, device: torch.device) -> dict:
    """configs/lm-ptb-awd.yaml for `args.awd_budget_s` seconds of training; valid and test perplexity."""
    data = str(gpu_data.lm_corpus(work / "lm-corpus")) if args.smoke else "ptb"
    warm_up(device)
    run = work / "awd"
    started = time.perf_counter()
    with PeakMemory(device) as peak:
        rows = train(AWD_CONFIG, run, awd_overrides(args, data, device, args.awd_budget_s))
        train_wall = time.perf_counter() - started
        _, task, model = load(run, device)
        valid, test = task.evaluate(model, "valid", device), task.evaluate(model, "test", device)
    last = rows[-1]
    best = min(rows, key=lambda r: r["valid_loss"])
    return {
        "config": "configs/lm-ptb-awd.yaml",
        "budget_s": args.awd_budget_s,
        "params": n_params(model),
        "epochs": last["epoch"],
        "steps": int(last["step"]),
        "train_s": last["elapsed_s"],
        "tokens_per_s": last["tokens_per_s"],
        "best_epoch": best["epoch"],
        "lr_at_end": last["lr"],
        "valid_ppl": valid["ppl"],
        "test_ppl": test["ppl"],
        "valid_tokens": int(valid["tokens"]),
        "test_tokens": int(test["tokens"]),
        "train_wall_s": train_wall,
        "peak_gpu_mb": peak.mb,
        "finite": math.isfinite(valid["ppl"]) and math.isfinite(test["ppl"]),
        "published": AWD_PUBLISHED,
    }
