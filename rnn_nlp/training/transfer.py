"""Starting a model from a pretrained run's weights: a backbone (or a decoder LM) matched by token string.

Only the run's files are read (config.yaml's `backbone` section, vocab.json, model.safetensors), so
no task has to be known to take a backbone from a run of any task.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from rnn_nlp.config import BackboneConfig, from_dict
from rnn_nlp.data.vocab import Vocab
from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder

log = logging.getLogger(__name__)

ARCHITECTURE = ("rnn", "emb_size", "hidden_size", "layers", "direction", "top_size", "residual", "vectors")
VECTOR_TABLES = ("vectors.vocab_vectors", "vectors.has_vector")  # rebuilt for the new vocabulary, never copied


def pretrained_backbone_config(source: str | Path) -> BackboneConfig:
    """The backbone section of a run folder's config.yaml."""
    raw = ckpt.load_raw_config(source)
    try:
        return from_dict(BackboneConfig, raw.get("backbone"), "backbone")
    except ConfigError as exc:
        raise CheckpointError(f"{run_folder.resolve(Path(source)) / run_folder.CONFIG}: {exc}") from None


def pretrained_task(source: str | Path) -> str:
    """The task name a run folder was trained for."""
    task = ckpt.load_raw_config(source).get("task", "lm")
    return task if isinstance(task, str) else "?"


def adopt_architecture(cfg: Any, source: str | Path) -> None:
    """A run starting from a pretrained backbone takes that backbone's shape (its dropouts stay its own)."""
    pretrained = pretrained_backbone_config(source)
    if cfg.backbone.vectors and cfg.backbone.vectors != pretrained.vectors:
        log.warning(
            "backbone.vectors=%s is replaced by the pretrained backbone's own (%s): its weights were trained on those inputs",
            cfg.backbone.vectors,
            pretrained.vectors,
        )
    if pretrained.vectors and cfg.backbone.vectors_mode != pretrained.vectors_mode:
        log.warning(
            "backbone.vectors_mode=%s differs from the pretrained backbone's %s%s",
            cfg.backbone.vectors_mode,
            pretrained.vectors_mode,
            ": its learned corrections to the vectors are masked out" if cfg.backbone.vectors_mode == "frozen" else "",
        )
    changed = [k for k in ARCHITECTURE if getattr(cfg.backbone, k) != getattr(pretrained, k)]
    for key in changed:
        setattr(cfg.backbone, key, getattr(pretrained, key))
    if changed:
        log.info("backbone shape taken from %s: %s", source, ", ".join(f"{k}={getattr(pretrained, k)}" for k in changed))


def canonical(name: str) -> str:
    """A backbone parameter's name as it would be without weight drop's wrapper."""
    return name.replace(".module.", ".").replace("_raw", "")


def _matched_embeddings(
    old: torch.Tensor, own: torch.Tensor, old_vocab: Vocab, vocab: Vocab, source: Any, has_vector: torch.Tensor | None = None
) -> torch.Tensor:
    """The embedding matrix for `vocab`: rows of words `old_vocab` knows copied, the others at the mean (as ULMFiT).

    With backbone.vectors the rows are corrections added to each word's vector: a new word with a
    vector starts at zero (its vector as it is), not at the mean correction.
    """
    if old.size(1) != own.size(1):
        raise CheckpointError(f"{source}: embedding width {old.size(1)} differs from backbone.emb_size {own.size(1)}")
    new = old.mean(0, keepdim=True).repeat(len(vocab), 1)
    if has_vector is not None:
        new[has_vector] = 0.0
    hits = 0
    for i, tok in enumerate(vocab.itos):
        j = old_vocab.stoi.get(tok)
        if j is not None:
            new[i] = old[j]
            hits += 1
    log.info("pretrained embeddings: %d of %d words found in %s", hits, len(vocab), source)
    return new


def transfer_backbone(model: Any, vocab: Vocab, source: str | Path, only_forward: bool = False) -> None:
    """Start `model.backbone` from a pretrained run; embedding rows are matched by token string.

    Words the pretrained vocabulary lacks start at the mean pretrained embedding (as ULMFiT does).
    `only_forward` takes just the forward direction of a bidirectional run (for a forward model).
    """
    checkpoint = ckpt.read_checkpoint(source)
    weights = {k[len("backbone.") :]: v for k, v in checkpoint.weights().items() if k.startswith("backbone.")}
    if only_forward:
        weights = {k: v for k, v in weights.items() if not k.startswith("stacks.bwd.")}
    old_vocab = Vocab.from_json(checkpoint.vocab_json().get("tokens"), str(checkpoint.folder / ckpt.VOCAB), "tokens")
    if old_vocab.unit != vocab.unit:
        raise CheckpointError(f"{source}: its backbone reads {old_vocab.unit}s, this task reads {vocab.unit}s")
    own = model.backbone.state_dict()
    weights = {k: v for k, v in weights.items() if k not in VECTOR_TABLES}
    emb_key = "embedding.weight"
    if emb_key in weights:
        vectors = getattr(model.backbone, "vectors", None)
        has_vector = vectors.has_vector if vectors is not None else None
        weights[emb_key] = _matched_embeddings(weights[emb_key], own[emb_key], old_vocab, vocab, source, has_vector)
    # weight drop renames parameters (`.module.`, `_raw`): match on the plain names
    plain = {canonical(k): k for k in own}
    renamed = {}
    for k, v in weights.items():
        target = plain.get(canonical(k))
        if target is None or own[target].shape != v.shape:
            raise CheckpointError(f"{source}: backbone weight {k} does not fit this backbone; use the same backbone config")
        renamed[target] = v
    model.backbone.load_state_dict(renamed, strict=False)


def transfer_decoder(head: Any, vocab: Vocab, source: str | Path) -> None:
    """Start a seq2seq head's decoder LM (backbone and, for a full softmax, the output layer) from a
    pretrained LM run (a forward or bidirectional one: only its forward direction is taken)."""
    if head.cfg.input_feeding:
        raise ConfigError("head.decoder_pretrained: a pretrained LM cannot start an input-feeding decoder (its first layer is wider)")
    transfer_backbone(SimpleNamespace(backbone=head.decoder), vocab, source, only_forward=True)
    out = head.output.decoder
    checkpoint = ckpt.read_checkpoint(source)
    weights = checkpoint.weights()
    if out is None or "head.decoder.weight" not in weights or out.weight is head.decoder.embedding.weight:
        return  # adaptive softmax starts fresh; a tied output layer came with the embedding
    old_vocab = Vocab.from_json(checkpoint.vocab_json().get("tokens"), str(checkpoint.folder / ckpt.VOCAB), "tokens")
    old_w, old_b = weights["head.decoder.weight"], weights.get("head.decoder.bias")
    if old_w.size(1) != out.weight.size(1):
        return
    with torch.no_grad():
        for i, tok in enumerate(vocab.itos):
            j = old_vocab.stoi.get(tok)
            if j is not None:
                out.weight[i] = old_w[j]
                if old_b is not None:
                    out.bias[i] = old_b[j]
