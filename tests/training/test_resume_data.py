"""--resume on data other than the checkpoint's is refused, saying which split changed (issue 15, item 14).

The trainer state holds the task's data fingerprint (`Task.data_fingerprint`: counts and a hash per
split); a resumed run compares it with its own data before it takes anything up. A checkpoint
written before fingerprints were kept resumes with nothing to compare.
"""

from __future__ import annotations

import pytest
import yaml

from rnn_nlp.cli import main
from rnn_nlp.errors import DataError
from rnn_nlp.runs import build_config, train_run
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.run_folder import LAST
from tests.conftest import tiny_raw, write_corpus
from tests.training.edits import rewrite_state, snapshot


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _config(tmp_path, corpus, **trainer):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_raw(corpus, trainer={"max_steps": 6, "checkpoint_every": 3, **trainer})), encoding="utf-8")
    return path


def test_resume_after_the_valid_file_changed_is_refused_and_leaves_the_run_alone(tmp_path, corpus, capsys):
    config, run = _config(tmp_path, corpus), tmp_path / "run"
    assert main(["train", str(config), "--out", str(run)]) == 0
    saved = ckpt.load_trainer_state(run / LAST)["data"]
    assert set(saved) == {"train", "valid"} and all(set(fp) == {"tokens", "sha256"} for fp in saved.values())
    before_tokens = saved["valid"]["tokens"]
    _write(corpus / "valid.txt", _lines(corpus / "valid.txt")[:30])
    before = snapshot(run)
    capsys.readouterr()
    assert main(["train", str(config), "trainer.max_steps=12", "--out", str(run), "--resume"]) == 2
    err = capsys.readouterr().err
    assert f"valid: {before_tokens} tokens when the checkpoint was written, {before_tokens // 2} now" in err
    assert "train:" not in err
    assert "Resume with the same data, or start a new run with --overwrite" in err
    assert snapshot(run) == before


def test_resume_on_the_same_data_goes_on(tmp_path, corpus):
    config, run = _config(tmp_path, corpus), tmp_path / "run"
    assert main(["train", str(config), "--out", str(run)]) == 0
    assert main(["train", str(config), "trainer.max_steps=12", "--out", str(run), "--resume"]) == 0
    state = ckpt.load_trainer_state(run / LAST)
    assert state["global_step"] == 12


def test_a_changed_training_split_of_the_same_size_is_named(tmp_path, corpus):
    cfg = build_config(tiny_raw(corpus, trainer={"max_steps": 4}))
    train_run(cfg, tmp_path / "run")
    lines = _lines(corpus / "train.txt")
    lines[0], lines[1] = lines[1], lines[0]  # the same tokens, in another order
    _write(corpus / "train.txt", lines)
    with pytest.raises(
        DataError, match=r"train: \d+ tokens as when the checkpoint was written, but different ones \(their SHA-256 differs\)"
    ):
        train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 8})), tmp_path / "run", resume=True)


@pytest.mark.slow
def test_a_checkpoint_without_a_fingerprint_still_resumes(tmp_path, corpus):
    """Written before this change: no `data` in the state, nothing to compare; the next checkpoint has one."""
    cfg = build_config(tiny_raw(corpus, trainer={"max_steps": 4}))
    train_run(cfg, tmp_path / "run")
    rewrite_state(tmp_path / "run" / LAST, lambda state: state.pop("data"))
    _write(corpus / "valid.txt", _lines(corpus / "valid.txt")[:30])
    trainer = train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 8})), tmp_path / "run", resume=True)
    assert trainer.global_step == 8
    assert ckpt.load_trainer_state(tmp_path / "run" / LAST)["data"]["valid"]["tokens"] == trainer.task.ids("valid").numel()


def test_the_fingerprint_is_computed_once_a_run(tmp_path, corpus, monkeypatch):
    from rnn_nlp.tasks.lm import LMTask

    calls = []
    original = LMTask.data_fingerprint
    monkeypatch.setattr(LMTask, "data_fingerprint", lambda self: calls.append(1) or original(self))
    train_run(build_config(tiny_raw(corpus, trainer={"max_steps": 9, "checkpoint_every": 3})), tmp_path / "run")
    assert len(calls) == 1


def test_a_streaming_corpus_is_fingerprinted_by_its_token_files(tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    cfg = build_config(tiny_raw(corpus, data={"streaming": True}, trainer={"max_steps": 4}))
    train_run(cfg, tmp_path / "run")
    saved = ckpt.load_trainer_state(tmp_path / "run" / LAST)["data"]
    assert set(saved) == {"train", "valid"}
    _write(corpus / "valid.txt", _lines(corpus / "valid.txt")[:30])
    with pytest.raises(DataError, match=rf"valid: {saved['valid']['tokens']} tokens when the checkpoint was written, \d+ now"):
        train_run(build_config(tiny_raw(corpus, data={"streaming": True}, trainer={"max_steps": 8})), tmp_path / "run", resume=True)


def test_a_tagging_run_names_its_sentences(tmp_path):
    from tests.tasks.tagging.data import tagging_raw, write_pos

    data = write_pos(tmp_path / "pos")
    raw = lambda steps: tagging_raw("pos", data, trainer={"max_steps": steps, "checkpoint_every": 2})  # noqa: E731
    train_run(build_config(raw(3)), tmp_path / "run")
    _write(data / "valid.txt", _lines(data / "valid.txt")[:-1])
    with pytest.raises(DataError, match=r"valid: 40 sentences when the checkpoint was written, 39 now"):
        train_run(build_config(raw(6)), tmp_path / "run", resume=True)
