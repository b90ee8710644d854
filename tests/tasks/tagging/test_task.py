"""NER and POS end to end on tiny corpora: training, seqeval/sklearn metrics, reports, predict, bad input."""

import json
import logging

import pytest
import torch
from seqeval.metrics import f1_score
from seqeval.scheme import IOB2, IOBES
from sklearn.metrics import accuracy_score

from rnn_nlp.cli import main
from rnn_nlp.data.tag_schemes import allowed_transitions
from rnn_nlp.errors import ConfigError, DataError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.training.trainer import seed_everything
from tests.conftest import assert_ctrl_c_resume_matches
from tests.tasks.tagging.data import tagging_raw, write_ner, write_pos

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def ner_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ner")
    data = write_ner(root / "data")
    trainer = train_run(build_config(tagging_raw("ner", data)), root / "run")
    return root, trainer


@pytest.mark.slow
def test_ner_learns_and_metrics_match_seqeval(ner_run):
    root, trainer = ner_run
    assert trainer.history[-1]["valid_f1"] >= 0.95
    _, task, model = load_run(root / "run")
    predictions = task.predict_split(model, "test", CPU)
    gold, pred = predictions.gold, predictions.pred
    metrics = task.evaluate(model, "test", CPU)
    assert metrics["f1"] == pytest.approx(f1_score(gold, pred))
    assert metrics["f1_strict"] == pytest.approx(f1_score(gold, pred, mode="strict", scheme=IOB2))
    assert task.tag_names()[0] == "O" and "S-PER" in task.tag_names()  # learned in BIOES
    assert all(t[:2] in ("O", "B-", "I-") for s in pred for t in s)  # evaluated in IOB2


