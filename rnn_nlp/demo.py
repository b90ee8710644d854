"""The main job on built-in defaults: pretrain a small LSTM LM on a PTB slice, report perplexity and a
greedy continuation, then fine-tune a sentiment classifier from that backbone on Rotten Tomatoes
reviews and report accuracy and macro-F1 beside a TF-IDF + logistic-regression baseline, and
fine-tune a named-entity tagger from it on a slice of CoNLL-2003, printing its seqeval report.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from rnn_nlp.api import train
from rnn_nlp.config import apply_overrides
from rnn_nlp.data.fetchers.cache import fetch
from rnn_nlp.tasks.lm.task import describe

BACKBONE = {
    "rnn": "lstm",
    "emb_size": 256,
    "hidden_size": 256,
    "layers": 1,
    "input_dropout": 0.1,
    "output_dropout": 0.2,
}
# A few minutes on 2 CPU cores. The full recipes are configs/lm-ptb.yaml and configs/sentiment-rt.yaml.
LM_CONFIG = {
    "task": "lm",
    "data": {"name": "ptb", "tokenizer": "whitespace", "max_train_tokens": 300_000, "max_eval_tokens": 40_000},
    "backbone": BACKBONE,
    "head": {"softmax": "full", "tie_weights": True},
    "trainer": {
        "epochs": 3,
        "batch_size": 20,
        "bptt": 35,
        "optimizer": "sgd",
        "lr": 20.0,
        "clip_norm": 0.25,
        "schedule": "plateau",
        "checkpoint_every": 200,
        "seed": 1111,
    },
}
SENTIMENT_CONFIG = {
    "task": "classify",
    "data": {
        "name": "rotten-tomatoes",
        "tokenizer": "spacy",
        "lowercase": True,  # PTB's conventions, so the pretrained words are found
        "normalize_numbers": True,
        "min_count": 1,
        "max_train_examples": 4000,
    },
    "backbone": {**BACKBONE, "input_dropout": 0.2, "output_dropout": 0.3},
    "head": {"pooling": ["last", "max", "mean"], "dropout": 0.3},
    "trainer": {
        "epochs": 3,
        "batch_size": 32,
        "eval_batch_size": 64,
        "optimizer": "adam",
        "lr": 0.003,
        "clip_norm": 1.0,
        "schedule": "slanted_triangular",
        # With a backbone this small and three epochs, gradual unfreezing and discriminative
        # rates leave it under-trained (benchmarks/classify.py measures them): plain fine-tuning.
        "discriminative_lr": 1.0,
        "gradual_unfreezing": False,
        "checkpoint_every": 500,
        "seed": 1,
    },
}
# Step 3: NER on a slice of CoNLL-2003 from the same (forward) backbone; a fresh BiLSTM layer on top
# gives the tagger right-hand context, a char-CNN sees the case the lower-cased word ids lose.
NER_CONFIG = {
    "task": "ner",
    "data": {"name": "conll2003", "lowercase": True, "normalize_numbers": True, "max_train_sentences": 3000},
    "backbone": {**BACKBONE, "input_dropout": 0.25, "output_dropout": 0.25},
    "head": {"encoder": "bilstm", "encoder_size": 100, "char_features": "cnn", "decoder": "crf", "dropout": 0.25},
    "trainer": {
        "epochs": 3,
        "batch_size": 32,
        "eval_batch_size": 128,
        "optimizer": "adam",
        "lr": 0.003,
        "clip_norm": 5.0,
        "schedule": "none",
        "checkpoint_every": 500,
        "seed": 1,
    },
}
PROMPTS = ("the company said", "the stock market")


def tfidf_baseline(records: dict) -> dict[str, float]:
    """TF-IDF (word 1-2 grams) + logistic regression on the same training rows, scored on test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    x_train = vectorizer.fit_transform(records["train"]["text"])
    model = LogisticRegression(max_iter=1000, C=4.0).fit(x_train, records["train"]["label"])
    pred = model.predict(vectorizer.transform(records["test"]["text"]))
    gold = records["test"]["label"]
    return {"accuracy": accuracy_score(gold, pred), "macro_f1": f1_score(gold, pred, average="macro")}


