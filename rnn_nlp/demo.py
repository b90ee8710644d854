"""The main job on built-in defaults: pretrain a small LSTM LM on a PTB slice, report perplexity and a
greedy continuation, then fine-tune a sentiment classifier from that backbone on Rotten Tomatoes
reviews and report accuracy and macro-F1 beside a TF-IDF + logistic-regression baseline, and
fine-tune a named-entity tagger from it on a slice of CoNLL-2003, printing its seqeval report.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from rnn_nlp.runs import build_config
from rnn_nlp.data.fetch import fetch
from rnn_nlp.generate import generate_text
from rnn_nlp.runs import load_run, train_run
from rnn_nlp.tasks.lm import describe

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


def run_demo(out: Path) -> dict:
    start = time.perf_counter()
    cpu = torch.device("cpu")
    table = fetch("ptb")
    print(f"1. Pretraining an LSTM language model on Penn Treebank ({len(table['train']):,} sentences; the first 300k tokens)")
    train_run(build_config(LM_CONFIG, "built-in demo LM config"), out / "lm", overwrite=True)
    _, task, model = load_run(out / "lm", "cpu")
    results = {split: task.evaluate(model, split, cpu) for split in ("valid", "test")}
    for split, metrics in results.items():
        print(f"   {split}: {describe(metrics)}")
    for prompt in PROMPTS:
        text = generate_text(model, task.token_vocab(), task.tokenizer, prompt, max_tokens=15)
        print(f"   greedy: {prompt} | {text}")

    print("2. Fine-tuning a sentiment classifier (fresh / rotten) from that backbone on 4,000 Rotten Tomatoes reviews")
    cfg = build_config({**SENTIMENT_CONFIG, "pretrained": str(out / "lm")}, "built-in demo classifier config")
    trainer = train_run(cfg, out / "sentiment", overwrite=True)
    _, ctask, cmodel = load_run(out / "sentiment", "cpu")
    report = ctask.report(cmodel, "test", cpu, out / "sentiment")
    baseline = tfidf_baseline(ctask.records())
    n_test = len(ctask.records()["test"]["text"])
    print(f"   test ({n_test:,} reviews): accuracy {report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}")
    print(f"   TF-IDF + logistic regression on the same rows: accuracy {baseline['accuracy']:.4f}, macro-F1 {baseline['macro_f1']:.4f}")
    print("   " + report["report"].replace("\n", "\n   ").rstrip())
    results["sentiment"] = {k: v for k, v in report.items() if k != "report"}
    results["sentiment_tfidf"] = baseline

    print("3. Fine-tuning a named-entity tagger (BiLSTM-CRF head) from that backbone on 3,000 CoNLL-2003 sentences")
    ner_cfg = build_config({**NER_CONFIG, "pretrained": str(out / "lm")}, "built-in demo NER config")
    ner_trainer = train_run(ner_cfg, out / "ner", overwrite=True)
    _, ntask, nmodel = load_run(out / "ner", "cpu")
    ner_report = ntask.report(nmodel, "test", cpu, out / "ner")
    n_sent = len(ntask.splits()["test"]["tokens"])
    print(f"   test ({n_sent:,} sentences): entity F1 {ner_report['f1']:.4f} (seqeval default mode), {ner_report['f1_strict']:.4f} (strict)")
    print("   " + ner_report["report"].split("\nseqeval, strict")[0].replace("\n", "\n   ").rstrip())
    results["ner"] = {k: v for k, v in ner_report.items() if k not in ("report", "unseen_tags")}
    print(f"run folders: {out / 'lm'}, {out / 'sentiment'}, {out / 'ner'} (metrics.csv, curves.png, reports)")
    print(f"took {time.perf_counter() - start:.0f} s ({trainer.global_step} classifier steps, {ner_trainer.global_step} tagger steps)")
    return results