def test_ner_evaluate_cli_prints_both_seqeval_modes(ner_run, capsys):
    root, _ = ner_run
    assert main(["evaluate", str(root / "run"), "--split", "test", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "default mode" in out and "strict mode" in out and "PER" in out
    saved = json.loads((root / "run" / "eval-test.json").read_text())
    assert {"f1", "f1_strict", "precision", "recall", "loss"} <= set(saved)
    columns = (root / "run" / "predictions-test.conll").read_text().split("\n")[0].split()
    assert len(columns) == 3


def test_predict_cli_json_lines_and_conll_columns(ner_run, tmp_path, capsys):
    root, _ = ner_run
    texts = tmp_path / "in.txt"
    texts.write_text("Mary visited Paris.\nAnn Lee joined Acme Corp\n", encoding="utf-8")
    assert main(["predict", str(root / "run"), str(texts), "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["tokens"] == ["Mary", "visited", "Paris", "."]  # spaCy's tokenizer split "Paris."
    assert {(e["text"], e["label"]) for e in rows[1]["entities"]} == {("Ann Lee", "PER"), ("Acme Corp", "ORG")}
    assert main(["predict", str(root / "run"), str(texts), "--format", "conll", "--device", "cpu"]) == 0
    blocks = capsys.readouterr().out.strip().split("\n\n")
    assert blocks[0].split("\n")[0] == "Mary\tB-PER" and len(blocks) == 2


def test_unseen_test_tags_are_reported_not_crashed_on(ner_run, tmp_path, caplog):
    root, _ = ner_run
    other = tmp_path / "other"
    other.mkdir()
    (other / "train.txt").write_text("Mary B-PER\n", encoding="utf-8")
    (other / "test.txt").write_text("Mary B-PER\nsaw O\nWimbledon B-EVENT\n\nRome B-LOC\n", encoding="utf-8")
    _, task, model = load_run(root / "run")
    task.use_data(str(other))
    with caplog.at_level(logging.WARNING):
        report = task.report(model, "test", CPU, tmp_path)
    assert report["unseen_tags"] == ["S-EVENT"]
    assert "EVENT" in report["report"] and "never seen in training" in caplog.text


def test_long_sentences_are_cut_and_put_back_together(ner_run, caplog):
    root, _ = ner_run
    _, task, model = load_run(root / "run")
    task.cfg.data.max_len = 4
    sentence = "John Smith visited Paris . Mary saw Rome .".split()
    with caplog.at_level(logging.WARNING):
        (tags,) = task.tag_tokens(model, [sentence], CPU)
    assert len(tags) == len(sentence) and "cut into pieces" in caplog.text


def _well_formed(path: list[str], scheme: str) -> bool:
    names = sorted(set(path) | {"O"})
    start, trans, end = allowed_transitions(names, scheme)
    ids = [names.index(t) for t in path]
    return bool(start[ids[0]] and end[ids[-1]] and all(trans[a, b] for a, b in zip(ids, ids[1:])))


def test_cut_sentences_keep_a_finite_loss_and_chunks_across_cuts(ner_run):
    root, _ = ner_run
    _, task, model = load_run(root / "run")
    pieces = task.pieces("test")
    n = len(task.splits()["test"]["tokens"])
    _, whole_loss, count, _ = task.decode_pieces(model, pieces, n, 32, CPU)
    assert count == n
    for max_len in (1, 2):
        task.cfg.data.max_len, task._pieces = max_len, {}
        cut = task.pieces("test")
        assert any(not p.first for p in cut) and any(not p.last for p in cut)
        paths, cut_loss, cut_count, _ = task.decode_pieces(model, cut, n, 32, CPU)
        assert cut_count == len(cut) > n
        # a few nats a piece (the pieces lose their context), not ~1e4 for each piece cut inside a chunk
        assert cut_loss / len(cut) < 5 and whole_loss / n < 5
        names = task.tag_names()
        assert all(_well_formed([names[i] for i in p], "bioes") for p in paths)
        # "Ann Lee" and "Acme Corp" cross the cuts and come back as single chunks
        (tags,) = task.tag_tokens(model, ["Ann Lee joined Acme Corp".split()], CPU)
        assert tags == ["B-PER", "I-PER", "O", "B-ORG", "I-ORG"]


def test_training_on_cut_sentences_keeps_the_loss_small(tmp_path):
    data = write_ner(tmp_path / "data", sizes=(40, 8, 8))
    raw = tagging_raw("ner", data, data={"max_len": 1}, trainer={"epochs": 1})
    trainer = train_run(build_config(raw), tmp_path / "run")
    assert trainer.history[-1]["train_loss"] < 50  # one-token pieces: a few nats each, not 1e4


def test_strict_f1_scores_the_raw_predictions(ner_run, monkeypatch):
    root, _ = ner_run
    _, task, model = load_run(root / "run")
    other = root / "strict"
    other.mkdir(exist_ok=True)
    (other / "train.txt").write_text("Ann B-PER\nLee I-PER\nsaw O\nRome B-LOC\n", encoding="utf-8")
    (other / "test.txt").write_text("Ann B-PER\nLee I-PER\nsaw O\nRome B-LOC\n\nMary B-PER\nran O\n\nBob B-PER\n", encoding="utf-8")
    task.use_data(str(other))
    names = task.tag_names()
    raw = [["B-PER", "E-PER", "O", "S-LOC"], ["B-PER", "O"], ["E-PER"]]  # 2 ill-formed: unclosed B-PER, E-PER alone
    monkeypatch.setattr(task, "decode_pieces", lambda *a, **k: ([[names.index(t) for t in s] for s in raw], 1.0, 1, []))
    metrics = task.evaluate(model, "test", CPU)
    gold_iob2 = [["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "O"], ["B-PER"]]
    gold_bioes = [["B-PER", "E-PER", "O", "S-LOC"], ["S-PER", "O"], ["S-PER"]]
    pred_iob2 = [["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "O"], ["B-PER"]]  # conlleval reads them leniently
    assert metrics["f1"] == pytest.approx(f1_score(gold_iob2, pred_iob2)) == pytest.approx(1.0)
    assert metrics["f1_strict"] == pytest.approx(f1_score(gold_bioes, raw, mode="strict", scheme=IOBES))
    assert metrics["f1_strict"] == pytest.approx(2 * 2 / (2 + 4))  # 2 of 2 predicted chunks right, 2 of 4 gold found


def test_metrics_depend_on_the_predictions_given_not_on_the_last_call(ner_run, monkeypatch):
    """Strict F1 comes from the TagPredictions object: scoring an older one after a newer split gives
    the older one's figures (no view kept on the task between calls)."""
    root, _ = ner_run
    _, task, model = load_run(root / "run")
    other = root / "strict-order"
    other.mkdir(exist_ok=True)
    (other / "train.txt").write_text("Ann B-PER\nLee I-PER\nsaw O\nRome B-LOC\n", encoding="utf-8")
    (other / "test.txt").write_text("Ann B-PER\nLee I-PER\nsaw O\nRome B-LOC\n\nMary B-PER\nran O\n", encoding="utf-8")
    (other / "valid.txt").write_text("Ann B-PER\nLee I-PER\nsaw O\nRome B-LOC\n\nMary B-PER\nran O\n", encoding="utf-8")
    task.use_data(str(other))
    names = task.tag_names()
    ill_formed = [["B-PER", "B-PER", "O", "S-LOC"], ["B-PER", "O"]]  # unclosed B-PERs: wrong in strict mode
    well_formed = [["B-PER", "E-PER", "O", "S-LOC"], ["S-PER", "O"]]
    decoded = iter([ill_formed, well_formed])
    monkeypatch.setattr(task, "decode_pieces", lambda *a, **k: ([[names.index(t) for t in s] for s in next(decoded)], 1.0, 1, []))
    first = task.predict_split(model, "test", CPU)
    second = task.predict_split(model, "valid", CPU)
    assert task.metrics(second)["f1_strict"] == pytest.approx(1.0)
    assert task.metrics(first)["f1_strict"] == pytest.approx(f1_score(first.strict_gold, ill_formed, mode="strict", scheme=IOBES))
    assert task.metrics(first)["f1_strict"] < 1.0
    assert task.metrics(second)["f1_strict"] == pytest.approx(1.0)  # the same whatever ran before


def test_all_sentences_dropped_gives_nan_loss_and_empty_split_names_the_corpus(ner_run, tmp_path, caplog):
    root, _ = ner_run
    _, task, model = load_run(root / "run")
    other = tmp_path / "unseen"
    other.mkdir()
    (other / "train.txt").write_text("Mary B-PER\n", encoding="utf-8")
    (other / "test.txt").write_text("Wimbledon B-EVENT\n\nWembley B-VENUE\nnow O\n", encoding="utf-8")
    task.use_data(str(other))
    with caplog.at_level(logging.WARNING):
        metrics = task.evaluate(model, "test", CPU)
    assert metrics["loss"] != metrics["loss"]  # NaN, not 0
    assert "all 2 sentences hold a tag never seen in training" in caplog.text
    only_train = tmp_path / "only_train"
    only_train.mkdir()
    (only_train / "train.txt").write_text("Mary B-PER\n", encoding="utf-8")
    task.use_data(str(only_train))
    with pytest.raises(DataError, match="only_train.*no sentences in the test split.*--split train") as err:
        task.evaluate(model, "test", CPU)
    assert task.cfg.data.name not in str(err.value)


@pytest.mark.slow
def test_pos_accuracy_matches_sklearn_and_writes_a_confusion_matrix(tmp_path):
    data = write_pos(tmp_path / "data")
    raw = tagging_raw("pos", data, head={"decoder": "softmax", "char_features": "bilstm"}, trainer={"epochs": 3})
    trainer = train_run(build_config(raw), tmp_path / "run")
    assert trainer.history[-1]["valid_accuracy"] >= 0.95
    _, task, model = load_run(tmp_path / "run")
    predictions = task.predict_split(model, "test", CPU)
    gold, pred = predictions.gold, predictions.pred
    report = task.report(model, "test", CPU, tmp_path / "run")
    assert report["accuracy"] == pytest.approx(accuracy_score([t for s in gold for t in s], [t for s in pred for t in s]))
    assert "NOUN" in report["report"] and "macro avg" in report["report"]
    assert (tmp_path / "run" / "confusion-test.png").read_bytes()[:4] == b"\x89PNG"


def test_empty_sentences_are_skipped_with_a_count(tmp_path, monkeypatch, caplog):
    fake = {
        "train": {"tokens": [["a", "dog"], [], ["the", "cat"]], "tags": [["DET", "NOUN"], [], ["DET", "NOUN"]]},
        "valid": {"tokens": [["a", "cat"]], "tags": [["DET", "NOUN"]]},
        "test": {"tokens": [["a", "cat"]], "tags": [["DET", "NOUN"]]},
    }
    monkeypatch.setattr("rnn_nlp.tasks.tagging.task.load_tagged_corpus", lambda *a, **k: {s: dict(v) for s, v in fake.items()})
    cfg = build_config(tagging_raw("pos", tmp_path / "x", trainer={"epochs": 1}))
    from rnn_nlp.tasks.tagging import PosTask

    with caplog.at_level(logging.WARNING):
        task = PosTask(cfg)
        assert len(task.splits()["train"]["tokens"]) == 2
    assert "skipped 1 empty sentences" in caplog.text


def test_frozen_backbone_stays_as_it_was(tmp_path):
    data = write_pos(tmp_path / "data", sizes=(60, 10, 10))
    raw = tagging_raw("pos", data, head={"freeze_backbone": True}, trainer={"epochs": 1})
    cfg = build_config(raw)
    trainer = train_run(cfg, tmp_path / "run")
    assert all(not p.requires_grad for p in trainer.model.backbone.parameters())
    seed_everything(cfg.trainer.seed)
    fresh = get_task("pos")(cfg).build_model()  # the same seed builds the same starting weights
    for name, value in fresh.backbone.state_dict().items():
        assert torch.equal(value, trainer.model.backbone.state_dict()[name]), name
    assert not torch.equal(fresh.head.scorer.weight, trainer.model.head.scorer.weight)
    with pytest.raises(ConfigError, match="contradict"):
        build_config(tagging_raw("pos", data, head={"freeze_backbone": True}, trainer={"gradual_unfreezing": True}))


@pytest.mark.slow
def test_pretrained_backbone_and_pretraining_on_the_task_text(tmp_path, caplog):
    data = write_ner(tmp_path / "data", sizes=(120, 20, 20))
    corpus = tmp_path / "extra"
    corpus.mkdir()
    (corpus / "train.txt").write_text("john smith visited paris .\n" * 50, encoding="utf-8")
    backbone = {"emb_size": 16, "hidden_size": 16, "layers": 1, "direction": "both"}
    raw = tagging_raw(
        "ner",
        data,
        backbone=backbone,
        data={"lowercase": True, "pretrain_epochs": 1, "pretrain_corpora": [str(corpus)]},
        trainer={"epochs": 2, "gradual_unfreezing": True, "discriminative_lr": 2.6},
    )
    with caplog.at_level(logging.INFO):
        trainer = train_run(build_config(raw), tmp_path / "run")
    assert (tmp_path / "run" / "lm-pretrained" / "FINISHED").exists()
    text = (tmp_path / "run" / "lm-pretrain-text" / "train.txt").read_text()
    assert "john smith visited paris ." in text and "mary" in text  # the task's text, lower-cased, and the corpus
    assert trainer.cfg.pretrained is None and [s.name for s in trainer.cfg.stages] == ["lm_pretrain", "task"]
    assert "pretrained embeddings" in caplog.text and f"words found in {tmp_path / 'run' / 'lm-pretrained'}" in caplog.text
    assert len(trainer.optimizer.param_groups) == 3  # embeddings, the LSTM layer, the head
    lrs = [g["lr"] for g in trainer.optimizer.param_groups]
    assert lrs[0] < lrs[1] < lrs[2]


def test_ner_refuses_plain_tags(tmp_path):
    data = write_pos(tmp_path / "data", sizes=(20, 5, 5))
    with pytest.raises(ConfigError, match="task pos"):
        train_run(build_config(tagging_raw("ner", data)), tmp_path / "run")


@pytest.mark.slow
def test_resume_mid_epoch_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    from rnn_nlp.tasks.tagging import NerTask

    data = write_ner(tmp_path / "data", sizes=(80, 10, 10))
    cfg = build_config(tagging_raw("ner", data, head={"dropout": 0.2, "word_dropout": 0.1}, trainer={"epochs": 2}))
    assert_ctrl_c_resume_matches(cfg, NerTask, tmp_path, monkeypatch, stop_step=3)


def test_bad_tagging_config_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match="data.separator"):
        build_config(tagging_raw("pos", tmp_path, data={"separator": " "}))
    with pytest.raises(ConfigError, match="head.decoder"):
        build_config(tagging_raw("ner", tmp_path, head={"decoder": "hmm"}))


@pytest.mark.parametrize(
    "recipe,task", [("configs/ner-conll03.yaml", "ner"), ("configs/ner-conll03-base.yaml", "ner"), ("configs/pos-brown.yaml", "pos")]
)
def test_shipped_tagging_recipes_are_valid(recipe, task):
    from pathlib import Path

    from rnn_nlp.runs import load_config

    cfg = load_config(Path(__file__).resolve().parents[3] / recipe)
    assert cfg.task == task and cfg.trainer.threads == 1 and cfg.trainer.time_budget_s


def test_train_with_dev_trains_on_the_valid_sentences_in_their_own_documents(tmp_path):
    data = write_ner(tmp_path / "data", sizes=(30, 10, 10), document_size=4)
    task = get_task("ner")(build_config(tagging_raw("ner", data, data={"train_with_dev": True, "context": 3})))
    train = task.splits()["train"]
    assert len(train["tokens"]) == 40 and train["tokens"][30:] == task.splits()["valid"]["tokens"]
    assert not set(train["document"][:30]) & set(train["document"][30:])  # valid's documents stay apart from train's
    assert task.pieces("train")[30].left == 0  # valid's first sentence reads nothing of train's last document
    valid_words = {w for s in task.splits()["valid"]["tokens"] for w in s}
    assert valid_words <= set(task.token_vocab().itos)  # the vocabulary is built from train + valid
    lm, _ = task.lm_text()  # an LM stage still trains on train alone: valid stays its held-out text
    assert len(lm["train"]) == 30 and len(lm["valid"]) == 10
    assert not task.valid_held_out
    with pytest.raises(ConfigError, match="trainer.early_stopping_patience .* data.train_with_dev trains on valid too"):
        build_config(tagging_raw("ner", data, data={"train_with_dev": True}, trainer={"early_stopping_patience": 2}))
