"""The char LM behind a tagger's string embeddings: read from its run once, then kept in the tagger's own run.

What prediction needs to encode characters as the char LM did (its character vocabulary, whether it
lower-cased) and to rebuild it (its backbone's shape) goes into the tagger's vocab.json under
`string_embeddings`; its weights into the tagger's model.safetensors. So a tagger run is self-contained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnn_nlp.config import BackboneConfig, from_dict, to_dict
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.nn.embedders.string_embeddings import StringEmbedder
from rnn_nlp.tasks.base import VOCAB_FILE
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.distributed import shard_batch
from rnn_nlp.training.recipe_runs import run_or_recipe

KEY = "string_embeddings"  # its entry in vocab.json


@dataclass
class StringLM:
    """A char-level LM as a string embedder needs it: its characters, lower-casing and backbone shape."""

    chars: Vocab
    lowercase: bool
    backbone: BackboneConfig

    def to_json(self) -> dict:
        return {"chars": self.chars.to_json(), "lowercase": self.lowercase, "backbone": to_dict(self.backbone)}

    @classmethod
    def from_json(cls, data: Any, source: str = VOCAB_FILE) -> StringLM:
        """The entry as read back from a tagger's vocab.json; a CheckpointError naming the key if it is malformed."""
        if not isinstance(data, dict) or set(data) != {"chars", "lowercase", "backbone"}:
            raise CheckpointError(f"{source}: {KEY} must be an object with chars, lowercase and backbone")
        chars = Vocab.from_json(data["chars"], source, f"{KEY}.chars")
        if chars.unit != "char" or not isinstance(data["lowercase"], bool):
            raise CheckpointError(f"{source}: {KEY} must hold a character vocabulary and lowercase true or false")
        try:
            backbone = from_dict(BackboneConfig, data["backbone"], f"{KEY}.backbone")
        except ConfigError as exc:
            raise CheckpointError(f"{source}: {exc}") from None
        return cls(chars, data["lowercase"], backbone)


def saved_string_lm(saved: dict | None, head: Any) -> StringLM | None:
    """The char LM kept in a run's own vocab.json (None for a new run, or a tagger without string embeddings)."""
    if saved is not None and saved.get(KEY) is not None:
        return StringLM.from_json(saved[KEY])
    if saved is not None and head.string_embeddings:
        raise CheckpointError(f"{VOCAB_FILE}: missing key '{KEY}' (head.string_embeddings is set); the checkpoint was altered")
    return None


def is_char_lm(source: str | Path) -> bool:
    """Whether a (checked) run folder, or a recipe's trained run, holds a character-level language model."""
    source = run_or_recipe(source, "pretrained")
    tokens = ckpt.load_vocab_json(source).get("tokens")
    return ckpt.load_raw_config(source).get("task", "lm") == "lm" and isinstance(tokens, dict) and tokens.get("unit") == "char"


def read_string_lm(source: str | Path, key: str = f"head.{KEY}") -> StringLM:
    """The char LM of run folder `source` (or a recipe's trained run); a ConfigError naming `key` if it is missing,
    broken or not a char LM."""
    try:
        source = run_or_recipe(source, key)
        checkpoint = ckpt.read_checkpoint(source)
        raw = checkpoint.raw_config()
        tokens = checkpoint.vocab_json().get("tokens")
        chars = Vocab.from_json(tokens, str(checkpoint.folder / ckpt.VOCAB), "tokens")
        backbone = from_dict(BackboneConfig, raw.get("backbone"), "backbone")
    except (CheckpointError, ConfigError) as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if raw.get("task", "lm") != "lm" or chars.unit != "char":
        raise ConfigError(
            f"{key}: {source} is not a character-level language model (task lm with data.unit: char); "
            f"it is a '{raw.get('task', 'lm')}' run reading {chars.unit}s"
        )
    data = raw.get("data")
    return StringLM(chars, isinstance(data, dict) and data.get("lowercase") is True, backbone)


def load_string_lm_weights(embedder: StringEmbedder, source: str | Path) -> None:
    """Copy the backbone weights of char LM run `source` into `embedder.lm` (same shape: every weight must fit)."""
    prefix = "backbone."
    source = run_or_recipe(source, "head.string_embeddings")
    weights = {"lm." + k[len(prefix) :]: v for k, v in ckpt.read_checkpoint(source).weights().items() if k.startswith(prefix)}
    own = embedder.state_dict()
    if set(weights) != set(own) or any(own[k].shape != v.shape for k, v in weights.items()):
        raise CheckpointError(f"{source}: its backbone weights do not fit the string embedder built from its config")
    with torch.no_grad():
        embedder.load_state_dict(weights)  # through the embedder: its cache of older features is dropped


def string_embedder(entry: StringLM, head: Any) -> StringEmbedder:
    """The string embedder a tagger head config (`head.string_embeddings_*`) asks for, over `entry`'s char LM."""
    return StringEmbedder(
        entry.backbone,
        entry.chars,
        entry.lowercase,
        trainable=head.string_embeddings_trainable,
        whitespace=head.string_embeddings_whitespace,
        cache_bytes=head.string_embeddings_cache_mb * 2**20,
        cache_dtype=getattr(torch, head.string_embeddings_cache_dtype),
    )


def take_char_pretrained(cfg: Any, log: Any) -> None:
    """`pretrained: <char-level LM run>` for a word-level tagger means "use it as the string embedder":
    cfg.head.string_embeddings takes it and cfg.pretrained is cleared (the word backbone starts fresh)."""
    source = cfg.pretrained
    if not source or not is_char_lm(source):
        return
    head = cfg.head
    if (
        head.string_embeddings
        and run_or_recipe(head.string_embeddings, "head.string_embeddings").resolve() != run_or_recipe(source).resolve()
    ):
        raise ConfigError(
            f"pretrained: {source} is a character-level LM, used as the string embedder, but head.string_embeddings "
            f"names another ({head.string_embeddings}); keep one of them"
        )
    if any(stage.name != "task" for stage in cfg.stages):
        raise ConfigError(f"stages: the LM stages train a word-level LM, but `pretrained` ({source}) is a character-level one")
    log.info("pretrained: %s is a character-level LM; the tagger uses it as its string embedder (head.string_embeddings)", source)
    head.string_embeddings, cfg.pretrained = source, None


def shard_with_words(batch: dict, rank: int, world: int) -> dict:
    """A process's share of a tagging batch (DDP): the tensors' rows as `shard_batch` cuts them, and the same rows' words."""
    words = batch.get("words")
    shard = shard_batch({k: v for k, v in batch.items() if k != "words"}, rank, world)
    if words is not None:
        rows = range(len(words)) if len(words) < world else torch.tensor_split(torch.arange(len(words)), world)[rank].tolist()
        shard["words"] = [words[i] for i in rows]
    return shard
