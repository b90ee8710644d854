"""Evaluation measures used across tasks."""

from __future__ import annotations

import math


def perplexity(mean_nll: float) -> float:
    """exp of the mean per-token cross-entropy (natural log); inf when it would overflow."""
    try:
        return math.exp(mean_nll)
    except OverflowError:
        return math.inf


def bleu_chrf(hypotheses: list[str], references: list[str], lowercase: bool = False) -> dict[str, float]:
    """Corpus BLEU (13a tokenization) and chrF (character 6-grams, beta 2) by sacrebleu, on detokenized text."""
    import sacrebleu

    refs = [references]
    bleu = sacrebleu.corpus_bleu(hypotheses, refs, lowercase=lowercase)
    chrf = sacrebleu.corpus_chrf(hypotheses, refs)
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
