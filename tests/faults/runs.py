"""Tiny runs of every task for the fault suite and `benchmarks/chaos.py`, and the checks of what a fault left.

A run here checkpoints every few steps and evaluates (so writes `best/`) at every epoch end, so a
few seconds of training hold dozens of checkpoint swaps and several best-model swaps. `stages` is
a tagger trained after LM pretraining and fine-tuning stages on its own text, each a run of its own
in the run folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

import torch
import yaml

from rnn_nlp.errors import CheckpointError, RnnNlpError
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from tests.api_data import qa_input, write_seq2seq
from tests.conftest import tiny_raw, with_sections, write_corpus
from tests.tasks.classification.test_task import classify_raw, write_sentiment
from tests.tasks.qa.test_task import qa_raw, write_squad
from tests.tasks.seq2seq.test_task import raw as seq2seq_raw
from tests.tasks.tagging.data import tagging_raw, write_ner

TASKS = ("lm", "classify", "ner", "qa", "seq2seq", "stages")
LAST, BEST = run_folder.LAST, run_folder.BEST
STAGE_FOLDERS = tuple(run_folder.STAGE_FOLDERS.values())
TIMING = {"elapsed_s", "tokens_per_s"}
INPUTS = {
    "lm": "the cat",
    "classify": "the film was superb",
    "ner": "Ann Lee visited Rome .",
    "qa": qa_input(5, candidates=False),
    "seq2seq": "a b c",
    "stages": "Mary joined Globex .",
}
SMALL = {"threads": 1, "progress": False, "device": "cpu", "log_every": 4}


def write_data(task: str, folder: Path) -> Path:
    """The task's tiny data in `folder` (what its config's data.name names)."""
    folder.mkdir(parents=True, exist_ok=True)
    if task == "lm":
        return write_corpus(folder, (60, 20, 20))
    if task == "classify":
        return write_sentiment(folder / "train.csv", n=96)
    if task in ("ner", "stages"):
        return write_ner(folder, sizes=(48, 12, 12))
    if task == "qa":
        write_squad(folder / "train-v1.1.json", 48, 0, candidates=False)  # spans, not a choice among 4: f1 climbs
        write_squad(folder / "dev-v1.1.json", 12, 1, candidates=False)
        return folder
    if task == "seq2seq":
        return write_seq2seq(folder, n=96)
    raise KeyError(task)


def raw_config(task: str, data: Path, **sections) -> dict:
    """A run of `task` on `data`: a dozen or two steps, a checkpoint every 3, two evaluations (so two
    best models, the second swapped in over the first)."""
    every = {"epochs": 2, "checkpoint_every": 3, **SMALL}
    if task == "lm":
        raw = tiny_raw(data, trainer=every)
    elif task == "classify":
        raw = classify_raw(data, trainer={"batch_size": 8, **every})
    elif task == "ner":
        raw = tagging_raw("ner", data, trainer={"batch_size": 8, **every})
    elif task == "qa":
        raw = qa_raw(data, trainer={"batch_size": 8, **every})
    elif task == "seq2seq":
        raw = seq2seq_raw(data, trainer={"batch_size": 16, "lr": 0.01, **every})
    elif task == "stages":
        lm = {"bptt": 8, "batch_size": 4, "checkpoint_every": 4}
        raw = tagging_raw(
            "ner",
            data,
            trainer={"batch_size": 8, **every},
            stages=[
                {"name": "lm_pretrain", "epochs": 2, "trainer": {"lr": 5.0, **lm}},
                {"name": "lm_finetune", "epochs": 1, "trainer": {"lr": 2.0, **lm}},
                {"name": "task"},
            ],
        )
    else:
        raise KeyError(task)
    return with_sections(raw, sections)


def write_config(task: str, root: Path, **sections) -> Path:
    """Data and config.yaml of `task` under `root`; returns the config's path."""
    data = write_data(task, root / f"data-{task}")
    path = root / f"{task}.yaml"
    path.write_text(yaml.safe_dump(raw_config(task, data, **sections), sort_keys=False), encoding="utf-8")
    return path


# ---- what a run folder holds ---------------------------------------------------------------
def checkpoint_folders(run: Path) -> list[Path]:
    """Every checkpoint a run holds: its own and its stages' (checkpoint-last, best)."""
    roots = [run] + [run / s for s in STAGE_FOLDERS]
    return [root / name for root in roots for name in (LAST, BEST)]


def step_of(folder: Path) -> int | None:
    """The global step of a resume checkpoint, None when there is none readable."""
    try:
        ckpt.verify(folder)
        return int(ckpt.load_trainer_state(folder)["global_step"])
    except CheckpointError:
        return None


def readable(folder: Path) -> bool:
    try:
        ckpt.verify(folder)
        ckpt.load_weights(folder)
        return True
    except CheckpointError:
        return False


