"""Run configuration: plain dataclasses mirrored one to one by YAML, with strict validation.

An unknown key, a wrong type or a value outside its choices raises ConfigError naming
the dotted key (and the file it came from), never a silent default.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from rnn_nlp.errors import ConfigError, abbreviate
from rnn_nlp.files import replace_text


@dataclass
class DataConfig:
    """Where the text comes from and how it becomes tokens."""

    name: str = "ptb"  # a fetcher name (`rnn-nlp data list`), a local file/folder, or a hub name
    hub_config: str | None = None  # second argument of datasets.load_dataset
    text_column: str = "text"
    tokenizer: Literal["spacy", "whitespace"] = "spacy"
    unit: Literal["word", "char"] = "word"  # char: one token per character (spaces included)
    lowercase: bool = False
    normalize_numbers: bool = False  # map numeric tokens to "N", as PTB does
    max_train_tokens: int | None = None  # use only the first N training tokens (quick runs)
    max_eval_tokens: int | None = None  # same for valid and test
    vocab_size: int | None = None  # keep the most frequent words (specials excluded)
    min_count: int = 1
    streaming: bool = False  # LM: read the corpus through Arrow files and token files on disk, not into memory


@dataclass
class BackboneConfig:
    """Embeddings and the stacked recurrent layers shared by every task."""

    rnn: Literal["lstm", "gru", "elman_tanh", "elman_relu"] = "lstm"
    emb_size: int = 256
    hidden_size: int = 256
    layers: int = 2
    direction: Literal["forward", "backward", "both"] = "forward"
    residual: bool = False  # between layers: add layer i's input to its output (i > 0, equal widths)
    embed_dropout: float = 0.0  # drop whole words from the embedding matrix (AWD-LSTM dropoute)
    input_dropout: float = 0.0  # locked dropout on the embeddings (dropouti)
    hidden_dropout: float = 0.0  # locked dropout between layers (dropouth)
    output_dropout: float = 0.0  # locked dropout on the top layer's output (dropout)
    weight_drop: float = 0.0  # DropConnect on hidden-to-hidden matrices (wdrop)
    init: Literal["default", "uniform", "xavier"] = "uniform"
    init_range: float = 0.1
    top_size: int | None = None  # width of the top layer; defaults to hidden_size
    # pretrained word vectors added to the embedding: a vector set's name (`rnn-nlp data list`) or a vectors
    # file or folder (GloVe/word2vec/fastText text, word2vec .bin, .npy + .vocab, spaCy vectors); projected
    # to emb_size when their width differs
    vectors: str | None = None
    vectors_mode: Literal["fine_tune", "frozen"] = "fine_tune"  # frozen: words with a vector keep it as it is


@dataclass
class TrainerConfig:
    """The optimisation loop: nothing here depends on the task."""

    epochs: int = 10
    max_steps: int | None = None  # stop after this many optimiser steps in total
    time_budget_s: float | None = None  # stop once training has taken this many seconds
    batch_size: int = 20
    eval_batch_size: int = 10
    bptt: int = 35
    bptt_variation: bool = False  # AWD-LSTM's random BPTT length (p=0.95 full, else half; N(len, 5))
    optimizer: Literal["sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam"] = "sgd"
    lr: float = 20.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    weight_decay_mode: Literal["l2", "decoupled"] = "l2"  # adamw is decoupled whatever this says
    discriminative_lr: float = 1.0  # lr ratio between adjacent layer groups, top = lr (ULMFiT: 2.6)
    gradual_unfreezing: bool = False  # epoch e trains only the top e+1 layer groups (ULMFiT)
    clip_norm: float | None = 0.25
    # adversarial training on the word embeddings (Miyato et al. 2017): each step also takes the loss with every
    # sequence's embeddings moved this far (L2) along the loss gradient; 0 turns it off. About 1 for 50-d vectors
    adversarial: float = 0.0
    schedule: Literal["none", "plateau", "cosine", "onecycle", "slanted_triangular"] = "plateau"
    plateau_factor: float = 0.25  # multiply the lr by this when valid loss stops improving (0.5 halves)
    plateau_patience: int = 0
    warmup_frac: float = 0.1  # share of steps spent rising (one-cycle and slanted triangular)
    stlr_ratio: float = 32.0  # slanted triangular: how much smaller the lowest lr is than the peak
    min_lr: float = 0.0
    seed: int = 1111
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = False  # bfloat16 autocast on CUDA for the non-recurrent layers; ignored on CPU
    threads: int | None = None  # torch intra-op threads on CPU; None leaves torch's default
    checkpoint_every: int = 500  # steps between resume checkpoints (and one at every epoch end)
    log_every: int = 50  # steps between rows of steps.csv and progress-bar updates (each costs one host sync)
    tensorboard: bool = (
        True  # also TensorBoard scalars in RUN/tensorboard/ when tensorboard is installed (pip install "rnn-nlp[tensorboard]")
    )
    # stop once the selection metric (the one that picks the best model) has not improved for this many
    # evaluations in a row (one per epoch); None trains to the end
    early_stopping_patience: int | None = None
    progress: bool = True
    # a NaN/inf loss or gradient: skip that step, roll back to the last checkpoint with a lower lr, or stop
    on_nonfinite: Literal["skip", "rollback", "raise"] = "skip"
    rollback_lr_factor: float = 0.5  # rollback: multiply every learning rate by this
    max_rollbacks: int = 3  # rollback: give up (NonFiniteLossError) after this many


@dataclass
class StageConfig:
    """One stage of a run, in `stages:` order: an LM run on the task's own text before the task's training.

    lm_pretrain: a new LM with the task's backbone shape on the task's training text (+ `corpora`);
    lm_finetune: the `pretrained` LM (or the one lm_pretrain gave) trained on further on that text
    (ULMFiT's second stage); task: the task's own training (the run's `trainer` section), last.
    """

    name: Literal["lm_pretrain", "lm_finetune", "task"] = "task"
    epochs: int = 1  # the LM stage's epochs (task: the run's trainer.epochs)
    time_budget_s: float | None = None  # stop the LM stage after this many seconds
    corpora: list[str] = field(default_factory=list)  # lm_pretrain: other corpora's training text too, e.g. [ptb]
    trainer: Any = None  # the LM stage's own trainer keys (a mapping, e.g. {lr: 10}) over the LM defaults


@dataclass
class RunConfig:
    """The whole run: enough to rebuild it from config.yaml alone."""

    task: str = "lm"
    data: Any = field(default_factory=DataConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head: Any = None  # the task's own head config dataclass
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    pretrained: str | None = None  # a run folder whose backbone weights start this run
    stages: list[StageConfig] = field(default_factory=list)  # LM stages before the task's training (empty: none)


# Keys that may differ between a checkpoint and the config used to --resume it.
RESUMABLE_CHANGES = (
    "trainer.epochs",
    "trainer.max_steps",
    "trainer.time_budget_s",
    "trainer.device",
    "trainer.progress",
    "trainer.checkpoint_every",
    "trainer.log_every",
    "trainer.tensorboard",
    "trainer.threads",
    "trainer.on_nonfinite",
    "trainer.rollback_lr_factor",
    "trainer.max_rollbacks",
)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`; return it (ints widen to floats)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                pass
        raise ConfigError(f"{key}: expected {_type_name(tp)}, got {abbreviate(value)}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {abbreviate(value)}")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_type_name(tp)}, got {abbreviate(value)}")
        (inner,) = typing.get_args(tp)
        return [_coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {abbreviate(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {abbreviate(value)}")
        if not -(2**63) <= value < 2**63:
            raise ConfigError(f"{key}: {value} is out of range (a 64-bit integer)")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {abbreviate(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ConfigError(f"{key}: expected a finite number, got {abbreviate(value)}")
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {abbreviate(value)}")
        return value
    raise ConfigError(f"{key}: unsupported type {tp!r}")


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass `cls` from a mapping, refusing unknown keys and wrong types."""
    where = prefix or "config"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {abbreviate(data)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(names)}"
            raise ConfigError(f"unknown key '{dotted}'{hint}")
        kwargs[key] = _coerce(value, hints[key], dotted)
    return cls(**kwargs)


def to_dict(obj: Any) -> Any:
    """A dataclass tree as plain dicts and lists, ready for YAML."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


class StrictLoader(yaml.SafeLoader):
    """YAML as configs need it: a key given twice is an error (not a silent last-one-wins), and
    numbers in exponent form without a dot (`1e-3`, YAML 1.2's floats) are numbers, not strings."""


def _no_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key] + 1}, again on line {key_node.start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


MAX_YAML_NODES = 100_000  # a config is a few hundred values; aliases must not expand it past this


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes `root` stands for once every alias is expanded, counted on the composed graph
    (each node once, memoised) so that a billion-laughs file is measured, never built."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        kids = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes.get(id(k), MAX_YAML_NODES) for k in kids), MAX_YAML_NODES + 1)
            continue
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(root)]


def load_yaml(text: str) -> Any:
    """Parse YAML text with `StrictLoader` (safe: no Python objects, no tags beyond plain data), refusing
    aliases that would expand it past MAX_YAML_NODES values before anything is built."""
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_NODES:
            raise yaml.YAMLError(f"its aliases (*name) would expand it to more than {MAX_YAML_NODES:,} values; write the values out")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override '{text}': expected key=value, e.g. trainer.lr=0.5")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override '{text}': empty key")
    try:
        value = load_yaml(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"override '{text}': cannot parse value: {exc}") from None
    return key.split("."), value


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Set dotted `key=value` overrides (values parsed as YAML) into a raw config mapping."""
    for text in overrides:
        path, value = _parse_override(text)
        node = raw
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                section = ".".join(path[: i + 1])
                raise ConfigError(f"override '{text}': '{section}' is not a section")
            node = child
        node[path[-1]] = value
    return raw


def read_yaml_mapping(path: str | Path) -> dict:
    """A YAML file whose top level is a non-empty mapping; clear errors naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if raw is None or raw == {}:  # an empty file must not silently train every default (the PTB LM)
        raise ConfigError(f"{path}: the file holds no settings (empty or only comments); give at least `task:` and `data:`")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def save_config(cfg: RunConfig, path: str | Path) -> None:
    """The config as YAML at `path`, written whole or not at all."""
    replace_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
