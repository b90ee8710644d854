"""The best model is one folder swapped in by rename: a kill at any point of writing it leaves a run
folder that loads, with the previous best or the new one, never a mix of the two."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from rnn_nlp.errors import CheckpointError
from rnn_nlp.files import fsync_dir
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.lm import LMTask
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from rnn_nlp.training.run_folder import LAST
from tests.conftest import tiny_raw

real_rmtree = shutil.rmtree


class Killed(BaseException):
    """Stands for a kill: no `except OSError` clean-up runs, as none would after SIGKILL."""


def _rmtree(path, ignore_errors=False):
    """shutil.rmtree's effect one file at a time, so that a kill can land mid-removal too.

    (Interrupting shutil's own rmtree in-process leaves its directory descriptors to be closed
    later by the garbage collector, closing unrelated files: an artefact no real kill has.)
    """
    path = Path(path)
    if not path.is_dir():
        return
    for file in sorted(path.iterdir()):
        file.unlink()
    path.rmdir()


# Every line of these is a kill point: each file write, fsync, rename and removal lies between two.
# (Not the pure computations they call, such as hashing, which touch no file.)
TRACED = {f.__code__ for f in (ckpt.save_checkpoint, ckpt._write_folder, run_folder.swap_in, fsync_dir, _rmtree)}


def _save_killed_at(point: int, save) -> bool:
    """Run `save()`, raising Killed at its `point`-th executed line (1-based); False if it finished first."""
    seen = [0]

    def line(frame, event, arg):
        if event == "line":
            seen[0] += 1
            if seen[0] == point:
                raise Killed
        return line

    previous = sys.gettrace()
    sys.settrace(lambda frame, event, arg: line if frame.f_code in TRACED else None)
    try:
        save()
    except Killed:
        return True
    finally:
        sys.settrace(previous)
    return False


@pytest.fixture
def models(tiny_config):
    task = LMTask(tiny_config)
    torch.manual_seed(1)
    old = task.build_model()
    torch.manual_seed(2)
    new = task.build_model()
    return task, old, new


def _weights_of(run: Path, old, new) -> str:
    """'old' or 'new': which model the run folder holds, checked as `load_run` reads it (every file
    verified against one meta.json, then config, vocabulary and weights from the same folder)."""
    ckpt.verify(run)
    ckpt.load_raw_config(run)
    ckpt.load_vocab_json(run)
    got = ckpt.load_weights(run)
    for name, model in (("old", old), ("new", new)):
        if all(torch.equal(t, got[k]) for k, t in ckpt._weights_for_saving(model.state_dict()).items()):
            return name
    raise AssertionError(f"{run_folder.resolve(run)} holds a mix of the old and the new best model")


def _legacy_run(run: Path, cfg, task, model) -> None:
    """A run folder as rnn_nlp 0.2 wrote it: the best model's files at its top level."""
    ckpt.save_checkpoint(run / ".legacy", cfg, task.vocab_json(), model)
    for f in (run / ".legacy").iterdir():
        f.replace(run / f.name)
    (run / ".legacy").rmdir()


def _crashed_mid_swap(run: Path, cfg, task, model) -> None:
    """The previous best's swap was killed between its two renames: only `.best.old` (and a tmp) remain."""
    ckpt.save_checkpoint(run / run_folder.BEST, cfg, task.vocab_json(), model)
    (run / run_folder.BEST).rename(run / ".best.old")
    ckpt.save_checkpoint(run / ".best.tmp", cfg, task.vocab_json(), model)


def _best_folder(run: Path, cfg, task, model) -> None:
    ckpt.save_checkpoint(run / run_folder.BEST, cfg, task.vocab_json(), model)


@pytest.mark.slow
@pytest.mark.parametrize(
    "previous", [_best_folder, _legacy_run, _crashed_mid_swap], ids=["best-folder", "legacy-top-level", "after-a-crash"]
)
def test_a_kill_anywhere_in_the_best_swap_leaves_old_or_new(tmp_path, tiny_config, models, previous, monkeypatch):
    task, old, new = models
    monkeypatch.setattr(ckpt.shutil, "rmtree", _rmtree)
    monkeypatch.setattr(ckpt.os, "fsync", lambda fd: None)  # still a kill point; its disk wait is not needed here
    outcomes, point = [], 0
    while True:
        point += 1
        run = tmp_path / f"run{point}"
        run.mkdir()
        previous(run, tiny_config, task, old)
        if point == 1:
            _, _, loaded = load_run(run)  # what the check below stands for
            assert all(torch.equal(t, loaded.state_dict()[k]) for k, t in old.state_dict().items())
        assert _weights_of(run, old, new) == "old"

        def save(run=run):
            ckpt.save_checkpoint(run / run_folder.BEST, tiny_config, task.vocab_json(), new)

        killed = _save_killed_at(point, save)
        outcomes.append(_weights_of(run, old, new))
        if killed:  # the run goes on: the next best is written over whatever the kill left
            ckpt.save_checkpoint(run / run_folder.BEST, tiny_config, task.vocab_json(), new)
            assert _weights_of(run, old, new) == "new"
        real_rmtree(run)
        if not killed:
            break
    assert point > 40  # every line of the swap was a kill point
    assert outcomes[0] == "old" and outcomes[-1] == "new"
    flips = sum(a != b for a, b in zip(outcomes, outcomes[1:]))
    assert flips == 1  # old up to the rename that swaps in the new folder, new from there on