def _with(raw: dict, overrides: list[str], name: str, threads: int | None) -> dict:
    """A demo step's config with the overrides for every step (`trainer.epochs=1`) and its own (`lm.trainer.lr=10`)."""
    raw = copy.deepcopy(raw)
    if threads is not None:
        raw["trainer"]["threads"] = threads
    steps = ("lm.", "sentiment.", "ner.")
    mine = [o[len(name) + 1 :] for o in overrides if o.startswith(name + ".")]
    shared = [o for o in overrides if not o.startswith(steps)]
    return apply_overrides(raw, shared + mine)


def run_demo(out: Path, threads: int | None = None, overrides: list[str] | None = None) -> dict:
    """Pretrain, fine-tune twice, print every figure; `threads` for every step, `overrides` as in `_with`."""
    overrides = list(overrides or [])
    start = time.perf_counter()
    table = fetch("ptb")
    print(f"1. Pretraining an LSTM language model on Penn Treebank ({len(table['train']):,} sentences; the first 300k tokens)")
    lm = train(_with(LM_CONFIG, overrides, "lm", threads), out=out / "lm", overwrite=True)
    results = {split: lm.evaluate(split=split) for split in ("valid", "test")}
    for split, metrics in results.items():
        print(f"   {split}: {describe(metrics)}")
    for prompt in PROMPTS:
        print(f"   greedy: {prompt} | {lm.generate(prompt, max_tokens=15)}")

    print("2. Fine-tuning a sentiment classifier (fresh / rotten) from that backbone on 4,000 Rotten Tomatoes reviews")
    clf = train(
        {**_with(SENTIMENT_CONFIG, overrides, "sentiment", threads), "pretrained": str(out / "lm")}, out=out / "sentiment", overwrite=True
    )
    report = clf.evaluate(split="test", report_dir=out / "sentiment")
    records = clf._task.records()
    baseline = tfidf_baseline(records)
    print(f"   test ({len(records['test']['text']):,} reviews): accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}")
    print(f"   TF-IDF + logistic regression on the same rows: accuracy {baseline['accuracy']:.4f}, macro-F1 {baseline['macro_f1']:.4f}")
    print("   " + report["report"].replace("\n", "\n   ").rstrip())
    print(f"   predict: {clf.predict('a gorgeous, moving film')}")
    results["sentiment"] = {k: v for k, v in report.items() if k != "report"}
    results["sentiment_tfidf"] = baseline

    print("3. Fine-tuning a named-entity tagger (BiLSTM-CRF head) from that backbone on 3,000 CoNLL-2003 sentences")
    ner = train({**_with(NER_CONFIG, overrides, "ner", threads), "pretrained": str(out / "lm")}, out=out / "ner", overwrite=True)
    ner_report = ner.evaluate(split="test", report_dir=out / "ner")
    n_sent = len(ner._task.splits()["test"]["tokens"])
    print(
        f"   test ({n_sent:,} sentences): entity F1 {ner_report['f1']:.4f} (seqeval default mode), {ner_report['f1_strict']:.4f} (strict)"
    )
    print("   " + ner_report["report"].split("\nseqeval, strict")[0].replace("\n", "\n   ").rstrip())
    print(f"   predict: {ner.predict('Angela Merkel visited Paris in July.')}")
    results["ner"] = {k: v for k, v in ner_report.items() if k not in ("report", "unseen_tags")}
    print(f"run folders: {out / 'lm'}, {out / 'sentiment'}, {out / 'ner'} (metrics.csv, curves.png, reports)")
    steps = f"{clf.history[-1]['step']} classifier steps, {ner.history[-1]['step']} tagger steps"
    print(f"took {time.perf_counter() - start:.0f} s ({steps})")
    return results
