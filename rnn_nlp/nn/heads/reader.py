"""The reader for extractive QA: bilinear start and end scores of passage states against a question vector.

Chen, Bolton & Manning (2016) and DrQA (Chen et al. 2017): the passage runs through the backbone (both
directions where it has them); optionally DrQA's exact-match feature (does this passage word occur in
the question?) and aligned question embedding join the states and a small BiLSTM of the head's own
reads them; the question encoder pools the question into one vector q; start_i = p_i W_s q and
end_i = p_i W_e q. Optionally (head.token_features) hand-made features of each passage token
(reader_features: mention counts, first position, question words nearby, neighbours of the placeholder)
join the BiLSTM's input and, through a learned linear function, bias the start and end logits directly
(head.feature_bias). For unanswerable questions (SQuAD v2.0) a null score computed from q sits at
position 0 before the passage (a sentinel), so "no answer" competes with every span. Training loss:
the negative log-likelihood of the gold start plus that of the gold end, each summed over the gold
positions when an answer occurs more than once (all mentions of a cloze answer). Padding is masked
out of every softmax and pooling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.question import QuestionEncoder
from rnn_nlp.nn.heads.reader_features import FEATURES
from rnn_nlp.nn.network import TaskNetwork


@dataclass
class ReaderHeadConfig:
    """The reader head's options (the `head:` section of a qa config)."""

    question_pooling: list[str] = field(default_factory=lambda: ["attention"])  # DrQA: a learned weighted average
    dropout: float = 0.2
    exact_match: bool = True  # DrQA's feature: the passage word occurs in the question
    aligned_question: bool = True  # DrQA's f_align: attention from each passage word to the question's embeddings
    context_size: int | None = 128  # a BiLSTM of this width per direction over states + features (null: none)
    max_answer_len: int = 15  # tokens; decoding picks the best span with end - start < this
    restrict_to_candidates: bool = True  # cloze sets: the answer is one of the record's candidates
    candidate_score: Literal["max", "sum"] = "sum"  # a candidate's score from its mentions' span scores
    no_answer: bool | None = None  # a null option (SQuAD v2.0); null: on when the training data has unanswerable questions
    token_features: bool = False  # hand-made features of each passage token (reader_features.FEATURES) join the states
    feature_bias: bool = True  # with token_features: also a learned linear function of them added to the start/end logits
    feature_window: int = 5  # tokens either side of an occurrence for the question-overlap features