def test_loading_prefers_best_over_an_old_runs_top_level_files(tmp_path, tiny_config, models):
    task, old, new = models
    run = tmp_path / "run"
    run.mkdir()
    _legacy_run(run, tiny_config, task, old)
    assert run_folder.resolve(run) == run and _weights_of(run, old, new) == "old"
    _best_folder(run, tiny_config, task, new)
    assert run_folder.resolve(run) == run / run_folder.BEST and _weights_of(run, old, new) == "new"
    ckpt.verify(run)
    assert run_folder.resolve(run / run_folder.LAST) == run / run_folder.LAST  # a checkpoint folder is read as itself


def test_a_run_without_any_best_model_says_so(tmp_path):
    (tmp_path / "run" / ".best.tmp").mkdir(parents=True)  # killed while writing its first best model
    with pytest.raises(CheckpointError, match="incomplete checkpoint, missing config.yaml"):
        ckpt.verify(tmp_path / "run")


KILL_IN_SECOND_BEST_SWAP = """
    import json, os, sys
    from rnn_nlp.runs import build_config, train_run
    from rnn_nlp.tasks.lm import LMTask
    from rnn_nlp.training import checkpoint as ckpt
    real_rename, real_evaluate, evaluations = os.rename, LMTask.evaluate, []

    def evaluate(self, model, split, device):  # every evaluation a new best
        evaluations.append(split)
        out = real_evaluate(self, model, split, device)
        return {**out, "loss": out["loss"] - len(evaluations)}

    def rename(src, dst):
        real_rename(src, dst)
        if str(dst).endswith(".best.old"):  # the previous best just moved aside
            os._exit(9)

    ckpt.os.rename = rename
    LMTask.evaluate = evaluate
    train_run(build_config(json.loads(sys.argv[1])), sys.argv[2])
"""


@pytest.mark.slow
def test_a_process_killed_mid_swap_loads_and_resumes(tmp_path, corpus):
    """A real process dies (os._exit) between the two renames of its second best model."""
    raw = tiny_raw(corpus, trainer={"epochs": 3}, data={"max_train_tokens": 400})
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    died = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILL_IN_SECOND_BEST_SWAP), json.dumps(raw), str(run)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert died.returncode == 9, died.stderr
    assert not (run / run_folder.BEST).exists() and run_folder.resolve(run) == run / ".best.old"
    first_best = ckpt.load_weights(run / ".best.old")
    _, _, model = load_run(run)
    for name, t in first_best.items():
        assert torch.equal(model.state_dict()[name], t), name
    trainer = train_run(build_config(raw), run, resume=True)
    assert trainer.epoch == 3
    # the resumed run put the first best back under its name (no later evaluation beat it)
    assert (run / run_folder.BEST).is_dir() and not (run / ".best.old").exists()
    assert ckpt.load_weights(run).keys() == first_best.keys()
    for name, t in ckpt.load_weights(run).items():
        assert torch.equal(first_best[name], t), name


def test_a_run_folder_of_rnn_nlp_0_2_loads_and_resumes(tmp_path, corpus):
    """Best model at the top level, a trainer state without callback states: both still work."""
    run = tmp_path / "run"
    raw = tiny_raw(corpus, trainer={"max_steps": 5})
    train_run(build_config(raw), run)
    for f in (run / run_folder.BEST).iterdir():
        f.replace(run / f.name)
    (run / run_folder.BEST).rmdir()
    state = ckpt.load_trainer_state(run / LAST)
    for key in ("callbacks", "stop_reason", "window_loss_sum", "window_loss_steps"):
        del state[key]
    cfg, task, model = load_run(run / LAST)
    ckpt.save_checkpoint(run / LAST, cfg, task.vocab_json(), model, state)
    assert run_folder.resolve(run) == run
    load_run(run)
    trainer = train_run(build_config({**raw, "trainer": {**raw["trainer"], "max_steps": 10}}), run, resume=True)
    assert trainer.global_step == 10 and len(trainer.history) == 2
    ckpt.verify(run)
