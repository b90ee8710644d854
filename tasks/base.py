"""The Task contract: what a task gives the trainer, the runs layer and the public API.

A task adapts data to a head: it reads its corpus, builds its vocabularies and labels, encodes and
batches examples, builds the model, and evaluates it. The trainer calls only `steps_per_epoch`,
`epoch_steps`, `train_batches`, `evaluate`, `train_metrics`, `selection`, `vocab_json` and
`data_fingerprint`; it never branches on the task.

A task built with `vocab_json` (a run's own vocab.json, read back from a checkpoint) takes its
vocabularies from it, checked with the helpers below (`read_vocab_json`, `vocab_entry`, `name_list`,
`optional_entry`): a file of the wrong shape is a CheckpointError naming vocab.json and the key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from rnn_nlp.data.vocab import Vocab, json_kind
from rnn_nlp.errors import CheckpointError, ConfigError

VOCAB_FILE = "vocab.json"
FINGERPRINTED_SPLITS = ("train", "valid")  # what a run trains on and selects its best model by


@dataclass
class LMStage:
    """A language-model run that comes before the task's own training, on text the task supplies.

    `lm_pretrain`: a new LM with the task's backbone shape on the task's training text plus
    `corpora`; `lm_finetune` (ULMFiT's second stage): the `pretrained` LM trained on further on the
    task's text. The runs layer trains it (resumable, reused once finished) and starts the task's
    backbone from it.
    """

    kind: Literal["lm_pretrain", "lm_finetune"]
    texts: dict[str, list[str]]  # train / valid lines, words as the task's vocabulary sees them
    epochs: int
    corpora: list[str] = field(default_factory=list)  # lm_pretrain: other corpora's training text too
    time_budget_s: float | None = None
    data: dict = field(default_factory=dict)  # data keys of the LM run (tokenizer, lowercase, ...)
    trainer: dict = field(default_factory=dict)  # trainer keys of the LM run over the defaults (stages[i].trainer)


class Task:
    """What a task provides to the trainer and the CLI. Subclasses set the class attributes."""

    name: str = ""
    data_config: type = object
    head_config: type = object
    # The validation metric that picks the best model, and whether higher or lower is better.
    selection: tuple[str, str] = ("loss", "min")
    # What `rnn_nlp.load` returns for a run of this task: a rnn_nlp.tasks.model.Model subclass.
    model_class: type | None = None
    # What one row of `split_records` is called in messages ("valid: 60 sentences when ...").
    examples_name: str = "examples"

    def __init__(self, cfg: Any, vocab_json: dict | None = None):
        self.cfg = cfg

    @property
    def valid_held_out(self) -> bool:
        """Whether the valid split is unseen in training. Not so with `data.train_with_dev` (flair's train-on-dev):
        then the trainer keeps the latest model as the best and anneals a plateau schedule on the training loss."""
        return not getattr(self.cfg.data, "train_with_dev", False)

    @staticmethod
    def validate_config(cfg: Any, source: str) -> None:
        """Range checks of the task's own config keys (types are checked already); ConfigError naming the key."""

    def vocab_json(self) -> dict:
        """Every vocabulary the model needs, as JSON (saved as vocab.json)."""
        raise NotImplementedError

    def token_vocab(self):
        """The input-token Vocab (built from the training text unless loaded from a checkpoint)."""
        raise NotImplementedError

    def build_model(self) -> torch.nn.Module:
        raise NotImplementedError

    def steps_per_epoch(self) -> int:
        raise NotImplementedError

    def epoch_steps(self, epoch: int) -> int:
        """The number of batches of epoch `epoch` (the same as every epoch's, `steps_per_epoch`, unless
        the task's epochs differ in length, as variable-length BPTT's do)."""
        return self.steps_per_epoch()

    def epoch_seed(self, epoch: int) -> int:
        """The seed of an epoch's data order: the same epoch always gets the same batches."""
        return self.cfg.trainer.seed * 100_003 + epoch

    def train_batches(self, epoch: int, start_step: int, device: torch.device) -> Iterator[dict]:
        """Batches of one epoch from `start_step` on; the same epoch always yields the same batches."""
        raise NotImplementedError

    def evaluate(self, model: torch.nn.Module, split: str, device: torch.device) -> dict[str, float]:
        """Metrics on a split; must include `loss` and the `selection` metric."""
        raise NotImplementedError

    def train_metrics(self, train_loss: float) -> dict[str, float]:
        """How the mean training loss is also shown (e.g. {"ppl": ...}); logged as `train_<name>`."""
        return {}

    def data_fingerprint(self) -> dict[str, dict]:
        """What identifies the data this run trains and selects on, split by split: {split: {count: n,
        "sha256": digest}}. The trainer saves it in its state and refuses to resume on other data.

        The default fingerprints each of `FINGERPRINTED_SPLITS` that `split_records` gives (a task
        without them gives {}: nothing to compare). It is computed once per run, so it may read the
        loaded examples whole; a task whose data is too large for that (a streaming corpus) overrides it.
        """
        out = {}
        for split in FINGERPRINTED_SPLITS:
            columns = self.split_records(split)
            if columns:
                out[split] = records_fingerprint(columns, self.examples_name)
        return out

    def split_records(self, split: str) -> dict[str, list] | None:
        """One split's examples as loaded, as columns (name -> one value a row), for `data_fingerprint`;
        None when the split has none."""
        return None

    def pre_stages(self) -> list[LMStage]:
        """The LM runs to train before this task's own training: the config's `stages` (a task's shorthand
        keys, data.pretrain_epochs or head.lm_finetune_epochs, were resolved into them when the config was built)."""
        out = []
        for stage in self.cfg.stages:
            if stage.name == "task":
                break
            texts, data = self.lm_text()
            out.append(LMStage(stage.name, texts, stage.epochs, list(stage.corpora), stage.time_budget_s, data, dict(stage.trainer or {})))
        return out

    def lm_text(self) -> tuple[dict[str, list[str]], dict]:
        """({"train": lines, "valid": lines}, data keys of an LM reading them): the task's text for LM stages."""
        raise ConfigError(f"stages: task '{self.name}' has no text to train a language model stage on")

    def adopt_pretrained(self) -> None:
        """Settle shapes that come from pretrained runs other than `pretrained` (a seq2seq decoder LM), or take
        `pretrained` for another use (a tagger: a char-level LM as its string embedder); called before any LM stage."""

    def start_from_pretrained(self, model: torch.nn.Module) -> None:
        """Load weights from pretrained runs other than `pretrained` into a fresh model (a seq2seq decoder)."""

    def use_data(self, name: str) -> None:
        """Evaluate on another data set (a corpus name, file, folder or hub name) than the config's."""
        raise NotImplementedError


# ---- a run's own vocab.json, read back --------------------------------------------------------------
def read_vocab_json(vocab_json: Any, required: Sequence[str], source: str = VOCAB_FILE) -> dict | None:
    """The run's own vocabularies, or None when there are none (`vocab_json` None: a new run builds them
    from its data). Anything else, an empty object included, must be a JSON object holding every key in
    `required`; otherwise a CheckpointError naming `source` and the key."""
    if vocab_json is None:
        return None
    if not isinstance(vocab_json, dict):
        raise CheckpointError(
            f"{source}: must be a JSON object with the keys {', '.join(required)}, not {json_kind(vocab_json, show=False)}"
        )
    missing = [k for k in required if k not in vocab_json]
    if missing:
        raise CheckpointError(
            f"{source}: missing key{'s' if len(missing) > 1 else ''} {', '.join(repr(k) for k in missing)} (this task's vocab.json holds "
            f"{', '.join(required)}); the checkpoint was not written by this task, or was altered"
        )
    return vocab_json


def vocab_entry(saved: dict, key: str, source: str = VOCAB_FILE) -> Vocab:
    """The Vocab stored under `key`, every field checked (`Vocab.from_json`)."""
    return Vocab.from_json(saved[key], source, key)


def name_list(saved: dict, key: str, source: str = VOCAB_FILE, starts_with: Sequence[str] = (), at_least: int = 0) -> list[str]:
    """A list of distinct strings stored under `key` (labels, tags, characters), beginning with `starts_with`
    and at least `at_least` long; otherwise a CheckpointError naming the key."""
    names = saved[key]
    if not isinstance(names, list):
        raise CheckpointError(f"{source}: {key} must be a list of strings, not {json_kind(names, show=False)}")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise CheckpointError(f"{source}: {key} must hold strings only; item {i} is {json_kind(name, show=False)} {name!r}")
        if name in seen:
            raise CheckpointError(f"{source}: {key} holds {name!r} twice (items {seen[name]} and {i})")
        seen[name] = i
    if names[: len(starts_with)] != list(starts_with):
        raise CheckpointError(f"{source}: {key} must start with {', '.join(starts_with)}")
    if len(names) < at_least:
        raise CheckpointError(f"{source}: {key} must hold at least {at_least} names, not {len(names)}")
    return list(names)


def optional_entry(
    saved: dict, key: str, kinds: tuple[type, ...], source: str = VOCAB_FILE, choices: Sequence[Any] = (), minimum: int | None = None
) -> Any:
    """The value under an optional `key` (vocab.json files may lack it): None when absent or null, else one of `kinds`
    (a boolean never counts as a number), one of `choices` if given, >= `minimum` if given."""
    value = saved.get(key)
    if value is None:
        return None
    wrong = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
    if wrong or (choices and value not in choices) or (minimum is not None and value < minimum):
        wanted = f"one of {', '.join(map(repr, choices))}" if choices else " or ".join(k.__name__ for k in kinds)
        if minimum is not None:
            wanted += f" >= {minimum}"
        raise CheckpointError(f"{source}: {key} must be {wanted} (or absent), not {value!r}")
    return value


# ---- data fingerprints --------------------------------------------------------------------------------
ROWS_HASHED = 1000  # rows serialised at a time while hashing records


def records_fingerprint(columns: dict[str, list], unit: str = "examples") -> dict:
    """{unit: number of rows, "sha256": digest of every column's values}: a split of loaded examples."""
    h = hashlib.sha256()
    rows = 0
    for name in sorted(columns):
        values = list(columns[name])
        rows = max(rows, len(values))
        h.update(json.dumps(name).encode("utf-8"))
        for i in range(0, len(values), ROWS_HASHED):
            text = json.dumps(values[i : i + ROWS_HASHED], ensure_ascii=False, sort_keys=True, default=str)
            h.update(text.encode("utf-8", "surrogatepass"))
    return {unit: rows, "sha256": h.hexdigest()}


def tensor_fingerprint(ids: torch.Tensor, unit: str = "tokens") -> dict:
    """{unit: number of elements, "sha256": digest of their bytes}: a split held as one id tensor."""
    flat = ids.detach().cpu().contiguous().reshape(-1)
    h = hashlib.sha256(str(flat.dtype).encode("utf-8"))
    h.update(memoryview(flat.numpy()).cast("B"))
    return {unit: int(flat.numel()), "sha256": h.hexdigest()}


FILE_BLOCK = 1 << 20  # bytes hashed at each end of a large file


def file_fingerprint(path: str | Path, count: int, unit: str = "tokens", block: int = FILE_BLOCK) -> dict:
    """{unit: count, "sha256": digest of the file's size and its first and last `block` bytes}: cheap for a
    file of gigabytes (a streaming corpus's token file), read at both ends, never whole."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        h.update(str(size).encode("ascii"))
        h.update(fh.read(block))
        if size > block:
            fh.seek(max(block, size - block))
            h.update(fh.read(block))
    return {unit: int(count), "sha256": h.hexdigest()}
