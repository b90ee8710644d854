"""Property tests: config overrides and mappings, the `rnn-nlp` command line and the prediction API
fed random and hostile input. Only the library's errors (RnnNlpError) may come out (the CLI turns
them into exit code 2; argparse exits 2 on malformed options), and saved runs are never touched.
"""

import hashlib
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnn_nlp
from rnn_nlp.cli import main
from rnn_nlp.config import RunConfig
from rnn_nlp.errors import RnnNlpError
from rnn_nlp.runs import build_config, load_config, train_run
from tests.conftest import tiny_raw, write_corpus
from tests.data.test_hostile_input import hostile_bytes, hostile_text, json_value
from tests.tasks.classification.test_task import classify_raw, write_sentiment

SOME = settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))

KEYS = [
    "task",
    "pretrained",
    "data.name",
    "data.tokenizer",
    "data.vocab_size",
    "data.min_count",
    "data.max_train_tokens",
    "backbone.rnn",
    "backbone.emb_size",
    "backbone.hidden_size",
    "backbone.layers",
    "backbone.top_size",
    "backbone.direction",
    "backbone.input_dropout",
    "backbone.weight_drop",
    "backbone.init_range",
    "head.softmax",
    "head.cutoffs",
    "head.div_value",
    "head.tie_weights",
    "trainer.epochs",
    "trainer.max_steps",
    "trainer.time_budget_s",
    "trainer.batch_size",
    "trainer.bptt",
    "trainer.lr",
    "trainer.min_lr",
    "trainer.momentum",
    "trainer.weight_decay",
    "trainer.clip_norm",
    "trainer.seed",
    "trainer.threads",
    "trainer.schedule",
    "trainer.plateau_factor",
    "trainer.warmup_frac",
    "trainer.on_nonfinite",
    "trainer.rollback_lr_factor",
    "trainer.max_rollbacks",
    "trainer.checkpoint_every",
    "trainer",
    "backbone",
    "nope",
    "trainer.nope",
    "a.b.c",
    "",
    ".",
    "trainer.",
]
NUMBERS = [
    "0",
    "-1",
    "1",
    "3",
    "0.5",
    "-0.0",
    "1e400",
    "-1e400",
    ".nan",
    ".inf",
    "-.inf",
    "1e-320",
    str(2**63),
    str(10**30),
    str(2**63 - 1),
    "1_000",
    "0x10",
    "12345678901234567890123",
    "1e12",
]
WORDS = [
    "",
    "null",
    "~",
    "true",
    "no",
    "[1, 2]",
    "[]",
    "{a: 1}",
    "{}",
    "'x'",
    '"\\ud800"',
    "lstm",
    "gru",
    "adaptive",
    "rollback",
    "&a",
    "*a",
    "!!python/object:os.system",
    "[",
    "{",
    ": :",
    "- x",
    "|",
    "\x00",
    "\ufeff",
]
values = st.one_of(st.sampled_from(NUMBERS + WORDS), hostile_text)
overrides = st.lists(st.tuples(st.sampled_from(KEYS) | hostile_text, values).map(lambda kv: f"{kv[0]}={kv[1]}") | hostile_text, max_size=5)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A saved LM run and a saved classifier run (a few steps each), with their files' hashes."""
    root = tmp_path_factory.mktemp("hostile")
    corpus = write_corpus(root / "corpus", (120, 20, 20))
    lm_cfg = root / "lm.yaml"
    lm_cfg.write_text(yaml.safe_dump(tiny_raw(corpus, trainer={"max_steps": 2, "epochs": 1})), encoding="utf-8")
    train_run(load_config(lm_cfg), root / "lm")
    data = write_sentiment(root / "reviews.csv", n=60)
    train_run(build_config(classify_raw(data, trainer={"max_steps": 2, "epochs": 1})), root / "clf")
    return root, lm_cfg


# what `evaluate` writes, and may write again (README.md: the model card, which lists the figures evaluate measured)
REPORTS = ("eval-", "report-", "confusion-", "predictions-", "README.md")


def _fingerprint(run: Path) -> dict:
    """Every saved file of a run but evaluate's reports."""
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.rglob("*"))
        if p.is_file() and not p.name.startswith(REPORTS)
    }


@pytest.mark.slow
@SOME
@given(extra=overrides)
def test_config_overrides(runs, extra):
    _, lm_cfg = runs
    try:
        cfg = load_config(lm_cfg, extra)
    except RnnNlpError:
        return
    assert isinstance(cfg, RunConfig)
    assert build_config(yaml.safe_load(yaml.safe_dump(__import__("rnn_nlp.config").config.to_dict(cfg)))) == cfg


@SOME
@given(raw=st.dictionaries(st.sampled_from(["task", "data", "backbone", "head", "trainer", "pretrained", "x"]), json_value, max_size=5))
def test_config_from_any_mapping(raw):
    try:
        build_config(raw)
    except RnnNlpError:
        pass


