"""examples/*.py, each run as a script (runpy, `__name__ == "__main__"`) with --tiny on data the test writes.

An example trains its built-in recipe through `rnn_nlp.train` (with --tiny: on the tiny folder, the
model shrunk) and then uses the run through `rnn_nlp.load`; these tests check what it prints.
"""

from __future__ import annotations

import re
import runpy
import sys
from pathlib import Path

import pytest

import rnn_nlp
from tests.api_data import qa_input, write_data

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("examples")


def run_example(name: str, args: list[str], capsys, monkeypatch) -> str:
    """Run examples/<name>.py as `python examples/<name>.py ARGS` would; its standard output."""
    monkeypatch.setattr(sys, "argv", [str(EXAMPLES / f"{name}.py"), *args])
    capsys.readouterr()
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    return capsys.readouterr().out


def tiny_args(task: str, root: Path) -> list[str]:
    return ["--tiny", str(write_data(task, root / f"data-{task}")), "--out", str(root / f"run-{task}")]


def test_every_task_has_an_example_that_defaults_to_its_recipe():
    recipes = {
        "lm": "lm-ptb",
        "classify": "sentiment-rt",
        "ner": "ner-conll03",
        "pos": "pos-brown",
        "qa": "qa-cloze",
        "seq2seq": "translate-bible",
    }
    for name, recipe in recipes.items():
        source = (EXAMPLES / f"{name}.py").read_text(encoding="utf-8")
        assert f'RECIPE = "{recipe}"' in source and recipe in rnn_nlp.recipes(), name
        assert "rnn_nlp.train(RECIPE" in source and "rnn_nlp.load(args.out)" in source and "--tiny" in source, name
        assert source.startswith('"""') and 'if __name__ == "__main__":' in source, name


@pytest.mark.slow
def test_lm_example(tiny, capsys, monkeypatch):
    out = run_example("lm", [*tiny_args("lm", tiny), "the cat", "a dog likes"], capsys, monkeypatch)
    ppl = float(re.search(r"test perplexity: ([\d.]+)", out).group(1))
    assert 1 < ppl < 30
    for prompt in ("the cat", "a dog likes"):
        assert len(re.findall(rf"^greedy:  {prompt} \| \S+", out, re.M)) == 1
        assert len(re.findall(rf"^beam 3:  {prompt} \| \S+", out, re.M)) == 1
        assert len(re.findall(rf"^sampled: {prompt} \| \S+", out, re.M)) == 2
    model = rnn_nlp.load(tiny / "run-lm")
    assert model.task == "lm" and model.config.backbone.hidden_size == 16  # the recipe, shrunk by --tiny
    assert f"greedy:  the cat | {model.generate('the cat', max_tokens=8)}\n" in out


@pytest.mark.slow
def test_classify_example_from_the_lm_example(tiny, capsys, monkeypatch):
    if not (tiny / "run-lm").exists():
        run_example("lm", tiny_args("lm", tiny), capsys, monkeypatch)
    texts = ["the film was superb", "the plot was awful"]
    out = run_example("classify", [*tiny_args("classify", tiny), "--pretrained", str(tiny / "run-lm"), *texts], capsys, monkeypatch)
    accuracy = float(re.search(r"test accuracy ([\d.]+), macro-F1 [\d.]+", out).group(1))
    assert 0.5 < accuracy <= 1
    model = rnn_nlp.load(tiny / "run-classify")
    # ULMFiT: the LM example's run was fine-tuned on the reviews first, and the classifier started from that
    stage = tiny / "run-classify" / "lm-finetuned"
    assert model.config.pretrained == str(tiny / "run-lm") and [s.name for s in model.config.stages] == ["lm_finetune", "task"]
    assert (stage / "FINISHED").exists() and rnn_nlp.load(stage).config.pretrained == str(tiny / "run-lm")
    for text, result in zip(texts, model.predict(texts)):
        assert re.search(rf"^{result.label} +'{text}' \(neg [\d.]+, pos [\d.]+\)$", out, re.M)


@pytest.mark.slow
def test_ner_example(tiny, capsys, monkeypatch):
    out = run_example("ner", [*tiny_args("ner", tiny), "John Smith visited Paris ."], capsys, monkeypatch)
    assert re.search(r"^test entity F1: [\d.]+ \(strict [\d.]+\)$", out, re.M)
    assert re.search(r"^  PER   'John Smith' characters 0-10, score [\d.]+$", out, re.M)
    assert re.search(r"^  LOC   'Paris' characters 19-24, score [\d.]+$", out, re.M)


@pytest.mark.slow
def test_pos_example(tiny, capsys, monkeypatch):
    out = run_example("pos", [*tiny_args("pos", tiny), "the big dog sees a cat ."], capsys, monkeypatch)
    assert re.search(r"^test accuracy: [\d.]+; tags: \. ADJ DET NOUN VERB$", out, re.M)
    assert "the/DET big/ADJ dog/NOUN sees/VERB a/DET cat/NOUN ./.\n" in out


@pytest.mark.slow
def test_qa_example(tiny, capsys, monkeypatch):
    row = qa_input(5)
    candidates = [arg for c in row["candidates"] for arg in ("--candidate", c)]
    out = run_example(
        "qa", [*tiny_args("qa", tiny), "--question", row["question"], "--context", row["context"], *candidates], capsys, monkeypatch
    )
    assert re.search(r"^test accuracy: [\d.]+$", out, re.M)
    answers = re.findall(r"^answer: '([^']*)' \(characters (\d+)-(\d+), score -?[\d.]+\)$", out, re.M)
    assert len(answers) == 2 and answers[0][0] in row["candidates"]
    for text, start, end in answers:
        assert row["context"][int(start) : int(end)] == text
    assert out.count("  warning: ") == 1  # only the answer without candidates


@pytest.mark.slow
def test_seq2seq_example(tiny, capsys, monkeypatch):
    out = run_example("seq2seq", [*tiny_args("seq2seq", tiny), "a b c", "d e f"], capsys, monkeypatch)
    assert re.search(r"^test BLEU [\d.]+, chrF [\d.]+$", out, re.M)
    model = rnn_nlp.load(tiny / "run-seq2seq")
    for source in ("a b c", "d e f"):
        assert f"source: {source}\ngreedy: {model.generate(source, beam=1)}\nbeam 1: " in out
    assert re.findall(r"^greedy: ([A-H ]+)$", out, re.M)[0] == "C B A"


def test_classify_example_asks_for_the_lm_it_starts_from(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no runs/lm-ptb here
    with pytest.raises(SystemExit) as stopped:
        run_example("classify", ["--out", str(tmp_path / "run")], capsys, monkeypatch)
    assert stopped.value.code == 2 and "no LM run in runs/lm-ptb: train one with examples/lm.py first" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
