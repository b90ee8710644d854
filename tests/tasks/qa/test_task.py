"""QA end to end on tiny synthetic SQuAD files: training lowers the loss, evaluate gives accuracy/EM/F1,
predict writes answers with offsets, encode writes vectors; bad input is a clear error."""

import io
import json
import random

import numpy as np
import pytest
import torch

import rnn_nlp
from rnn_nlp.cli import main
from rnn_nlp.encode import encode_texts, most_similar
from rnn_nlp.errors import DataError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.qa.data import make_batch, window_examples
from tests.conftest import with_sections

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "gina", "hugo"]
FACTS = [("owns", "car"), ("paints", "fence"), ("sells", "boat"), ("feeds", "cat"), ("cleans", "house"), ("reads", "book")]


def cloze_record(rng, rid, unanswerable=False, candidates=True):
    names = rng.sample(NAMES, 4)
    facts = rng.sample(FACTS, 4)
    lines = [f"{n} {v} the {o} ." for n, (v, o) in zip(names, facts)]
    context = " ".join(lines)
    k = rng.randrange(4)
    verb, obj = facts[k]
    if unanswerable:
        verb, obj = next(f for f in FACTS if f not in facts)
        return {"id": rid, "question": f"who {verb} the {obj} ?", "answers": [], "is_impossible": True}, context
    start = context.index(lines[k])
    q = {"id": rid, "question": f"@placeholder {verb} the {obj} .", "answers": [{"text": names[k], "answer_start": start}]}
    if candidates:
        q["candidates"] = sorted(names, key=context.index)
    return q, context


def write_squad(path, n, seed, **kw):
    rng = random.Random(seed)
    data = []
    for a in range(n):
        q, context = cloze_record(
            rng,
            f"q{seed}-{a}",
            **({"unanswerable": a % 3 == 0, "candidates": False} if kw.get("v2") else {"candidates": kw.get("candidates", True)}),
        )
        data.append({"title": f"t{a}", "paragraphs": [{"context": context, "qas": [q]}]})
    path.write_text(json.dumps({"version": "v2.0" if kw.get("v2") else "v1.1", "data": data}), encoding="utf-8")
    return path


@pytest.fixture
def cloze_dir(tmp_path):
    folder = tmp_path / "cloze"
    folder.mkdir()
    write_squad(folder / "train-v1.1.json", 240, 0)
    write_squad(folder / "dev-v1.1.json", 40, 1)
    return folder


def qa_raw(source, **sections):
    raw = {
        "task": "qa",
        "data": {"name": str(source), "tokenizer": "whitespace", "min_count": 1, "max_context_tokens": 14, "context_stride": 7},
        "backbone": {"emb_size": 16, "hidden_size": 16, "layers": 1, "direction": "both"},
        "head": {"question_pooling": ["mean"], "dropout": 0.0, "context_size": 16, "candidate_score": "max"},
        "trainer": {
            "epochs": 6,
            "batch_size": 16,
            "eval_batch_size": 32,
            "optimizer": "adam",
            "lr": 0.01,
            "schedule": "none",
            "progress": False,
            "device": "cpu",
            "checkpoint_every": 1000,
        },
    }
    return with_sections(raw, sections)


