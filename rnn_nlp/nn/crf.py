"""Linear-chain CRF: sentence log-likelihood by the forward algorithm, and Viterbi decoding.

Scores are emissions [B, T, K] from the tagger plus learned start, transition [K, K] (from row
tag to column tag) and end scores. Transitions a tag scheme forbids (I-PER after O in IOB2) can be
masked: they get a score of -10000, so no decoded path ever takes them. A piece cut from the middle
of a long sentence neither starts nor ends the sentence: per-row `starts` / `ends` booleans apply
the start and end scores (and their constraints) only to rows that really open or close a sentence.
Loops run over time steps only, vectorised over the batch and tags; masks keep padding out of every sum.
"""

from __future__ import annotations

import torch
from torch import nn

FORBIDDEN = -10000.0


class CRF(nn.Module):
    """A linear-chain CRF over `num_tags` tags; `allowed` = (start [K], transitions [K, K], end [K]) booleans."""

    def __init__(self, num_tags: int, allowed: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None):
        super().__init__()
        self.num_tags = num_tags
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.zeros(num_tags))
        if allowed is None:
            allowed = (
                torch.ones(num_tags, dtype=torch.bool),
                torch.ones(num_tags, num_tags, dtype=torch.bool),
                torch.ones(num_tags, dtype=torch.bool),
            )
        start, trans, end = (torch.as_tensor(a, dtype=torch.bool) for a in allowed)  # numpy or torch booleans
        if trans.shape != (num_tags, num_tags) or start.shape != (num_tags,) or end.shape != (num_tags,):
            raise ValueError(f"allowed-transition masks must be [{num_tags}], [{num_tags}, {num_tags}], [{num_tags}]")
        self.register_buffer("allowed_start", start.bool(), persistent=False)
        self.register_buffer("allowed_trans", trans.bool(), persistent=False)
        self.register_buffer("allowed_end", end.bool(), persistent=False)

    def scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Start, transition and end scores with forbidden moves masked out."""
        forbid = torch.tensor(FORBIDDEN, device=self.transitions.device, dtype=self.transitions.dtype)
        return (
            torch.where(self.allowed_start, self.start, forbid),
            torch.where(self.allowed_trans, self.transitions, forbid),
            torch.where(self.allowed_end, self.end, forbid),
        )

    def boundary_scores(
        self, batch: int, starts: torch.Tensor | None, ends: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[B, K] start scores, [K, K] transitions, [B, K] end scores; rows not starting / ending a sentence get 0."""
        start, trans, end = self.scores()
        start, end = start.expand(batch, -1), end.expand(batch, -1)
        if starts is not None:
            start = torch.where(starts.to(start.device).bool().unsqueeze(1), start, torch.zeros_like(start))
        if ends is not None:
            end = torch.where(ends.to(end.device).bool().unsqueeze(1), end, torch.zeros_like(end))
        return start, trans, end

    def path_score(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        starts: torch.Tensor | None = None,
        ends: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """[B] score of the given tag paths (sentences left-aligned, at least one token each)."""
        start, trans, end = self.boundary_scores(emissions.size(0), starts, ends)
        mask_f = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # [B, T]
        score = start.gather(1, tags[:, :1]).squeeze(1) + (emit * mask_f).sum(1)
        if tags.size(1) > 1:
            score = score + (trans[tags[:, :-1], tags[:, 1:]] * mask_f[:, 1:]).sum(1)
        last = tags.gather(1, (mask.long().sum(1) - 1).unsqueeze(1)).squeeze(1)
        return score + end.gather(1, last.unsqueeze(1)).squeeze(1)

    def log_partition(
        self, emissions: torch.Tensor, mask: torch.Tensor, starts: torch.Tensor | None = None, ends: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[B] log of the summed exp-scores of every tag path (the forward algorithm)."""
        start, trans, end = self.boundary_scores(emissions.size(0), starts, ends)
        alpha = start + emissions[:, 0]  # [B, K]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans.unsqueeze(0), dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    def nll(
        self,
        emissions: torch.Tensor,
        tags: torch.Tensor,
        mask: torch.Tensor,
        starts: torch.Tensor | None = None,
        ends: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """[B] negative log-likelihood of each sentence's (or piece's) gold path."""
        emissions = emissions.float()
        return self.log_partition(emissions, mask, starts, ends) - self.path_score(emissions, tags, mask, starts, ends)

    @torch.no_grad()
    def viterbi(
        self, emissions: torch.Tensor, mask: torch.Tensor, starts: torch.Tensor | None = None, ends: torch.Tensor | None = None
    ) -> list[list[int]]:
        """The best tag path of each sentence, as lists as long as the sentence."""
        emissions = emissions.float()
        batch, steps, _ = emissions.shape
        start, trans, end = self.boundary_scores(batch, starts, ends)
        score = start + emissions[:, 0]
        history = []
        for t in range(1, steps):
            best, index = (score.unsqueeze(2) + trans.unsqueeze(0)).max(dim=1)  # over the previous tag
            step = best + emissions[:, t]
            keep = mask[:, t].unsqueeze(1)
            score = torch.where(keep, step, score)
            # past a sentence's end, point each tag at itself, so backtracking passes through unchanged
            history.append(torch.where(keep, index, torch.arange(self.num_tags, device=index.device).expand_as(index)))
        score = score + end
        last = score.argmax(1)
        path = [last]
        for index in reversed(history):
            last = index.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        path.reverse()
        tags = torch.stack(path, 1).tolist()
        lengths = mask.long().sum(1).tolist()
        return [row[:n] for row, n in zip(tags, lengths)]
