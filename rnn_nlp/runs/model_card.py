"""A run's model card, RUN/README.md: what the run folder knows, gathered for `rnn_nlp.model_card.render`.

Written when a run's training ends (`train_run`), again when `rnn-nlp evaluate` adds a measurement, and
into every export (`rnn_nlp.runs.export`). Its facts:

- task and labels: the best model's config.yaml and vocab.json;
- data: the config's data name, and each split's size and SHA-256 as the trainer fingerprinted them (the
  fingerprint the trainer keeps in checkpoint-last/trainer_state.pt to refuse resuming on other data);
- metrics: the best evaluation's valid row of metrics.csv (measured by the training loop) and each
  eval-*.json that `rnn-nlp evaluate` wrote, with the command that measured it;
- config and versions: config.yaml and the best model's meta.json.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path

from rnn_nlp.errors import CheckpointError, SaveError
from rnn_nlp.files import replace_text
from rnn_nlp.model_card import CardFacts, Metric, render
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder

log = logging.getLogger(__name__)


def is_run_folder(path: Path) -> bool:
    """Whether `path` is a run folder that training wrote (not a saved model or a checkpoint folder)."""
    return (path / run_folder.RUN_CONFIG).is_file() or (path / run_folder.LAST).is_dir()


def _labels(vocab: dict) -> list[str] | None:
    for key in ("tags", "labels"):
        value = vocab.get(key)
        if isinstance(value, list) and all(isinstance(x, str) for x in value):
            return list(value)
    return None


def saved_fingerprint(run: Path) -> dict:
    """The data fingerprint the trainer saved with the run's last checkpoint ({} when there is none)."""
    try:
        state = ckpt.load_trainer_state(run / run_folder.LAST)
    except CheckpointError:
        return {}
    data = state.get("data")
    return data if isinstance(data, dict) else {}


def _selection(task: str) -> tuple[str, str]:
    try:
        selection: tuple[str, str] = getattr(get_task(task), "selection", ("loss", "min"))
        return selection
    except Exception:  # a user's task not registered in this process: the loss picks
        return ("loss", "min")


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def training_metrics(run: Path, task: str, data: str, last: bool = False) -> list[Metric]:
    """The valid metrics of the best evaluation in metrics.csv, by the task's selection metric; `last`: of the
    last evaluation, the model a run with data.train_with_dev keeps (its valid split was trained on)."""
    try:
        with open(run / "metrics.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return []
    key, mode = _selection(task)
    scored = [(v, i) for i, r in enumerate(rows) if (v := _number(r.get(f"valid_{key}"))) is not None]
    if not scored:
        return []
    _, best = scored[-1] if last else (max if mode == "max" else min)(scored)
    row = rows[best]
    command = f"rnn-nlp train {run.name}/{run_folder.RUN_CONFIG} --out {run.name} (evaluation at step {row.get('step', '?')})"
    out = []
    for column, text in row.items():
        value = _number(text)
        if column.startswith("valid_") and value is not None:
            out.append(Metric(column[len("valid_") :], value, "valid", data, command))
    return out


def evaluation_metrics(run: Path, data: str) -> list[Metric]:
    """The metrics of each eval-*.json in the run folder, with the `rnn-nlp evaluate` command that wrote it."""
    out = []
    for file in sorted(run.glob("eval-*.json")):
        try:
            saved = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("%s: unreadable, left out of the model card", file)
            continue
        if not isinstance(saved, dict) or not isinstance(saved.get("split"), str):
            continue
        split, measured_on = saved["split"], str(saved.get("data") or data)
        command = f"rnn-nlp evaluate {run.name} --split {split}"
        if measured_on != data:
            command += f" --data {measured_on}"
        if isinstance(saved.get("members"), list):
            command += " --ensemble " + " ".join(str(m) for m in saved["members"][1:])
        for name, value in saved.items():
            if isinstance(value, float) and math.isfinite(value):
                out.append(Metric(name, value, split, measured_on, command))
    return out


def run_facts(run: str | Path, fingerprint: dict | None = None) -> CardFacts:
    """The facts of run folder `run`'s card; `fingerprint`: the trainer's data fingerprint, when at hand
    (else read from the run's last checkpoint)."""
    run = Path(run)
    raw = ckpt.load_raw_config(run)
    vocab = ckpt.load_vocab_json(run)
    task = str(raw.get("task", ""))
    data = str((raw.get("data") or {}).get("name", ""))
    try:
        meta = json.loads((run_folder.resolve(run) / run_folder.META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    versions = {"rnn_nlp": str(meta.get("rnn_nlp_version", "?")), "torch": str(meta.get("torch_version", "?"))}
    limits = []
    if raw.get("pretrained") or raw.get("stages"):
        limits.append("Its backbone started from a pretrained language model: what that model read shapes what this one knows.")
    return CardFacts(
        name=run.resolve().name,
        task=task,
        config=raw,
        labels=_labels(vocab),
        data=data,
        splits=fingerprint if fingerprint is not None else saved_fingerprint(run),
        metrics=training_metrics(run, task, data, last=bool((raw.get("data") or {}).get("train_with_dev"))) + evaluation_metrics(run, data),
        versions=versions,
        source=f"run folder {run.resolve().name}",
        limits=limits,
    )


def write_run_card(run: str | Path, fingerprint: dict | None = None) -> Path:
    """Write (or refresh) RUN/README.md from the run folder; a SaveError names it when it cannot be written."""
    run = Path(run)
    path = run / run_folder.CARD
    # a name that never was UTF-8 (a --data path read as surrogates) is written escaped, never a UnicodeEncodeError
    text = render(run_facts(run, fingerprint)).encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        replace_text(path, text)
    except OSError as exc:
        raise SaveError(f"cannot write the model card {path}: {exc.strerror or exc}") from None
    return path