@SOME
@given(
    raw=st.fixed_dictionaries(
        {},
        optional={
            "trainer": st.dictionaries(
                st.sampled_from([k.split(".")[1] for k in KEYS if k.startswith("trainer.") and k != "trainer."]),
                st.one_of(json_value, st.integers(), st.floats()),
                max_size=4,
            ),
            "backbone": st.dictionaries(
                st.sampled_from(["emb_size", "hidden_size", "layers", "top_size", "init_range", "input_dropout"]),
                st.one_of(st.integers(), st.floats()),
                max_size=3,
            ),
        },
    )
)
def test_absurd_numbers_in_config(raw):
    try:
        cfg = build_config(raw)
    except RnnNlpError:
        return
    t = cfg.trainer
    assert t.lr > 0 and t.batch_size > 0 and t.epochs > 0 and cfg.backbone.init_range > 0


def _argv(draw, root: Path, lm_cfg: Path, tmp: Path) -> list[str]:
    command = draw(st.sampled_from(["train", "evaluate", "generate", "generate", "predict", "predict", "data", "bogus"]))
    fitting = str(root / ("clf" if command == "predict" else "lm"))
    others = [str(root / "lm"), str(root / "clf"), str(tmp / "missing"), str(lm_cfg), "", "-"]
    run = draw(st.sampled_from([fitting] * 4 + others))
    hostile_file = tmp / draw(st.sampled_from(["in.txt", "in.csv", "x"]))
    hostile_file.write_bytes(draw(hostile_bytes))
    opt = lambda name, pool: [name, draw(st.sampled_from(pool) | hostile_text)] if draw(st.booleans()) else []  # noqa: E731
    if command == "train":
        config = draw(st.sampled_from([str(lm_cfg), str(hostile_file), str(tmp / "none.yaml")]))
        out = draw(st.sampled_from([str(root / "lm"), str(root / "clf"), str(tmp / "new")]))
        bounded = ["trainer.max_steps=2", "trainer.epochs=1"]  # a valid draw trains two steps, not hours
        return ["train", config, *draw(overrides), *bounded, "--out", out] + (["--resume"] if draw(st.booleans()) else [])
    if command == "evaluate":
        return [
            "evaluate",
            run,
            *opt("--split", ["train", "valid", "test", "dev"]),
            *opt("--data", [str(hostile_file), str(tmp / "nope.txt")]),
            "--device",
            "cpu",
        ]
    if command == "generate":
        return [
            "generate",
            run,
            "--device",
            "cpu",
            *opt("--prompt", ["", "the cat", "\x00\ud800"]),
            *opt("--max-tokens", ["-1", "0", "3", "1000000", str(2**70)]),
            *opt("--seed", ["-1", "0", str(2**70)]),
            *opt("--temperature", ["0", "-1", "nan", "inf", "0.5"]),
            *opt("--top-k", ["-1", "0", "5", str(2**70)]),
            *opt("--top-p", ["0", "nan", "1.5", "0.9"]),
            *opt("--beam", ["-1", "0", "2", "1000000"]),
            *opt("--num-samples", ["0", "2", "1000000"]),
            *(["--sample"] if draw(st.booleans()) else []),
        ]
    if command == "predict":
        return ["predict", run, draw(st.sampled_from([str(hostile_file), str(tmp / "nope.txt"), str(tmp)])), "--device", "cpu"]
    if command == "data":
        return ["data", draw(st.sampled_from(["list", "fetch", "x"])), *draw(st.lists(hostile_text, max_size=1))]
    return [command, *draw(st.lists(hostile_text, max_size=3))]


@pytest.mark.slow
@settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_command_line(runs, data, capsys):
    root, lm_cfg = runs
    before = {name: _fingerprint(root / name) for name in ("lm", "clf")}
    with tempfile.TemporaryDirectory() as tmp:
        argv = _argv(data.draw, root, lm_cfg, Path(tmp))
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help (0) or malformed options (2)
            code = exc.code
        assert code in (0, 2), argv
        err = capsys.readouterr().err
        assert "Traceback" not in err, (argv, err[-1500:])
    for name, files in before.items():  # reports may be added; nothing saved may change or go
        after = _fingerprint(root / name)
        assert {k: after.get(k) for k in files} == files, argv


@pytest.mark.slow
@SOME
@given(texts=st.lists(hostile_text, max_size=12))
def test_predict_api(runs, texts):
    root, _ = runs
    rows = [r.to_dict() for r in rnn_nlp.load(root / "clf", "cpu").predict(texts)]
    assert [r["text"] for r in rows] == texts
    for row in rows:
        probs = list(row["probabilities"].values())
        assert all(0 <= p <= 1 for p in probs) and sum(probs) == pytest.approx(1, abs=1e-4)
        assert row["label"] in row["probabilities"]
