"""Run folders: training never writes over a user's files, one writer at a time, and --overwrite
removes the old run only once the new one is known to build and has its first checkpoint."""

from __future__ import annotations

import os
import shutil

import pytest
import torch

from rnn_nlp import load as rnn_nlp_load
from rnn_nlp.cli import main
from rnn_nlp.errors import ConfigError, SaveError
from rnn_nlp.runs import build_config, train_run
from rnn_nlp.runs.folders import run_lock, set_aside, settle_replaced
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.callbacks import Callback
from rnn_nlp.training.run_folder import replaced
from rnn_nlp.training.trainer import Trainer
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def _weights(run):
    return ckpt.read_checkpoint(run).weights()


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_lock_file_goes_with_the_run(tmp_path, cfg):
    out = tmp_path / "run"
    train_run(cfg, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "run"]
    with run_lock(out):
        assert (tmp_path / ".run.lock").read_text().strip() == str(os.getpid())
    assert not (tmp_path / ".run.lock").exists()


def test_overwrite_failing_before_its_first_checkpoint_gives_the_old_run_back(tmp_path, cfg, monkeypatch):
    out = tmp_path / "run"
    train_run(cfg, out)
    old = _weights(out)
    seen = []

    def fit(self):
        seen.append(sorted(p.name for p in out.parent.iterdir()))
        seen.append(_same(_weights(out), old))  # a reader meanwhile still gets the old model
        raise RuntimeError("the machine fell over")

    monkeypatch.setattr(Trainer, "fit", fit)
    with pytest.raises(RuntimeError, match="fell over"):
        train_run(build_config(tiny_raw(cfg.data.name, trainer={"epochs": 1, "seed": 7})), out, overwrite=True)
    assert ".run.replaced" in seen[0]  # the old run was set aside, not deleted, while the new one started
    assert seen[1] is True
    assert _same(_weights(out), old)
    assert not replaced(out).exists()


def test_overwrite_killed_before_its_first_checkpoint_gets_the_old_run_back_next_time(tmp_path, cfg):
    out = tmp_path / "run"
    train_run(cfg, out)
    old = _weights(out)
    set_aside(out)  # what a kill leaves: the old run aside, the new one begun
    out.mkdir()
    (out / "run-config.yaml").write_text("task: lm\n", encoding="utf-8")
    trainer = train_run(cfg, out, resume=True)  # resumes the old run, which is back
    assert not replaced(out).exists() and trainer.global_step > 0
    assert _weights(out).keys() == old.keys()


@pytest.mark.slow
def test_overwrite_drops_the_old_run_at_the_new_runs_first_best_model(tmp_path, cfg):
    out = tmp_path / "run"
    train_run(cfg, out)
    old = _weights(out)
    during = []

    class Watch(Callback):
        def on_step_end(self, trainer):
            during.append(
                (
                    replaced(out).exists(),
                    (out / "checkpoint-last").exists(),
                    (out / "best").exists(),
                    _same(_weights(out), old) if not (out / "best").exists() else None,
                )
            )

    new = build_config(tiny_raw(cfg.data.name, trainer={"epochs": 2, "seed": 5, "checkpoint_every": 3}))
    train_run(new, out, overwrite=True, callbacks=[Watch()])
    first = next(i for i, row in enumerate(during) if row[2])
    assert any(last for _, last, _, _ in during[:first])  # checkpoints came before the first best model...
    assert all(aside and same for aside, _, _, same in during[:first])  # ...and the old model stayed, and loadable
    assert not any(aside for aside, _, _, _ in during[first + 1 :])  # gone right after the first best
    assert not replaced(out).exists()


def test_a_users_own_folder_named_like_a_set_aside_run_is_never_touched(tmp_path, cfg):
    out = tmp_path / "run"
    mine = tmp_path / ".run.replaced"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    train_run(cfg, out)
    before = _weights(out)
    with pytest.raises(SaveError, match=r"\.run\.replaced is in the way .*nothing was changed"):
        train_run(cfg, out, overwrite=True)
    assert (mine / "notes.txt").read_text() == "mine" and _same(_weights(out), before)
    shutil.rmtree(out)
    with pytest.raises(Exception, match="no such run folder|incomplete checkpoint"):
        rnn_nlp_load(out)
    assert (mine / "notes.txt").read_text() == "mine"


def test_settling_a_replacement_that_has_a_checkpoint_keeps_it(tmp_path, cfg):
    out = tmp_path / "run"
    train_run(cfg, out)
    aside = set_aside(out)
    shutil.copytree(aside, out)  # the new run, killed once it had a checkpoint
    settle_replaced(out)
    assert not aside.exists() and (out / "checkpoint-last").exists()


@pytest.mark.slow
def test_an_old_run_that_cannot_be_removed_is_a_warning_naming_it(tmp_path, cfg, monkeypatch, caplog):
    out = tmp_path / "run"
    train_run(cfg, out)

    def rmtree(path, *args, **kwargs):
        if str(path).endswith(".replaced"):
            raise PermissionError(13, "Permission denied", str(path / "model.safetensors"))
        return real(path, *args, **kwargs)

    real = shutil.rmtree
    monkeypatch.setattr("rnn_nlp.runs.folders.shutil.rmtree", rmtree)
    train_run(cfg, out, overwrite=True)  # the new run is trained and kept
    assert (out / "checkpoint-last").exists()
    assert "is still in" in caplog.text and ".run.replaced" in caplog.text and "remove it yourself" in caplog.text


