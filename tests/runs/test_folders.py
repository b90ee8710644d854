"""Run folders: training never writes over a user's files, one writer at a time, and --overwrite
removes the old run only once the new one is known to build."""

from __future__ import annotations

import os

import pytest

from rnn_nlp.cli import main
from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, train_run
from rnn_nlp.runs.folders import run_lock
from tests.conftest import tiny_raw, write_corpus


@pytest.fixture
def cfg(tmp_path):
    return build_config(tiny_raw(write_corpus(tmp_path / "corpus"), trainer={"epochs": 1}))


def test_a_folder_of_other_files_is_refused_and_left_alone(tmp_path, cfg, monkeypatch, capsys):
    mine = tmp_path / "project"
    mine.mkdir()
    (mine / "config.yaml").write_text("my own\n", encoding="utf-8")
    (mine / "metrics.csv.bak").write_text("keep\n", encoding="utf-8")
    for overwrite in (False, True):
        with pytest.raises(ConfigError, match="holds files that are not a run .*choose a new or empty folder"):
            train_run(cfg, mine, overwrite=overwrite)
    assert sorted(p.name for p in mine.iterdir()) == ["config.yaml", "metrics.csv.bak"]
    assert (mine / "config.yaml").read_text(encoding="utf-8") == "my own\n"
    monkeypatch.chdir(mine)  # `--out .` in a project folder
    config = tmp_path / "lm.yaml"
    config.write_text("task: lm\n", encoding="utf-8")
    assert main(["train", str(config), "--out", ".", "--overwrite"]) == 2
    assert "holds files that are not a run" in capsys.readouterr().err
    assert sorted(p.name for p in mine.iterdir()) == ["config.yaml", "metrics.csv.bak"]
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="a file, not a folder"):
        train_run(cfg, tmp_path / "a-file")


def test_an_empty_folder_and_a_run_folder_are_fine(tmp_path, cfg):
    (tmp_path / "empty").mkdir()
    train_run(cfg, tmp_path / "empty")
    train_run(cfg, tmp_path / "empty", overwrite=True)  # a run folder now: replaced
    assert (tmp_path / "empty" / "run-config.yaml").exists()


def test_a_second_writer_stops_at_once_naming_the_holder(tmp_path, cfg):
    out = tmp_path / "run"
    with run_lock(out):
        with pytest.raises(ConfigError, match=rf"being trained by another process \(pid {os.getpid()}\)"):
            train_run(cfg, out)
    assert not out.exists()  # the refused writer wrote nothing
    train_run(cfg, out)  # the lock is free again


def test_overwrite_keeps_the_old_run_when_the_new_model_cannot_be_built(tmp_path, cfg):
    out = tmp_path / "run"
    train_run(cfg, out)
    before = {p.name for p in out.rglob("*")}
    broken = build_config(tiny_raw(cfg.data.name, head={"tie_weights": True}, backbone={"emb_size": 8, "hidden_size": 16}))
    with pytest.raises(ConfigError, match="tie"):
        train_run(broken, out, overwrite=True)
    missing = build_config(tiny_raw(cfg.data.name))
    missing.pretrained = str(tmp_path / "typo")
    with pytest.raises(ConfigError, match="pretrained: .*typo"):
        train_run(missing, out, overwrite=True)
    missing.pretrained = str(out)
    with pytest.raises(ConfigError, match="pretrained: .* is the run folder being trained"):
        train_run(missing, out, overwrite=True)
    assert {p.name for p in out.rglob("*")} == before


def test_common_file_names_alone_do_not_make_a_run_folder(tmp_path, cfg):
    for name in ("metrics.csv", "model.safetensors"):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / name).write_text("theirs", encoding="utf-8")
        with pytest.raises(ConfigError, match="holds files that are not a run"):
            train_run(cfg, folder, overwrite=True)
        assert (folder / name).read_text(encoding="utf-8") == "theirs"
