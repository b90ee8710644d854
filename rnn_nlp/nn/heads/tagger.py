"""Sequence tagging head: backbone states (+ character features, + string embeddings) -> (fresh BiLSTM) -> tag
scores -> softmax or CRF.

The backbone's top layer arrives with both directions concatenated when it has both; a forward-only
backbone is best given a fresh bidirectional layer (`encoder: bilstm`). Character features (a char-CNN
as in Ma & Hovy 2016, or a char-BiLSTM as in Lample et al. 2016) give unknown words a representation.
String embeddings (a char LM's states at each word, Akbik et al. 2018) with `encoder: bilstm` make
flair's SequenceTagger: stacked word features -> BiLSTM -> CRF.
Every part states its input and output width, so a mismatch fails when the model is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.crf import CRF
from rnn_nlp.nn.embedders.string_embeddings import StringEmbedder
from rnn_nlp.nn.network import TaskNetwork


@dataclass
class TaggerHeadConfig:
    encoder: Literal["backbone", "bilstm"] = "backbone"  # backbone states as they are, or a fresh BiLSTM on top
    encoder_size: int = 128  # the fresh BiLSTM's width per direction
    char_features: Literal["none", "cnn", "bilstm"] = "none"
    char_emb_size: int = 25
    char_size: int = 50  # char-CNN filters, or the char-BiLSTM's width per direction
    char_kernel: int = 3  # char-CNN window
    max_word_chars: int = 30  # longer words keep their first and last characters
    decoder: Literal["softmax", "crf"] = "crf"
    constrained: bool = True  # CRF: forbid transitions the tag scheme does not allow (I-X after O)
    dropout: float = 0.5  # on the features entering the tag scorer (and the fresh BiLSTM)
    word_dropout: float = 0.05  # training: replace a word by <unk> with this probability
    freeze_backbone: bool = False  # train the head only; the backbone stays as pretrained
    # Contextual string embeddings (Akbik et al. 2018): a character-level LM run (task lm, data.unit char; forward,
    # backward or both), found as `pretrained` paths are. Its states at each word join the head's input; its
    # weights, characters and shape are copied into this run, so the run does not need it afterwards.
    string_embeddings: str | None = None
    string_embeddings_trainable: bool = False  # fine-tune the char LM with the tagger (slow: nothing cached)
    string_embeddings_whitespace: bool = True  # states at the spaces around a word (flair); false: at its last/first char
    string_embeddings_cache_mb: int = 4096  # a frozen char LM: keep each sentence's features up to this many MB (0: none)
    string_embeddings_cache_dtype: Literal["float32", "float16"] = "float32"  # float16 halves the cache's memory


class CharEncoder(nn.Module):
    """[B, T, C] character ids (0 = padding) of each word -> [B, T, output_dim] word features."""

    def __init__(self, n_chars: int, cfg: TaggerHeadConfig):
        super().__init__()
        self.kind = cfg.char_features
        self.embedding = nn.Embedding(n_chars, cfg.char_emb_size, padding_idx=0)
        if self.kind == "cnn":
            self.conv = nn.Conv1d(cfg.char_emb_size, cfg.char_size, cfg.char_kernel, padding=cfg.char_kernel // 2)
            self.output_dim = cfg.char_size
        else:
            self.rnn = nn.LSTM(cfg.char_emb_size, cfg.char_size, batch_first=True, bidirectional=True)
            self.output_dim = 2 * cfg.char_size

    def forward(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, steps, width = chars.shape
        words = chars[mask]  # [N, C]: real words only
        lengths = (words != 0).sum(1).clamp(min=1)
        emb = self.embedding(words)
        if self.kind == "cnn":
            conv = self.conv(emb.transpose(1, 2)).transpose(1, 2)  # [N, C, F]
            pad = torch.arange(words.size(1), device=words.device).unsqueeze(0) >= lengths.unsqueeze(1)
            feats = conv.masked_fill(pad.unsqueeze(2), float("-inf")).max(1).values
        else:
            packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, (h, _) = self.rnn(packed)
            feats = torch.cat([h[0], h[1]], dim=-1)
        out = feats.new_zeros(batch, steps, self.output_dim)
        out[mask] = feats
        return out


class TaggerHead(nn.Module):
    """[B, T, input_dim] states (+ chars, + words' string embeddings) -> [B, T, num_tags] emission scores, and the CRF."""

    def __init__(
        self, input_dim: int, num_tags: int, cfg: TaggerHeadConfig, n_chars: int = 0, allowed=None, strings: StringEmbedder | None = None
    ):
        super().__init__()
        self.cfg = cfg
        self.input_dim = input_dim
        self.output_dim = num_tags
        self.chars = CharEncoder(n_chars, cfg) if cfg.char_features != "none" else None
        if cfg.char_features != "none" and n_chars < 2:
            raise ValueError("char_features need a character vocabulary")
        self.strings = strings
        width = input_dim + (self.chars.output_dim if self.chars else 0) + (strings.output_dim if strings else 0)
        self.dropout = nn.Dropout(cfg.dropout)
        self.encoder = None
        if cfg.encoder == "bilstm":
            self.encoder = nn.LSTM(width, cfg.encoder_size, batch_first=True, bidirectional=True)
            width = 2 * cfg.encoder_size
        self.feature_dim = width
        self.scorer = nn.Linear(width, num_tags)
        self.crf = CRF(num_tags, allowed if cfg.constrained else None) if cfg.decoder == "crf" else None

    def forward(
        self, states: torch.Tensor, mask: torch.Tensor, chars: torch.Tensor | None = None, words: list[tuple[str, ...]] | None = None
    ) -> torch.Tensor:
        if states.size(-1) != self.input_dim:
            raise ValueError(f"the tagger head expects states of width {self.input_dim}, got {states.size(-1)}")
        x = states
        if self.chars is not None:
            if chars is None:
                raise ValueError("this tagger uses character features: the batch needs 'chars'")
            x = torch.cat([x, self.chars(chars, mask)], dim=-1)
        if self.strings is not None:
            if words is None:
                raise ValueError("this tagger uses string embeddings: the batch needs 'words' (each sentence's tokens)")
            x = torch.cat([x, self.strings(words, mask.size(1)).to(x.dtype)], dim=-1)
        x = self.dropout(x)
        if self.encoder is not None:
            lengths = mask.long().sum(1)
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.encoder(packed)
            x, _ = pad_packed_sequence(out, batch_first=True, total_length=mask.size(1))
            x = self.dropout(x)
        return self.scorer(x)


def sentence_part(scores: torch.Tensor, left: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, W, K] scores of windows -> [B, S, K] the scores of each row's own `lengths` [B] tokens, which
    start at `left` [B] in its window, and their mask [B, S] (S: the longest; padding past a row's length)."""
    steps = torch.arange(int(lengths.max()), device=scores.device)
    mask = steps.unsqueeze(0) < lengths.to(scores.device).unsqueeze(1)
    index = (left.to(scores.device).unsqueeze(1) + steps).clamp(max=scores.size(1) - 1)  # padding reads the last step
    return scores.gather(1, index.unsqueeze(2).expand(-1, -1, scores.size(2))), mask


class TaggerNetwork(TaskNetwork):
    """Backbone + TaggerHead. A batch is {"ids", "lengths"}, maybe "chars" [B, T, C], "words" (each sentence's
    tokens, for string embeddings) and "tags" [B, T].

    Optional "starts_sentence" / "ends_sentence" [B] booleans mark pieces cut from a longer sentence
    (False: the CRF's start / end score and constraint do not apply there). Optional "window_left" and
    "sentence_lengths" [B] (document context): the ids are windows around each sentence, whose own
    tokens start at window_left; everything reads the window, and the scores (and so the mask, the loss,
    the decoded tags and "tags" [B, S]) cover the sentence's tokens only. Tags are indices, -1 on
    padding and on tags the model does not know (left out of the loss: a
    CRF drops whole sentences holding such a tag, the softmax just those tokens).
    """

    head: TaggerHead

    def __init__(self, backbone: Backbone, head: TaggerHead, unk_id: int = 1):
        super().__init__(backbone, head)
        self.unk_id = unk_id

    def emissions(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Tag scores [B, T, K] and their mask [B, T]: of every token, or of each window's sentence."""
        ids, lengths, vector_rows = batch["ids"], batch["lengths"], batch.get("vector_rows")
        p = self.head.cfg.word_dropout
        if self.training and p > 0:
            drop = torch.rand(ids.shape, device=ids.device) < p
            ids = ids.masked_fill(drop & (ids != self.backbone.embedding.padding_idx), self.unk_id)
            if vector_rows is not None:  # a dropped word is plain <unk>: its pretrained vector goes too
                vector_rows = vector_rows.masked_fill(drop, -1)
        out = self.backbone(ids, lengths, vector_rows=vector_rows)
        mask = out.mask if out.mask is not None else torch.ones_like(ids, dtype=torch.bool)
        scores = self.head(out.output, mask, batch.get("chars"), batch.get("words"))
        if "sentence_lengths" in batch:
            return sentence_part(scores, batch["window_left"], batch["sentence_lengths"])
        return scores, mask

    def parameter_groups(self) -> list[list[nn.Parameter]]:
        """The backbone's and the head's groups; a string embedder's char LM is a group of its own at the bottom
        when it is trained, and in no group when frozen (so no optimiser or unfreezing ever touches it)."""
        groups = super().parameter_groups()
        strings = self.head.strings
        if strings is None:
            return groups
        lm = {id(p) for p in strings.parameters()}
        groups[-1] = [p for p in groups[-1] if id(p) not in lm]
        return ([list(strings.parameters())] if strings.trainable else []) + groups

    def forward(self, batch: dict) -> dict:
        scores, mask = self.emissions(batch)
        result = {"emissions": scores, "mask": mask, "tokens": int(batch["lengths"].sum())}
        tags = batch.get("tags")
        if tags is not None:
            known = (tags >= 0) | ~mask
            if self.head.crf is not None:
                rows = known.all(1)
                if bool(rows.any()):
                    starts, ends = batch.get("starts_sentence"), batch.get("ends_sentence")
                    nll = self.head.crf.nll(
                        scores[rows],
                        tags[rows].clamp(min=0),
                        mask[rows],
                        None if starts is None else starts.to(rows.device)[rows],
                        None if ends is None else ends.to(rows.device)[rows],
                    )
                    result["loss"] = nll.sum() / int(rows.sum())
                    result["loss_sum"] = nll.detach().sum()
                    result["loss_count"] = int(rows.sum())
            elif bool((tags[mask] >= 0).any()):
                flat = tags.masked_fill(~mask, -1)
                loss = F.cross_entropy(scores.float().reshape(-1, scores.size(-1)), flat.reshape(-1), ignore_index=-1, reduction="sum")
                count = int((flat >= 0).sum())
                result["loss"] = loss / count
                result["loss_sum"] = loss.detach()
                result["loss_count"] = count
            if "loss" not in result:
                result["loss"] = scores.sum() * 0.0
        return result

    @torch.no_grad()
    def decode(
        self, scores: torch.Tensor, mask: torch.Tensor, starts: torch.Tensor | None = None, ends: torch.Tensor | None = None
    ) -> list[list[int]]:
        """Best tag ids per sentence: Viterbi under the CRF, else the per-token argmax.

        `starts` / `ends` [B] booleans: which rows open / close a sentence (default: all); a piece cut
        from a long sentence gets no start or end score.
        """
        if self.head.crf is not None:
            return self.head.crf.viterbi(scores, mask, starts, ends)
        best = scores.argmax(-1).tolist()
        return [row[:n] for row, n in zip(best, mask.long().sum(1).tolist())]
