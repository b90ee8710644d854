"""Evaluation measures used across tasks."""

from __future__ import annotations

import math


def perplexity(mean_nll: float) -> float:
    """exp of the mean per-token cross-entropy (natural log); inf when it would overflow."""
    try:
        return math.exp(mean_nll)
    except OverflowError:
        return math.inf


def mcnemar(gold: list, pred_a: list, pred_b: list) -> dict:
    """McNemar's exact test of two classifiers on the same examples: is A's accuracy different from B's?

    Counts the examples only A gets right (`a_only`) and only B gets right (`b_only`); under the null
    hypothesis each disagreement is a fair coin, so the two-sided p-value is a binomial test. This is
    the paired test to use before calling one classifier "clearly" better on a single test split.
    """
    from scipy.stats import binomtest

    if not len(gold) == len(pred_a) == len(pred_b):
        raise ValueError(f"mcnemar: {len(gold)} gold labels but {len(pred_a)} and {len(pred_b)} predictions")
    a_only = sum(a == g and b != g for g, a, b in zip(gold, pred_a, pred_b))
    b_only = sum(b == g and a != g for g, a, b in zip(gold, pred_a, pred_b))
    p = binomtest(a_only, a_only + b_only).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p)}


def bleu_chrf(hypotheses: list[str], references: list[str], lowercase: bool = False) -> dict[str, float]:
    """Corpus BLEU (13a tokenization) and chrF (character 6-grams, beta 2) by sacrebleu, on detokenized text.

    `lowercase` (for outputs of a lower-cased model scored against raw references) makes both
    case-insensitive; `sacrebleu.corpus_chrf` has no such option, so chrF goes through its CHRF class.
    """
    import sacrebleu
    from sacrebleu.metrics import CHRF

    refs = [references]
    bleu = sacrebleu.corpus_bleu(hypotheses, refs, lowercase=lowercase)
    chrf = CHRF(lowercase=lowercase).corpus_score(hypotheses, refs)
    return {"bleu": float(bleu.score), "chrf": float(chrf.score), "bleu_bp": float(bleu.bp)}


def rouge(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 (x100) by Google's rouge-score package (Porter stemming on)."""
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        from rnn_nlp.errors import ConfigError

        raise ConfigError("ROUGE needs the rouge-score package: pip install 'rnn-nlp[rouge]'") from None
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for hyp, ref in zip(hypotheses, references):
        for key, score in scorer.score(ref, hyp).items():
            totals[key] += score.fmeasure
    n = max(1, len(hypotheses))
    return {key: 100.0 * value / n for key, value in totals.items()}