def snapshot(run: Path) -> dict:
    """{checkpoint folder: step (checkpoint-last) or True (a readable best)} of what a run holds now."""
    out = {}
    for folder in checkpoint_folders(run):
        if run_folder.resolve(folder).exists() or folder.exists():
            key = str(folder.relative_to(run))
            out[key] = step_of(folder) if folder.name == LAST else readable(folder)
    return out


def losses(before: dict, after: dict) -> list[str]:
    """What a fault took away: a checkpoint readable before and not after, or one that went back in steps."""
    lost = []
    for key, was in before.items():
        now = after.get(key)
        if was in (None, False):
            continue
        if now in (None, False):
            lost.append(f"{key}: readable before the fault, {'gone' if key not in after else 'unreadable'} after it")
        elif was is not True and now < was:
            lost.append(f"{key}: at step {was} before the fault, {now} after it")
    return lost


def leftovers(run: Path, suffixes: tuple[str, ...] = (".tmp",)) -> list[str]:
    """Temporary names (*.tmp, curves.tmp.png; with suffixes=(".tmp", ".old") the previous versions too) in a run folder."""
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if any(s in p.name for s in suffixes))


def metrics_rows(run: Path) -> list[dict]:
    path = run / "metrics.csv"
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(fh)]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return ckpt.load_weights(folder)


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(tensors.items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def fingerprint(folder: Path) -> str:
    """A SHA-256 of the weights a run folder (or checkpoint folder) serves."""
    return _digest(weights(folder))


def fingerprint_of(model) -> str:
    """The same SHA-256 for a loaded model (`rnn_nlp.load`'s), as its checkpoint stores it."""
    return _digest(ckpt._weights_for_saving(model.module.state_dict() if hasattr(model, "module") else model.state_dict()))


def differences(run: Path, ref: Path) -> list[str]:
    """How a finished run differs from the uninterrupted reference: weights (bitwise), steps, metrics."""
    diffs = []
    for folder in checkpoint_folders(ref):
        rel = folder.relative_to(ref)
        if not run_folder.resolve(folder).exists():
            continue
        if not run_folder.resolve(run / rel).exists():
            diffs.append(f"{rel}: missing")
            continue
        a, b = weights(folder), weights(run / rel)
        if a.keys() != b.keys():
            diffs.append(f"{rel}: other tensors")
            continue
        bad = [k for k in a if not torch.equal(a[k], b[k])]
        if bad:
            diffs.append(f"{rel}: {len(bad)} of {len(a)} tensors differ ({bad[0]} ...)")
        if folder.name == LAST:
            sa, sb = ckpt.load_trainer_state(folder), ckpt.load_trainer_state(run / rel)
            if (sa["epoch"], sa["global_step"]) != (sb["epoch"], sb["global_step"]):
                diffs.append(
                    f"{rel}: ended at epoch {sb['epoch']} step {sb['global_step']}, "
                    f"the reference at epoch {sa['epoch']} step {sa['global_step']}"
                )
    if metrics_rows(run) != metrics_rows(ref):
        diffs.append("metrics.csv differs from the reference (timing columns aside)")
    return diffs


def load_model(folder: Path):
    """rnn_nlp.load(folder) on the CPU."""
    import rnn_nlp

    return rnn_nlp.load(folder, "cpu")


def load_and_predict(run: Path, task: str):
    """rnn_nlp.load(run) and one prediction: what a user does with a finished (or half-finished) run."""
    return load_model(run).predict(INPUTS[task]).to_dict()


def after_fault(run: Path, task: str) -> list[str]:
    """A run folder right after a fault: it loads and predicts, or says cleanly it has no model yet.

    Returns the problems: an error that is not the library's own, or one calling a file corrupted
    (nothing was altered: a kill or a full disk must never make a checkpoint read as tampered with).
    """
    problems = []
    if not run.exists():
        return problems
    for what, action in (("load", lambda: load_and_predict(run, task)), ("verify checkpoint-last", lambda: ckpt.verify(run / LAST))):
        try:
            action()
        except RnnNlpError as exc:
            if "corrupted" in str(exc) or "unreadable" in str(exc):
                problems.append(f"{what}: {exc}")
        except Exception as exc:  # noqa: BLE001 - anything else is the finding
            problems.append(f"{what}: {type(exc).__name__}: {exc}")
    return problems


def finished(run: Path, ref: Path, task: str) -> list[str]:
    """Problems of a run that says it finished: not verified, not loadable, not the reference's result."""
    problems = []
    for folder in (run, run / LAST):
        try:
            ckpt.verify(folder)
        except CheckpointError as exc:
            problems.append(f"verify {folder.name}: {exc}")
    try:
        got = load_and_predict(run, task)
        want = load_and_predict(ref, task)
        if json.dumps(got, sort_keys=True) != json.dumps(want, sort_keys=True):
            problems.append(f"predicts {got} where the uninterrupted run predicts {want}")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"load/predict: {type(exc).__name__}: {exc}")
    problems += differences(run, ref)
    problems += [f"left behind: {name}" for name in leftovers(run)]
    return problems


def seeded(seed: int) -> random.Random:
    return random.Random(seed)
