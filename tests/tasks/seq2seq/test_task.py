"""The seq2seq task end to end on a tiny reversal corpus: train, evaluate (BLEU and chrF by
sacrebleu), generate --source, predict, pretrained encoder and decoder, resume."""

from __future__ import annotations

import json
import logging
import random

import pytest
import sacrebleu
import torch

from rnn_nlp.cli import main
from rnn_nlp.data.batching import pad_batch
from rnn_nlp.errors import ConfigError
from rnn_nlp.metrics import bleu_chrf, rouge
from rnn_nlp.nn.backbone import Backbone
from rnn_nlp.nn.heads.seq2seq import Seq2SeqHead, Seq2SeqNetwork
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.seq2seq import Seq2SeqTask
from tests.conftest import assert_ctrl_c_resume_matches, tiny_raw, with_sections

WORDS = "a b c d e f g h".split()


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    """source<TAB>target: the source's words reversed and upper-cased."""
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("pairs") / "reverse.tsv"
    lines = []
    for _ in range(400):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 5))]
        lines.append(" ".join(words) + "\t" + " ".join(w.upper() for w in reversed(words)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def raw(pairs_file, **sections) -> dict:
    cfg = {
        "task": "seq2seq",
        "data": {"name": str(pairs_file), "tokenizer": "whitespace", "max_source_tokens": 6, "max_target_tokens": 6},
        "backbone": {"rnn": "gru", "emb_size": 24, "hidden_size": 24, "layers": 1, "direction": "both"},
        "head": {
            "decoder": {"rnn": "gru", "emb_size": 24, "hidden_size": 24, "layers": 1},
            "attention": "additive",
            "attention_size": 16,
            "eval_decode_examples": 10,
            "max_decode_tokens": 10,
        },
        "trainer": {
            "epochs": 16,
            "batch_size": 16,
            "eval_batch_size": 32,
            "optimizer": "adam",
            "lr": 0.02,
            "schedule": "none",
            "progress": False,
            "device": "cpu",
            "checkpoint_every": 1000,
        },
    }
    return with_sections(cfg, sections)


@pytest.fixture(scope="module")
def trained(pairs_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    train_run(build_config(raw(pairs_file)), out)
    return out


def test_bleu_and_chrf_match_a_hand_checked_case():
    # one sentence, 5 of the reference's 6 words in order: every n-gram precision is 1 and the
    # brevity penalty is exp(1 - 6/5)
    scores = bleu_chrf(["a b c d e"], ["a b c d e f"])
    assert scores["bleu"] == pytest.approx(100 * 2.718281828 ** (1 - 6 / 5), abs=1e-3)
    assert bleu_chrf(["Y la tierra."], ["Y la tierra."])["chrf"] == pytest.approx(100.0)
    assert bleu_chrf(["Y LA TIERRA ESTABA VACÍA"], ["y la tierra estaba vacía"], lowercase=True)["bleu"] == pytest.approx(100.0)


def test_rouge_matches_a_hand_checked_case():
    scores = rouge(["the cat sat"], ["the cat sat down"])
    assert scores["rouge1"] == pytest.approx(100 * 2 * 1 * 0.75 / 1.75)  # P 3/3, R 3/4
    assert scores["rouge2"] == pytest.approx(100 * 2 * 1 * (2 / 3) / (1 + 2 / 3))  # P 2/2, R 2/3


@pytest.mark.slow
def test_trains_evaluates_with_sacrebleu_and_generates(trained, capsys):
    assert main(["evaluate", str(trained), "--split", "test", "--device", "cpu"]) == 0
    metrics = json.loads((trained / "eval-test.json").read_text(encoding="utf-8"))
    _, task, _ = load_run(trained)
    refs = task.records()["test"]["target"]
    hyps = (trained / "predictions-test.txt").read_text(encoding="utf-8").splitlines()
    assert len(hyps) == len(refs) == int(metrics["decoded"])
    assert metrics["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert metrics["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert metrics["bleu"] > 60  # reversal is learnable in a few epochs
    capsys.readouterr()
    assert main(["generate", str(trained), "--source", "a b c", "--device", "cpu"]) == 0
    # The reversal, first: a model this tiny may say its last word twice before <eos> (package versions
    # move its few-epoch numerics; BLEU above 60 is the measure of what it learned)
    assert capsys.readouterr().out.split()[:3] == ["C", "B", "A"]
    assert main(["evaluate", str(trained), "--split", "test", "--beam", "3", "--device", "cpu"]) == 0
    beam_metrics = json.loads((trained / "eval-test.json").read_text(encoding="utf-8"))
    assert beam_metrics["beam"] == 3 and beam_metrics["bleu"] > 60


def test_generate_many_sources_from_a_file_with_beam_and_samples(trained, tmp_path, capsys):
    sources = tmp_path / "sources.txt"
    sources.write_text("a b\nd e f\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["generate", str(trained), "--source-file", str(sources), "--beam", "4", "--num-samples", "2", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0] == "B A" and lines[2] == "F E D"
    assert main(["generate", str(trained), "--source", "a b", "--sample", "--num-samples", "3", "--seed", "1", "--device", "cpu"]) == 0
    first = capsys.readouterr().out
    assert main(["generate", str(trained), "--source", "a b", "--sample", "--num-samples", "3", "--seed", "1", "--device", "cpu"]) == 0
    assert capsys.readouterr().out == first and len(first.splitlines()) == 3
    assert main(["generate", str(trained), "--device", "cpu"]) == 2
    assert "give --source TEXT or --source-file FILE" in capsys.readouterr().err


def test_generate_bad_input_is_a_clear_error_or_a_warning(trained, tmp_path, capsys, caplog):
    """An empty --source, an LM-only flag, a NaN length penalty: one error line, exit 2. Unknown
    source words and empty lines of a source file still decode, with a warning naming them."""
    run = str(trained)
    for args, message in (
        (["--source", "  "], "--source is empty"),
        (["--source", "a b", "--no-stop-at-eos"], "--no-stop-at-eos is for language models"),
        (["--source", "a b", "--beam", "-1"], "beam width must be 0 (greedy) or positive"),
        (["--source", "a b", "--beam", "3", "--length-penalty", "nan"], "length_penalty must be a finite number"),
    ):
        capsys.readouterr()
        assert main(["generate", run, *args, "--device", "cpu"]) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, args
    sources = tmp_path / "sources.txt"
    sources.write_text("a zz b\n\nc\n", encoding="utf-8")
    capsys.readouterr()
    with caplog.at_level(logging.WARNING):
        assert main(["generate", run, "--source-file", str(sources), "--prompt", "QQ", "--device", "cpu"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3  # one output per line, the empty one too
    assert "source words not in the vocabulary, read as <unk>: zz" in caplog.text
    assert "1 empty source(s) (number 2)" in caplog.text
    assert "--prompt (target prefix) words not in the vocabulary, read as <unk>: QQ" in caplog.text


def test_long_sources_are_cut_with_a_warning(trained, caplog):
    _, task, model = load_run(trained)
    assert task.max_source_tokens() == 5  # the longest training source, below data.max_source_tokens=6
    with caplog.at_level(logging.WARNING):
        (out,) = task.translate(model, ["a b c d e f g h a b c"], torch.device("cpu"))
    assert "1 source(s) longer than 5 tokens" in caplog.text
    assert len(out[0].split()) <= 10


def test_predict_writes_json_lines(trained, tmp_path, capsys):
    texts = tmp_path / "in.txt"
    texts.write_text("a b c\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(trained), str(texts), "--device", "cpu"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert set(row) == {"source", "output"} and row["source"] == "a b c" and row["output"].split()[:3] == ["C", "B", "A"]


@pytest.mark.slow
def test_pretrained_encoder_and_decoder_language_models(pairs_file, tmp_path):
    """`pretrained` starts the encoder from a source-side LM, head.decoder_pretrained the decoder
    (and its output layer) from a target-side LM; rows are matched by token."""
    lines = pairs_file.read_text(encoding="utf-8").splitlines()
    for side, column in (("src", 0), ("tgt", 1)):
        folder = tmp_path / f"text-{side}"
        folder.mkdir()
        for split in ("train", "valid", "test"):
            (folder / f"{split}.txt").write_text("\n".join(line.split("\t")[column] for line in lines[:80]) + "\n", encoding="utf-8")
    lm = lambda folder, direction: tiny_raw(  # noqa: E731
        folder,
        backbone={"rnn": "gru", "emb_size": 24, "hidden_size": 24, "layers": 1, "direction": direction},
        head={"softmax": "full", "tie_weights": False},
        trainer={"epochs": 1},
    )
    train_run(build_config(lm(tmp_path / "text-src", "both")), tmp_path / "lm-src")
    train_run(build_config(lm(tmp_path / "text-tgt", "both")), tmp_path / "lm-tgt")  # its forward half starts the decoder
    cfg = raw(
        pairs_file,
        head={"decoder_pretrained": str(tmp_path / "lm-tgt"), "output": {"tie_weights": False}},
        trainer={"epochs": 1, "max_steps": 1, "lr": 1e-9},
    )
    cfg["pretrained"] = str(tmp_path / "lm-src")
    trainer = train_run(build_config(cfg), tmp_path / "s2s")
    _, lm_tgt_task, lm_tgt = load_run(tmp_path / "lm-tgt")
    _, lm_src_task, lm_src = load_run(tmp_path / "lm-src")
    model, task = trainer.model, trainer.task
    i, j = task.target_vocab().stoi["B"], lm_tgt_task.token_vocab().stoi["B"]
    torch.testing.assert_close(model.head.decoder.embedding.weight[i], lm_tgt.backbone.embedding.weight[j], atol=1e-6, rtol=0)
    torch.testing.assert_close(model.head.output.decoder.weight[i], lm_tgt.head.decoder.weight[j], atol=1e-6, rtol=0)
    fwd = dict(lm_tgt.backbone.stack("forward").named_parameters())
    for name, param in model.head.decoder.stack("forward").named_parameters():
        torch.testing.assert_close(param, fwd[name], atol=1e-6, rtol=0, msg=name)
    i, j = task.token_vocab().stoi["b"], lm_src_task.token_vocab().stoi["b"]
    torch.testing.assert_close(model.backbone.embedding.weight[i], lm_src.backbone.embedding.weight[j], atol=1e-6, rtol=0)


def test_decoder_pretrained_must_be_a_forward_language_model(pairs_file, tmp_path):
    """A backward LM (it predicts the previous word) or a non-LM run would leave the decoder's
    forward RNN random without a word said; both are refused before training."""
    text = tmp_path / "text"
    text.mkdir()
    targets = [line.split("\t")[1] for line in pairs_file.read_text(encoding="utf-8").splitlines()[:40]]
    for split in ("train", "valid", "test"):
        (text / f"{split}.txt").write_text("\n".join(targets) + "\n", encoding="utf-8")
    backward = tiny_raw(
        text,
        backbone={"rnn": "gru", "emb_size": 24, "hidden_size": 24, "layers": 1, "direction": "backward"},
        trainer={"epochs": 1, "max_steps": 1},
    )
    train_run(build_config(backward), tmp_path / "lm-bwd")
    cfg = raw(pairs_file, head={"decoder_pretrained": str(tmp_path / "lm-bwd")}, trainer={"epochs": 1, "max_steps": 1})
    with pytest.raises(ConfigError, match="is a backward language model"):
        train_run(build_config(cfg), tmp_path / "s2s")
    cfg = raw(pairs_file, head={"decoder_pretrained": str(tmp_path / "s2s-first")}, trainer={"epochs": 1, "max_steps": 1})
    train_run(build_config(raw(pairs_file, trainer={"epochs": 1, "max_steps": 1})), tmp_path / "s2s-first")
    with pytest.raises(ConfigError, match="is a 'seq2seq' run"):
        train_run(build_config(cfg), tmp_path / "s2s-second")


def test_shared_vocabulary_and_config_errors(pairs_file):
    cfg = build_config(raw(pairs_file, data={"shared_vocab": True}, head={"share_embeddings": True}))
    task = Seq2SeqTask(cfg)
    model = task.build_model()
    assert task.token_vocab() is task.target_vocab() and "A" in task.token_vocab() and "a" in task.token_vocab()
    assert model.head.decoder.embedding is model.backbone.embedding
    with pytest.raises(ConfigError, match="head.share_embeddings needs data.shared_vocab"):
        build_config(raw(pairs_file, head={"share_embeddings": True}))
    with pytest.raises(ConfigError, match="head.metrics: unknown bertscore"):
        build_config(raw(pairs_file, head={"metrics": ["bertscore"]}))
    with pytest.raises(ConfigError, match="unknown key 'head.atention'"):
        build_config(raw(pairs_file, head={"atention": "dot"}))


@pytest.mark.slow
def test_resume_mid_epoch_matches_an_uninterrupted_run(pairs_file, tmp_path, monkeypatch):
    """With dropout everywhere (encoder, decoder, attentional vector) and input feeding, so that the
    random state drawn after the resume point must be restored too, not only the weights."""
    drop = {"input_dropout": 0.2, "hidden_dropout": 0.2, "output_dropout": 0.2}
    cfg = build_config(
        raw(
            pairs_file,
            trainer={"epochs": 1, "checkpoint_every": 5},
            backbone={"layers": 2, **drop},
            head={
                "eval_decode_examples": 0,
                "dropout": 0.2,
                "input_feeding": True,
                "decoder": {"rnn": "lstm", "emb_size": 24, "hidden_size": 24, "layers": 2, **drop},
            },
        )
    )
    assert_ctrl_c_resume_matches(cfg, Seq2SeqTask, tmp_path, monkeypatch, stop_step=7)


@pytest.mark.parametrize("name", ["translate-bible", "headlines-bbc"])
def test_shipped_recipes_validate(name):
    from pathlib import Path

    from rnn_nlp.runs import load_config

    cfg = load_config(Path(__file__).resolve().parents[3] / "configs" / f"{name}.yaml")
    assert cfg.task == "seq2seq"
    # the recipe's architecture builds (attention widths, tying, adaptive cutoffs) and trains a step
    torch.manual_seed(0)
    encoder = Backbone(cfg.backbone, 5000, 0)
    model = Seq2SeqNetwork(encoder, Seq2SeqHead(encoder, 5000, cfg.head, 0))
    src, src_len = pad_batch([[5, 6, 7], [8, 9]])
    tgt_in, tgt_len = pad_batch([[2, 4, 5], [2, 6]])
    tgt_out, _ = pad_batch([[4, 5, 2], [6, 2]])
    out = model({"src": src, "src_lengths": src_len, "tgt_in": tgt_in, "tgt_out": tgt_out, "tgt_lengths": tgt_len})
    assert out["tokens"] == 5 and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert cfg.head.share_embeddings == (model.head.decoder.embedding is model.backbone.embedding)


def test_word_vectors_stay_with_the_encoder(pairs_file, tmp_path):
    """The decoder LM has no vectors: sharing the encoder's embedding (corrections to its vectors) with it,
    naming vectors for it, or starting it from an LM with vectors is refused with the reason."""
    shared = raw(pairs_file, data={"shared_vocab": True}, backbone={"vectors": "glove-6b-50d"}, head={"share_embeddings": True})
    with pytest.raises(ConfigError, match="share_embeddings would give the decoder"):
        build_config(shared)
    with pytest.raises(ConfigError, match="head.decoder.vectors"):
        build_config(raw(pairs_file, head={"decoder": {"vectors": "glove-6b-50d"}}))
    text = tmp_path / "text"
    text.mkdir()
    for split in ("train", "valid", "test"):
        (text / f"{split}.txt").write_text("the cat sees a dog .\na dog sees the cat .\n" * 10, encoding="utf-8")
    vectors = tmp_path / "v.txt"
    vectors.write_text("the 0.1 0.2\ncat 0.3 0.4\ndog 0.5 0.6\n", encoding="utf-8")
    lm = tiny_raw(
        text,
        backbone={"emb_size": 2, "hidden_size": 8, "layers": 1, "vectors": str(vectors)},
        head={"tie_weights": False},
        trainer={"epochs": 1, "max_steps": 1},
    )
    train_run(build_config(lm), tmp_path / "lm")
    cfg = raw(pairs_file, head={"decoder_pretrained": str(tmp_path / "lm")}, trainer={"epochs": 1, "max_steps": 1})
    with pytest.raises(ConfigError, match="adds word vectors"):
        train_run(build_config(cfg), tmp_path / "s2s")