@pytest.mark.slow
def test_an_old_run_that_cannot_be_moved_aside_is_a_clear_error(tmp_path, cfg, monkeypatch, capsys):
    out = tmp_path / "run"
    train_run(cfg, out)
    before = _weights(out)

    def rename(src, dst):
        raise OSError(30, "Read-only file system", str(src))

    monkeypatch.setattr("rnn_nlp.runs.folders.os.rename", rename)
    config = tmp_path / "lm.yaml"
    config.write_text(__import__("yaml").safe_dump(tiny_raw(cfg.data.name)), encoding="utf-8")
    assert main(["train", str(config), "--out", str(out), "--overwrite"]) != 0
    err = capsys.readouterr().err
    assert "cannot move the old run" in err and "nothing was removed" in err and "Traceback" not in err
    assert _same(_weights(out), before)


@pytest.mark.parametrize("errno_, reason", [(30, "Read-only file system"), (28, "No space left on device")])
def test_a_lock_file_that_cannot_be_made_is_a_clear_error(tmp_path, cfg, monkeypatch, capsys, errno_, reason):
    real_open = os.open

    def refusing(path, flags, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise OSError(errno_, reason, str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr("rnn_nlp.runs.folders.os.open", refusing)
    config = tmp_path / "lm.yaml"
    config.write_text(__import__("yaml").safe_dump(tiny_raw(cfg.data.name)), encoding="utf-8")
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) != 0
    err = capsys.readouterr().err
    assert f"cannot lock the run folder {tmp_path / 'run'}" in err and reason in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_full_disk_writing_the_holders_pid_still_locks(tmp_path, monkeypatch):
    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("rnn_nlp.runs.folders.os.pwrite", full)
    with run_lock(tmp_path / "run"):
        with pytest.raises(ConfigError, match=r"being trained by another process \(pid unknown\)"):
            with run_lock(tmp_path / "run"):
                pass


@pytest.mark.slow
def test_overwrite_of_a_read_only_run_is_refused_before_anything_changes(tmp_path, cfg, monkeypatch, capsys):
    out = tmp_path / "run"
    train_run(cfg, out)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    real = os.access
    monkeypatch.setattr("rnn_nlp.runs.folders.os.access", lambda path, mode: not str(path).endswith("checkpoint-last") and real(path, mode))
    config = tmp_path / "lm.yaml"
    config.write_text(__import__("yaml").safe_dump(tiny_raw(cfg.data.name)), encoding="utf-8")
    assert main(["train", str(config), "--out", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'checkpoint-last'} is read-only" in err and "nothing was changed" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    assert not replaced(out).exists()


@pytest.mark.slow
def test_training_tidies_what_killed_writes_left_and_keeps_a_live_writers_files(tmp_path, cfg):
    import subprocess
    import sys

    out = tmp_path / "run"
    train_run(cfg, out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    live = os.getppid()  # a running process (a concurrent evaluate, say): its temporary stays
    (out / f"eval-valid.json.{dead}.tmp").write_text("{")
    (out / f"metrics.csv.{dead}.tmp").write_text("half")
    (out / f"eval-test.json.{live}.tmp").write_text("{")
    (out / ".best.tmp").mkdir()
    (out / ".best.tmp" / "vocab.json").write_text("{")
    shutil.copytree(out / "checkpoint-last", out / ".checkpoint-last.old")  # killed before removing the old version
    train_run(build_config(tiny_raw(cfg.data.name, trainer={"epochs": 2})), out, resume=True)
    left = sorted(p.name for p in out.iterdir() if ".tmp" in p.name or ".old" in p.name)
    assert left == [f"eval-test.json.{live}.tmp"]


@pytest.mark.slow
def test_a_run_killed_writing_its_first_file_is_still_a_run_folder(tmp_path, cfg):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run-config.yaml.999999.tmp").write_text("task: l")  # killed mid-write, before anything else (chaos run)
    train_run(cfg, out, resume=True)
    assert (out / "checkpoint-last").exists() and not list(out.glob("*.tmp"))


@pytest.mark.slow
def test_overwrite_through_a_symlinked_run_folder_replaces_the_run_not_the_link(tmp_path, cfg):
    (tmp_path / "big").mkdir()
    real = tmp_path / "big" / "run"
    train_run(cfg, real)
    (tmp_path / "runs").mkdir()
    link = tmp_path / "runs" / "run"
    link.symlink_to(real)
    train_run(build_config(tiny_raw(cfg.data.name, trainer={"epochs": 1, "seed": 3})), link, overwrite=True)
    assert link.is_symlink() and (real / "best").exists()
    assert sorted(p.name for p in (tmp_path / "big").iterdir()) == ["run"]  # no old copy, no lock file left
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["run"]


@pytest.mark.slow
def test_a_second_overwrite_before_the_first_had_a_model_keeps_the_model_set_aside(tmp_path, cfg):
    out = tmp_path / "run"
    train_run(cfg, out)
    old = _weights(out)
    aside = set_aside(out)  # the first --overwrite, killed after a checkpoint but before its first best model
    shutil.copytree(aside / "checkpoint-last", out / "checkpoint-last")
    assert _same(_weights(out), old)  # loading still gives the old model
    set_aside(out)  # the second --overwrite: the unfinished run goes, the old model stays aside
    assert not out.exists() and _same(_weights(out), old)