class ReaderHead(nn.Module):
    """Question vector + passage states -> start and end logits [B, 1 + T] (column 0: no answer)."""

    def __init__(self, input_dim: int, emb_dim: int, cfg: ReaderHeadConfig, directions: tuple[str, ...], no_answer: bool, unk_id: int = 1):
        super().__init__()
        self.cfg = cfg
        self.unk_id = unk_id
        self.no_answer = no_answer
        self.question = QuestionEncoder(input_dim, cfg.question_pooling, directions)
        self.dropout = nn.Dropout(cfg.dropout)
        self.n_features = len(FEATURES) if cfg.token_features else 0
        width = input_dim + int(cfg.exact_match) + (emb_dim if cfg.aligned_question else 0) + self.n_features
        # the features' direct path to the logits: [start bias, end bias] = feats @ W (+ b)
        self.feature_bias = nn.Linear(self.n_features, 2) if self.n_features and cfg.feature_bias else None
        self.align = nn.Linear(emb_dim, emb_dim) if cfg.aligned_question else None
        self.context = None
        if cfg.context_size:
            self.context = nn.LSTM(width, cfg.context_size, batch_first=True, bidirectional=True)
            width = 2 * cfg.context_size
        self.passage_dim = width
        q = self.question.output_dim
        self.start = nn.Linear(q, width, bias=False)  # W_s
        self.end = nn.Linear(q, width, bias=False)  # W_e
        self.null = nn.Linear(q, 2)  # the no-answer scores for start and end

    def passage_states(
        self,
        states: torch.Tensor,
        mask: torch.Tensor,
        c_emb: torch.Tensor,
        c_ids: torch.Tensor,
        q_emb: torch.Tensor,
        q_ids: torch.Tensor,
        q_mask: torch.Tensor,
        feats: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Passage states [B, T, passage_dim]: backbone states, exact-match, aligned-question and token features
        (`feats` [B, T, len(FEATURES)] with head.token_features), the head's own BiLSTM."""
        parts = [states]
        if self.cfg.exact_match:
            same = (c_ids.unsqueeze(2) == q_ids.unsqueeze(1)) & q_mask.unsqueeze(1) & (q_ids != self.unk_id).unsqueeze(1)  # [B, T, Tq]
            parts.append(same.any(-1, keepdim=True).to(states.dtype))
        if self.align is not None:
            a = F.relu(self.align(c_emb))
            b = F.relu(self.align(q_emb))
            scores = torch.bmm(a, b.transpose(1, 2)).masked_fill(~q_mask.unsqueeze(1), float("-inf"))
            parts.append(torch.bmm(scores.softmax(-1), q_emb))
        if self.n_features:
            parts.append(self._features(feats, states))
        x = self.dropout(torch.cat(parts, dim=-1))
        if self.context is not None:
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.context(packed)
            x, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=states.size(1))
            x = self.dropout(x)
        return x

    def _features(self, feats: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        if feats is None or feats.shape[:2] != like.shape[:2] or feats.size(2) != self.n_features:
            got = "none" if feats is None else list(feats.shape)
            raise ValueError(f"head.token_features: the batch needs c_feats [B, T, {self.n_features}], got {got}")
        return feats.to(like.dtype)

    def scores(
        self, passage: torch.Tensor, mask: torch.Tensor, q: torch.Tensor, feats: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Bilinear start and end logits [B, 1 + T], plus the token features' linear bias (head.feature_bias);
        padding (and, without no_answer, column 0) is -inf."""
        start = torch.bmm(passage, self.start(q).unsqueeze(2)).squeeze(2)
        end = torch.bmm(passage, self.end(q).unsqueeze(2)).squeeze(2)
        if self.feature_bias is not None:
            bias = self.feature_bias(self._features(feats, passage))  # [B, T, 2]
            start, end = start + bias[..., 0], end + bias[..., 1]
        null = self.null(q)
        if not self.no_answer:
            null = null.masked_fill(torch.ones_like(null, dtype=torch.bool), float("-inf"))
        start = torch.cat([null[:, :1], start.masked_fill(~mask, float("-inf"))], dim=1)
        end = torch.cat([null[:, 1:], end.masked_fill(~mask, float("-inf"))], dim=1)
        return start, end


def gold_nll(logits: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """-log of the probability mass on the gold positions (a multi-hot [B, 1 + T]), per row."""
    log_probs = logits.float().log_softmax(-1)
    return -torch.logsumexp(log_probs.masked_fill(~gold, float("-inf")), dim=-1)


class ReaderNetwork(TaskNetwork):
    """Backbone + ReaderHead. A batch: q_ids, q_lengths, c_ids, c_lengths (with head.token_features also
    c_feats [B, T, len(FEATURES)]; with backbone.vectors q_vector_rows and c_vector_rows, each token's row in
    the vectors' table); for training start_gold and
    end_gold ([B, 1 + T] multi-hot, column 0 the no-answer sentinel); for cloze sets start_allowed and
    end_allowed ([B, 1 + T]: the first and last tokens of candidate mentions, where the softmax runs)."""

    def __init__(self, backbone: Backbone, head: ReaderHead):
        super().__init__(backbone, head)

    def encode_question(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Question token ids [B, T] and lengths [B] -> question vectors [B, dim] (what `rnn_nlp.encode` computes for a QA run)."""
        return self.head.question.encode(self.backbone, ids, lengths)

    def forward(self, batch: dict) -> dict:
        """Start and end logits [B, 1 + T] (candidate-restricted for cloze batches), and the loss when the batch has gold."""
        q_ids, c_ids = batch["q_ids"], batch["c_ids"]
        q_rows, c_rows = batch.get("q_vector_rows"), batch.get("c_vector_rows")
        q_out = self.backbone(q_ids, batch["q_lengths"], vector_rows=q_rows)
        c_out = self.backbone(c_ids, batch["c_lengths"], vector_rows=c_rows)
        q_mask, c_mask = q_out.mask, c_out.mask
        q = self.head.question(q_out.output, q_mask)
        emb = self.backbone.lookup  # with backbone.vectors, the words' vectors too (words outside the vocabulary by their rows)
        feats = batch.get("c_feats")
        passage = self.head.passage_states(c_out.output, c_mask, emb(c_ids, c_rows), c_ids, emb(q_ids, q_rows), q_ids, q_mask, feats)
        start, end = self.head.scores(passage, c_mask, q, feats)
        if "start_allowed" in batch:  # cloze: only candidate mentions' first / last tokens compete
            start = start.masked_fill(~batch["start_allowed"], float("-inf"))
            end = end.masked_fill(~batch["end_allowed"], float("-inf"))
        result = {"start_logits": start, "end_logits": end, "tokens": int(batch["c_lengths"].sum() + batch["q_lengths"].sum())}
        if "start_gold" in batch:
            per_row = gold_nll(start, batch["start_gold"]) + gold_nll(end, batch["end_gold"])
            result["loss_per_row"] = per_row.detach()
            result["loss"] = per_row.mean()
        return result
