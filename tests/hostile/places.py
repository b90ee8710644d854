"""What the hostile table's rows point at, built once into a folder: a tiny run of every task (two
steps each), its config file, and odd files (a FIFO, empty and degenerate configs, a YAML alias bomb,
a run whose config is that bomb). Rows name them as {classify}, {fifo}, {bomb.yaml}, ...; {out} is a
fresh folder for each row."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from pathlib import Path

import yaml

import rnn_nlp
from rnn_nlp.runs import build_config, train_run
from tests.api_data import TASKS, qa_input, raw_config, write_data
from tests.test_hostile_values import BOMB

QUICK = {"max_steps": 2, "epochs": 1}
LONG_TEXT = "a fine film, " * 25  # 325 characters: text where a path was expected
CONFIGS = {
    "empty.yaml": "",
    "comments.yaml": "# only a comment\n\n# and another\n",
    "braces.yaml": "{}\n",
    "list.yaml": "- task\n- lm\n",
    "scalar.yaml": "42\n",
    "null-sections.yaml": "task: classify\ndata:\nbackbone:\ntrainer:\n",
    "bomb.yaml": BOMB.replace("g: &g", "data:\n  name: &g"),
}


class Places:
    """The paths rows name, the models API rows call (loaded once) and a fresh {out} for each row."""

    def __init__(self, root: Path, paths: dict[str, str]):
        self.root, self.paths, self._models, self._outs = root, paths, {}, itertools.count()

    def model(self, task: str):
        if task not in self._models:
            self._models[task] = rnn_nlp.load(self.paths[task], "cpu")
        return self._models[task]

    def fill(self, value, out: str):
        """`value` with every {name} in its strings replaced by that place (recursively in lists, tuples, dicts)."""
        if isinstance(value, str):
            for name, path in [("out", out), *self.paths.items()]:
                value = value.replace("{" + name + "}", path)
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(self.fill(v, out) for v in value)
        if isinstance(value, dict):
            return {k: self.fill(v, out) for k, v in value.items()}
        return value

    def new_out(self) -> str:
        """A folder name no row has used (not created: training creates it)."""
        return str(self.root / "outs" / f"out-{next(self._outs)}")


def build_places(root: Path, tasks=TASKS) -> Places:
    """Train a two-step run of each task under `root` and write the odd files beside them."""
    root.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    for task in tasks:
        raw = raw_config(task, write_data(task, root / f"{task}-data"), trainer=QUICK)
        config = root / f"{task}.yaml"
        config.write_text(yaml.safe_dump(raw), encoding="utf-8")
        train_run(build_config(raw), root / task)
        paths[task], paths[f"{task}.yaml"] = str(root / task), str(config)
    for name, text in CONFIGS.items():
        (root / name).write_text(text, encoding="utf-8")
        paths[name] = str(root / name)
    for task in tasks:
        (root / f"bomb-{task}.yaml").write_text(f"task: {task}\n" + CONFIGS["bomb.yaml"], encoding="utf-8")
        paths[f"bomb-{task}.yaml"] = str(root / f"bomb-{task}.yaml")
    (root / "emptydir").mkdir()
    (root / "qa-inputs.jsonl").write_text("".join(json.dumps(qa_input(seed)) + "\n" for seed in range(20)), encoding="utf-8")
    fifo = root / "fifo.txt"
    os.mkfifo(fifo)
    inputs = root / "inputs.txt"
    inputs.write_text("a good film\nthe cat sees the moon\nParis is big\n" * 20, encoding="utf-8")
    (root / "afile.txt").write_text("x", encoding="utf-8")
    bombed = root / "bombed-run"
    shutil.copytree(root / "classify", bombed)
    _replace_checked(bombed / "best", "config.yaml", CONFIGS["bomb.yaml"])
    (root / "outs").mkdir()
    paths.update(
        fifo=str(fifo),
        inputs=str(inputs),
        afile=str(root / "afile.txt"),
        bombed=str(bombed),
        long=str(root / ("x" * 300 + ".txt")),
        root=str(root),
        emptydir=str(root / "emptydir"),
        qa_inputs=str(root / "qa-inputs.jsonl"),
        long_text=LONG_TEXT,
    )
    return Places(root, paths)


def _replace_checked(checkpoint: Path, name: str, text: str) -> None:
    """Write `text` as the checkpoint's file `name` with its hash in meta.json updated, so that what is
    tried is reading that file, not the checksum that would otherwise catch the edit first."""
    (checkpoint / name).write_text(text, encoding="utf-8")
    meta = json.loads((checkpoint / "meta.json").read_text(encoding="utf-8"))
    meta["files"][name] = hashlib.sha256(text.encode()).hexdigest()
    (checkpoint / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