@pytest.mark.slow
def test_cloze_trains_evaluates_predicts_and_encodes(tmp_path, cloze_dir, capsys, monkeypatch):
    trainer = train_run(build_config(qa_raw(cloze_dir)), tmp_path / "run")
    history = trainer.history
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert history[-1]["valid_accuracy"] >= 0.6  # chance is 0.25
    assert history[-1]["valid_accuracy"] == pytest.approx(history[-1]["valid_exact_match"])

    assert main(["evaluate", str(tmp_path / "run"), "--split", "test", "--device", "cpu"]) == 0
    metrics = json.loads((tmp_path / "run" / "eval-test.json").read_text())
    assert {"accuracy", "exact_match", "f1", "loss"} <= set(metrics)
    predictions = json.loads((tmp_path / "run" / "predictions-test.json").read_text())
    assert len(predictions) == 40 and set(predictions.values()) <= set(NAMES)

    rng = random.Random(5)
    q, context = cloze_record(rng, "p")
    rows = [
        {"question": q["question"], "context": context, "candidates": q["candidates"]},
        {"question": "who owns the car ?", "context": context},
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(inp), "--device", "cpu"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["answer"] in q["candidates"]
    for row in out:
        assert context[row["start"] : row["end"]] == row["answer"] and isinstance(row["score"], float)
    # blank lines are skipped from stdin as from files; an explicit "id": null is no error (the id is optional)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n" + json.dumps({"id": None, **rows[1]}) + "\n\n"))
    assert main(["predict", str(tmp_path / "run"), "-", "--device", "cpu"]) == 0
    assert [json.loads(line)["answer"] for line in capsys.readouterr().out.splitlines()] == [out[1]["answer"]]

    vectors = encode_texts(tmp_path / "run", ["@placeholder owns the car .", "@placeholder owns the car .", "bob reads the book ."])
    _, _, model = load_run(tmp_path / "run")
    assert vectors.shape == (3, model.head.question.output_dim) and vectors.dtype == np.float32
    assert most_similar(vectors[:1], vectors, k=2)[0][0][1] == pytest.approx(1.0, abs=1e-5)
    texts = tmp_path / "texts.txt"
    texts.write_text("who owns the car ?\nbob sells the boat .\n", encoding="utf-8")
    assert main(["encode", str(tmp_path / "run"), str(texts), "--out", str(tmp_path / "v.npy"), "--device", "cpu"]) == 0
    saved = np.load(tmp_path / "v.npy")
    assert saved.shape == (2, vectors.shape[1])
    np.testing.assert_allclose(saved[0], encode_texts(tmp_path / "run", ["who owns the car ?"])[0], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_squad_v2_no_answer_and_spans(tmp_path):
    folder = tmp_path / "v2"
    folder.mkdir()
    write_squad(folder / "train-v2.0.json", 150, 0, v2=True)
    write_squad(folder / "dev-v2.0.json", 30, 1, v2=True)
    cfg = build_config(qa_raw(folder, trainer={"epochs": 2}))
    trainer = train_run(cfg, tmp_path / "run")
    last = trainer.history[-1]
    assert {"valid_exact_match", "valid_f1", "valid_has_answer_f1", "valid_no_answer_accuracy"} <= set(last)
    assert "valid_accuracy" not in last  # no candidates: not a cloze set
    _, task, model = load_run(tmp_path / "run")
    assert task.no_answer() and model.head.no_answer
    answers, _ = task.predict_split(model, "valid", torch.device("cpu"))
    contexts = task.records()["valid"]["context"]
    for a, c in zip(answers, contexts):
        assert (a["text"] == "" and a["start"] is None) or c[a["start"] : a["end"]] == a["text"]


@pytest.mark.slow
def test_encode_from_a_language_model_run(tmp_path, corpus, monkeypatch, capsys):
    import io

    from tests.conftest import tiny_raw

    train_run(build_config(tiny_raw(corpus, trainer={"epochs": 1})), tmp_path / "lm")
    vectors = encode_texts(tmp_path / "lm", ["the cat sees the ball .", "a dog likes a house ."], pooling=["last", "mean"])
    assert vectors.shape == (2, 2 * 16)
    monkeypatch.setattr("sys.stdin", io.StringIO("the cat sees the ball .\n\na dog .\n"))
    assert main(["encode", str(tmp_path / "lm"), "-", "--pooling", "mean", "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # every line, the blank one too (read as one <unk>): row i is input line i
    assert [r["text"] for r in rows] == ["the cat sees the ball .", "", "a dog ."] and len(rows[0]["vector"]) == 16
    monkeypatch.setattr("sys.stdin", io.StringIO("the cat\n"))
    assert main(["encode", str(tmp_path / "lm"), "-", "--pooling", "attention", "--device", "cpu"]) == 2  # no trained attention
    assert "attention" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("qa-tiny")
    (folder / "cloze").mkdir()
    write_squad(folder / "cloze" / "train-v1.1.json", 20, 0)
    write_squad(folder / "cloze" / "dev-v1.1.json", 5, 1)
    train_run(build_config(qa_raw(folder / "cloze", trainer={"epochs": 1})), folder / "run")
    return folder / "run"


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"question": "", "context": "a b c"}', "line 1: empty question"),
        ('{"question": "who ?", "context": "   "}', "line 1: empty context"),
        ('{"question": "who ?"}', "line 1: missing field 'context'"),
        ("not json", "input line 1: invalid JSON"),
        ('["who ?", "a b"]', "input line 1: expected a JSON object, got list"),
        ('{"question": "who ?", "context": "a b"}\n{"question": "who ?", "context": 5}', "line 2: 'context' must be a string"),
        ('{"question": "who ?", "context": "alice owns the car .", "candidates": ["zed", "bo"]}', "line 1: none of its candidates occurs"),
    ],
)
def test_predict_bad_lines(tmp_path, tiny_run, capsys, line, message):
    inp = tmp_path / "bad.jsonl"
    inp.write_text(line + "\n", encoding="utf-8")
    assert main(["predict", str(tiny_run), str(inp), "--device", "cpu"]) == 2
    assert message in capsys.readouterr().err


def test_long_passages_are_read_in_windows(tmp_path, cloze_dir):
    from rnn_nlp.tasks.qa import QATask

    task = QATask(build_config(qa_raw(cloze_dir)))
    prep = task.prepared("train")[0]
    windows = [e for e in task.examples("valid") if e.record == 0]
    assert len(prep.c_ids) == 20 and [e.offset for e in windows] == [0, 7]
    assert all(len(e.c_ids) <= 14 for e in windows)


def test_bad_config_names_the_key(cloze_dir):
    from rnn_nlp.errors import ConfigError

    with pytest.raises(ConfigError, match="data.context_stride"):
        build_config(qa_raw(cloze_dir, data={"context_stride": 50}))
    with pytest.raises(ConfigError, match="head.question_pooling"):
        build_config(qa_raw(cloze_dir, head={"question_pooling": ["sum"]}))
    with pytest.raises(DataError, match="no such file"):
        from rnn_nlp.tasks.qa import QATask

        QATask(build_config(qa_raw("./missing.json"))).records()


@pytest.mark.slow
def test_backbone_pretrained_on_the_training_passages(tmp_path, cloze_dir):
    """data.pretrain_epochs (the shorthand of an lm_pretrain stage): an LM on the passages' sentences first, then the reader from it."""
    from rnn_nlp.training import checkpoint as ckpt

    raw = qa_raw(cloze_dir, data={"max_train_examples": 60, "pretrain_epochs": 1}, trainer={"epochs": 1})
    cfg = build_config(raw)
    train_run(cfg, tmp_path / "run")
    lm = tmp_path / "run" / "lm-pretrained"
    assert (lm / "FINISHED").exists() and cfg.pretrained is None and [s.name for s in cfg.stages] == ["lm_pretrain", "task"]
    lm_text = (tmp_path / "run" / "lm-pretrain-text" / "train.txt").read_text().splitlines()
    assert "alice owns the car ." in lm_text or any(line.endswith(" .") for line in lm_text)
    assert "@placeholder" not in " ".join(lm_text)  # passages only, not questions
    lm_emb = ckpt.load_weights(lm)["backbone.embedding.weight"]
    assert lm_emb.shape[1] == 16


@pytest.mark.slow
def test_resume_mid_epoch_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    """Ctrl-C in the first epoch, then --resume: the same weights as a run never stopped (dropout on)."""
    from rnn_nlp.tasks.qa import QATask
    from tests.conftest import assert_ctrl_c_resume_matches

    (tmp_path / "c").mkdir()
    write_squad(tmp_path / "c" / "train-v1.1.json", 60, 0)
    write_squad(tmp_path / "c" / "dev-v1.1.json", 5, 1)
    cfg = build_config(qa_raw(tmp_path / "c", trainer={"epochs": 2}, head={"dropout": 0.2}))
    assert_ctrl_c_resume_matches(cfg, QATask, tmp_path, monkeypatch, stop_step=2)


class PeakAt(torch.nn.Module):
    """A stand-in reader: start and end logits 10 on one token id, 0 elsewhere, `null` in column 0."""

    def __init__(self, token_id, null):
        super().__init__()
        self.token_id, self.null, self.w = token_id, null, torch.nn.Parameter(torch.zeros(1))

    def forward(self, batch):
        ids, lengths = batch["c_ids"], batch["c_lengths"]
        real = torch.arange(ids.size(1))[None] < lengths[:, None]
        scores = ((ids == self.token_id).float() * 10).masked_fill(~real, float("-inf"))
        logits = torch.cat([torch.full((ids.size(0), 1), self.null), scores], 1)
        return {"start_logits": logits, "end_logits": logits.clone(), "loss_per_row": torch.zeros(ids.size(0))}


def test_answers_from_later_windows_map_back_to_passage_offsets_and_no_answer_competes(tiny_run):
    """40 tokens read in windows of 14 every 7: the answer token sits in the fifth window only; its
    character offsets are the passage's. With a no-answer option, a null score above the span's wins."""
    _, task, _ = load_run(tiny_run)
    words = [f"w{i}" for i in range(40)]
    words[31] = "car"
    context = " ".join(words)
    prep = task.prepare("who ?", context, {"text": [], "answer_start": []}, [])
    car = task.token_vocab().encode(["car"])[0]
    cpu = torch.device("cpu")
    (found,), _ = task.answer(PeakAt(car, float("-inf")), [prep], [context], [[]], cpu)
    assert (found["text"], found["start"], found["end"], found["score"]) == (
        "car",
        context.index(" car ") + 1,
        context.index(" car ") + 4,
        20.0,
    )
    task._no_answer = True
    (none,), _ = task.answer(PeakAt(car, 25.0), [prep], [context], [[]], cpu)  # null 25 + 25 = 50 > 20
    assert none == {"text": "", "start": None, "end": None, "score": 50.0}
    (kept,), _ = task.answer(PeakAt(car, 5.0), [prep], [context], [[]], cpu)
    assert kept["text"] == "car"


def test_predict_on_hostile_json_lines_gives_answers_or_a_data_error(tiny_run):
    """Random objects, values of any JSON type, control characters, huge and empty fields: each line
    either gets an answer whose offsets index its context, or the whole input is a DataError."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from rnn_nlp.errors import RnnNlpError
    from tests.data.test_hostile_input import hostile_text, json_value

    reader = rnn_nlp.load(tiny_run, "cpu")
    field = st.one_of(hostile_text, json_value, st.sampled_from(["alice owns the car .", "who ?", " ", "alice " * 500]))
    row = st.fixed_dictionaries(
        {}, optional={"question": field, "context": field, "candidates": st.one_of(field, st.lists(field, max_size=3)), "id": field}
    )
    text = st.one_of(
        st.sampled_from(["alice owns the car .", "who ?", "@placeholder owns the car .", "alice " * 500]), hostile_text.filter(str.strip)
    )
    plausible = st.fixed_dictionaries(
        {"question": text, "context": text},
        optional={"candidates": st.lists(st.sampled_from(["alice", "car", "zed", "Alice"]) | text, max_size=3)},
    )
    line = st.one_of(plausible.map(json.dumps), plausible.map(json.dumps), row.map(json.dumps), hostile_text)

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(lines=st.lists(line, min_size=1, max_size=3))
    def check(lines):
        try:
            inputs = [reader.read_input(x, f"input line {n}") for n, x in enumerate(lines, start=1) if x.strip()]
            rows = [a.to_dict() for a in reader.predict(inputs)]
        except RnnNlpError:
            return
        inputs = [json.loads(x) for x in lines if x.strip()]
        assert len(rows) == len(inputs)
        for r, x in zip(rows, inputs):
            if r["start"] is None:
                assert r["answer"] == ""
            elif x.get("candidates"):
                assert r["answer"] in x["candidates"]
            else:
                assert x["context"][r["start"] : r["end"]] == r["answer"]

    check()


@pytest.mark.slow
def test_token_features_follow_the_windows_and_a_run_trains_and_predicts(tmp_path, cloze_dir):
    """head.token_features: computed over the whole passage, cut with each window, batched as c_feats, saved with the run."""
    from rnn_nlp.nn.heads.reader_features import FEATURES
    from rnn_nlp.tasks.qa import QATask

    cfg = build_config(qa_raw(cloze_dir, head={"token_features": True}, trainer={"epochs": 1}))
    task = QATask(cfg)
    prep = task.prepared("valid")[0]
    assert len(prep.feats) == len(prep.words) and len(prep.feats[0]) == len(FEATURES)
    # stored as float32 [T, F] (Python lists of floats took ~8x the memory), each window a view of the passage's
    assert isinstance(prep.feats, torch.Tensor) and prep.feats.dtype == torch.float32
    for e in [e for e in task.examples("valid") if e.record == 0]:
        assert torch.equal(e.feats, prep.feats[e.offset : e.offset + 14])
        assert e.feats.untyped_storage().data_ptr() == prep.feats.untyped_storage().data_ptr()
    _, batch = next(task.batches(task.examples("valid")[:3], 3, None, torch.device("cpu")))
    assert batch["c_feats"].shape == (*batch["c_ids"].shape, len(FEATURES))
    history = train_run(cfg, tmp_path / "run").history
    _, task, model = load_run(tmp_path / "run")
    assert model.head.feature_bias is not None
    best = max(history, key=lambda r: r["valid_f1"])  # the saved weights: features recomputed on load, same scores
    again = task.evaluate(model, "valid", torch.device("cpu"))
    assert again["accuracy"] == pytest.approx(best["valid_accuracy"]) and again["loss"] == pytest.approx(
        best["valid_loss"], rel=1e-4, abs=1e-6
    )
    line = json.dumps(
        {"question": "@placeholder owns the car .", "context": "bob owns the car . erin reads the book .", "candidates": ["bob", "erin"]}
    )
    assert rnn_nlp.load(tmp_path / "run", "cpu").predict(json.loads(line)).answer in ("bob", "erin")


def test_the_shipped_cloze_recipe_loads_with_token_features():
    from pathlib import Path

    from rnn_nlp.runs import load_config

    cfg = load_config(Path(__file__).resolve().parents[3] / "configs" / "qa-cloze.yaml")
    assert cfg.task == "qa" and cfg.head.token_features and cfg.head.feature_bias and cfg.head.feature_window == 5


def test_a_reader_reads_the_vectors_of_words_outside_its_vocabulary(tmp_path, cloze_dir):
    rng = np.random.default_rng(0)
    words = [*NAMES, "zed"]  # "zed" never occurs in the training data
    vectors = tmp_path / "vectors.txt"
    vectors.write_text("".join(w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=8)) + "\n" for w in words), encoding="utf-8")
    trainer = train_run(build_config(qa_raw(cloze_dir, backbone={"vectors": str(vectors)}, trainer={"epochs": 2})), tmp_path / "run")
    assert trainer.history[-1]["train_loss"] < trainer.history[0]["train_loss"]
    _, task, model = load_run(tmp_path / "run")
    context = "zed owns the car . alice paints the fence ."
    prep = task.prepare("@placeholder owns the car .", context, {"text": ["zed"], "answer_start": [0]}, ["zed", "alice"])
    unk = task.token_vocab().unk_id
    assert prep.c_ids[0] == unk and prep.c_rows[0] == words.index("zed")  # outside the vocabulary, inside the vectors
    assert prep.c_rows[1] == -1 and prep.c_rows[5] == words.index("alice")  # "owns" has no vector
    assert prep.q_rows == [-1, -1, -1, -1, -1]
    examples = window_examples(0, prep, 14, 7)
    batch = make_batch(examples, task.token_vocab().pad_id, torch.device("cpu"), with_gold=True, no_answer=False)
    assert batch["c_vector_rows"].shape == batch["c_ids"].shape and batch["q_vector_rows"].shape == batch["q_ids"].shape
    model.eval()
    with torch.no_grad():
        with_rows = model(batch)["start_logits"]
        without = model({k: v for k, v in batch.items() if not k.endswith("vector_rows")})["start_logits"]
    assert not torch.allclose(with_rows, without)  # "zed" reads its vector, not plain <unk>


def test_candidate_probabilities_rank_as_the_answers_and_an_ensemble_averages_them(tiny_run):
    from rnn_nlp.data.cloze import normalize_entity
    from rnn_nlp.tasks.qa.task import ensemble_candidates

    _, task, model = load_run(tiny_run)
    split = "valid"
    rec = task.records()[split]
    probs = task.candidate_probabilities(model, split, torch.device("cpu"))
    answers, _ = task.predict_split(model, split, torch.device("cpu"))
    assert [len(p) for p in probs] == [len(c) for c in rec["candidates"]]
    for p, cands, answer in zip(probs, rec["candidates"], answers, strict=True):
        assert float(p.sum()) == pytest.approx(1.0, abs=1e-5) and bool((p >= 0).all())
        # the passages are read in several windows; the most probable candidate is the one `answer` gives
        assert normalize_entity(cands[int(p.argmax())]) == normalize_entity(answer["text"])
    picks = [int(p.argmax()) for p in probs]
    assert ensemble_candidates([probs, probs]) == picks
    # a second member sure of candidate 0 everywhere outweighs a less sure first member
    sure = [torch.nn.functional.one_hot(torch.tensor(0), len(p)).float() for p in probs]
    assert ensemble_candidates([probs, sure]) == [0] * len(probs)  # candidate 0 gets at least half of every mean
    # a record where no member found a candidate in the passage (or that has none) gets no answer, as `answer` gives ""
    assert ensemble_candidates([[torch.zeros(3), torch.zeros(0), torch.tensor([0.2, 0.8])]] * 2) == [-1, -1, 1]
    with pytest.raises(ValueError, match="same records"):
        ensemble_candidates([probs, probs[1:]])
    with pytest.raises(ValueError, match="at least one"):
        ensemble_candidates([])
