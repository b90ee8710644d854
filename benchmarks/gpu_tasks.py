"""benchmarks/gpu.py's `throughput` step: tag and classify a test split at batch 1 and 256.

Two small models are trained briefly here (`trainer.time_budget_s`), from the shipped recipes:
configs/ner-conll03.yaml (BiLSTM-CRF with char-CNN on CoNLL-2003) and configs/sentiment-rt.yaml
without its pretrained LM (Rotten Tomatoes, trained from scratch). Speed does not depend on how
well they learned, so a few seconds of training will do; their test F1 / accuracy is reported
beside it only to show they learned something.

Throughput is sentences/s of the task's own split prediction (`task.predict_split`: batching from
pre-tokenized text, forward, CRF Viterbi or softmax, back to labels), timed after one untimed
pass, the device's queued work included. Peak GPU memory is per measurement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gpu_data
import torch
from gpu_common import CONFIGS, PeakMemory, eval_batch_size, load, n_params, timed, train, warm_up

BATCHES = (256, 1)
SMOKE_NER = [
    "trainer.epochs=2",
    "backbone.emb_size=16",
    "backbone.hidden_size=16",
    "head.char_size=8",
    "head.char_emb_size=8",
    "trainer.batch_size=16",
    "trainer.eval_batch_size=32",
]
SMOKE_CLASSIFY = [
    "trainer.epochs=2",
    "backbone.emb_size=16",
    "backbone.hidden_size=16",
    "backbone.layers=1",
    "head.hidden_size=8",
    "data.min_count=1",
    "data.tokenizer=whitespace",
    "trainer.batch_size=16",
    "trainer.eval_batch_size=32",
]


def ner_quality(gold: list, pred: list) -> dict:
    from seqeval.metrics import f1_score

    return {"metric": "entity F1 (seqeval)", "value": float(f1_score(gold, pred))}


def accuracy(gold: list, pred: list) -> dict:
    from sklearn.metrics import accuracy_score

    return {"metric": "accuracy", "value": float(accuracy_score(gold, pred))}


TASKS = {
    "ner": {"config": "ner-conll03.yaml", "data": "conll2003", "quality": ner_quality, "smoke": SMOKE_NER, "extra": []},
    "classify": {
        "config": "sentiment-rt.yaml",
        "data": "rotten-tomatoes",
        "quality": accuracy,
        "smoke": SMOKE_CLASSIFY,
        "extra": ["pretrained=null", "stages=[]"],
    },
}


def overrides(name: str, args: Any, work: Path, device: torch.device) -> list[str]:
    spec = TASKS[name]
    out = [
        *spec["extra"],
        f"trainer.time_budget_s={args.task_budget_s}",
        f"trainer.device={device.type}",
        "trainer.progress=false",
        f"trainer.threads={1 if args.smoke else 'null'}",
    ]
    if args.smoke:
        data = gpu_data.ner_corpus(work / "ner-corpus") if name == "ner" else gpu_data.reviews(work / "reviews.csv")
        out += [f"data.name={data}", *spec["smoke"]]
    return out


def predictions(task: Any, model: torch.nn.Module, device: torch.device) -> tuple[list, list]:
    """(gold, predicted) labels of the test split: tag sequences, or one label per text."""
    from rnn_nlp.tasks.tagging import TagPredictions

    out = task.predict_split(model, "test", device)
    if isinstance(out, TagPredictions):
        return out.gold, out.pred
    return out[0], out[1]  # classification: (gold, pred, probabilities, loss)


def measure(name: str, task: Any, model: torch.nn.Module, device: torch.device, smoke: bool) -> list[dict]:
    """One row per batch size: sentences/s (and words/s for tagging) of predicting the test split."""
    rows = []
    with eval_batch_size(task, BATCHES[0]):
        gold, first = predictions(task, model, device)  # untimed: builds and caches the split's batches
    words = sum(len(g) for g in gold) if name == "ner" else None
    for size in BATCHES:
        with eval_batch_size(task, size), PeakMemory(device) as peak:
            (_, pred), seconds = timed(lambda: predictions(task, model, device), device)
        same = sum(p == q for p, q in zip(pred, first)) / max(1, len(pred))
        rows.append(
            {
                "task": name,
                "data": "smoke stand-in" if smoke else TASKS[name]["data"],
                "split": "test",
                "batch": size,
                "sentences": len(gold),
                "seconds": seconds,
                "sentences_per_s": len(gold) / seconds,
                "words_per_s": words / seconds if words else None,
                "peak_gpu_mb": peak.mb,
                "same_as_batch_256": same,
                **TASKS[name]["quality"](gold, pred),
            }
        )
    return rows


def throughput(args: Any, work: Path, device: torch.device) -> dict:
    """Train each small model for a few seconds, then time test-split prediction at batch 1 and 256."""
    warm_up(device)
    rows, training = [], {}
    for name, spec in TASKS.items():
        run = work / name
        with PeakMemory(device) as peak:
            history = train(CONFIGS / spec["config"], run, overrides(name, args, work, device))
        _, task, model = load(run, device)
        training[name] = {
            "config": f"configs/{spec['config']}",
            "budget_s": args.task_budget_s,
            "epochs": history[-1]["epoch"],
            "train_s": history[-1]["elapsed_s"],
            "params": n_params(model),
            "peak_gpu_mb": peak.mb,
        }
        rows += measure(name, task, model, device, args.smoke)
        del model
    return {"rows": rows, "training": training}
