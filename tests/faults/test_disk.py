"""A full disk and read-only folders: one clear error (exit 2, one `error:` line, no traceback), the
previous checkpoint intact, nothing temporary left behind, and the run resumes to the uninterrupted
result once there is room again.

The disk fills (ENOSPC from a chosen write on, see tests/faults/inject.py) at each kind of file a
run writes. Read-only folders are real: chmod 555, with permission bits binding the child even when
the suite runs as root (it drops CAP_DAC_OVERRIDE); a read-only mount is injected (EROFS on every
change under the folder).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.faults import runs as R

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # the fault suite: `pytest -m faults` runs it alone

FULL_AT = [  # (what, the write at which the disk is full), met in this order by a run resumed after each
    ("a checkpoint folder", {"match": "run/.checkpoint-last.tmp", "n": 2}),
    ("a checkpoint's config.yaml", {"match": "run/.checkpoint-last.tmp/config.yaml", "n": 1}),
    ("a checkpoint's weights", {"match": "run/.checkpoint-last.tmp/model.safetensors", "n": 1}),
    ("a checkpoint's trainer state", {"match": "run/.checkpoint-last.tmp/trainer_state.pt", "n": 1}),
    ("a checkpoint's meta.json", {"match": "run/.checkpoint-last.tmp/meta.json", "n": 1}),
    ("steps.csv", {"match": "run/steps.csv", "n": 1}),
    ("run-config.yaml", {"match": "run/run-config.yaml", "n": 1}),
    ("metrics.csv", {"match": "run/metrics.csv", "n": 1}),
    ("curves.png", {"match": "run/curves", "n": 1}),
    ("a best model's weights", {"match": "run/.best.tmp/model.safetensors", "n": 1}),
    ("a best model's vocab.json", {"match": "run/.best.tmp/vocab.json", "n": 1}),
]


def clear_error(result, *words: str) -> list[str]:
    """Problems of a command that should have stopped with one clear error naming `words`."""
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    problems = []
    if result.traceback:
        problems.append("a traceback: " + lines[-1][:300])
    if result.returncode != 2:
        problems.append(f"exit {result.returncode}, not 2")
    if len(errors) != 1 or lines[-1] != errors[0]:
        problems.append(f"not one error line at the end: {lines[-3:]}")
    problems += [f"the error does not say {w!r}: {errors}" for w in words if not any(w in e for e in errors)]
    return problems


def files(run: Path) -> dict[str, str]:
    """SHA-256 of every file under `run`."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(run.rglob("*")) if p.is_file()}


def test_a_full_disk_at_any_write_of_a_run_is_one_clear_error_and_costs_nothing(zygote, reference, tmp_path):
    ref = reference("lm")
    run = tmp_path / "run"
    problems, before = [], {}
    for i, (what, full) in enumerate(FULL_AT):
        argv = ["train", str(ref.config), "--out", str(run)] + (["--resume"] if i else [])
        result = zygote.run(argv, {"full_disk": full})
        found = clear_error(result, "No space left on device")
        after = R.snapshot(run)
        found += R.losses(before, after) + R.after_fault(run, "lm")
        found += [f"left behind: {name}" for name in R.leftovers(run)]
        problems += [f"disk full at {what}: {p}" for p in found]
        before = after
    assert zygote.run(["train", str(ref.config), "--out", str(run), "--resume"]).returncode == 0
    problems += R.finished(run, ref.run, "lm")
    assert not problems, "\n".join(problems)


def test_a_full_disk_when_the_run_takes_its_lock(zygote, reference, tmp_path):
    """The lock file's pid is the first thing a train writes (beside the run folder)."""
    ref = reference("lm")
    run = tmp_path / "run"
    result = zygote.run(["train", str(ref.config), "--out", str(run)], {"full_disk": {"match": ".run.lock", "n": 1}})
    assert not clear_error(result, "No space left on device"), result
    assert not run.exists() or not any(run.iterdir())


@pytest.mark.parametrize("where", ["run/lm-pretrain-text", "run/lm-pretrained/FINISHED"])
def test_a_full_disk_in_a_stage_is_one_clear_error(zygote, reference, tmp_path, where):
    """The stages' own files: the LM stage's text (written before it trains), its FINISHED marker."""
    ref = reference("stages")
    run = tmp_path / "run"
    result = zygote.run(["train", str(ref.config), "--out", str(run)], {"full_disk": {"match": where, "n": 1}})
    assert not clear_error(result, "No space left on device"), result
    assert not R.after_fault(run, "stages") and not R.leftovers(run)
    assert zygote.run(["train", str(ref.config), "--out", str(run), "--resume"]).returncode == 0
    assert not R.finished(run, ref.run, "stages")


def test_evaluate_on_a_full_disk_keeps_the_previous_reports(zygote, reference, tmp_path):
    ref = reference("classify")
    run = tmp_path / "run"
    shutil.copytree(ref.run, run)
    assert zygote.run(["evaluate", str(run), "--device", "cpu"]).returncode == 0
    before = files(run)
    result = zygote.run(["evaluate", str(run), "--device", "cpu"], {"full_disk_from": 1, "scope": str(run)})
    assert not clear_error(result, "No space left on device"), result
    assert not R.leftovers(run) and not R.differences(run, ref.run)
    after = files(run)
    assert after["eval-valid.json"] == before["eval-valid.json"]
    assert {k for k in before if after.get(k) != before[k]} == set(), "reports emptied by the full disk"


# ---- read-only folders -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def killed(zygote, reference, tmp_path_factory):
    """A classifier run killed between its best swap's two renames (no best/, the old one in .best.old)."""
    ref = reference("classify")
    run = tmp_path_factory.mktemp("killed") / "run"
    fault = {"op": "rename", "match": "run/.best.old", "n": 1, "when": "after"}
    assert zygote.run(["train", str(ref.config), "--out", str(run)], {"kill": fault}).killed
    return ref, run


@pytest.fixture
def copy(killed, tmp_path):
    """A fresh copy of the killed run (in a folder of its own, with its lock file)."""
    ref, run = killed
    out = tmp_path / "runs" / "run"
    shutil.copytree(run.parent, out.parent)
    yield ref, out
    for folder in (out.parent, out):
        if folder.exists():
            folder.chmod(0o755)


COMMANDS = {
    "train --resume": lambda cfg, run: ["train", str(cfg), "--out", str(run), "--resume"],
    "evaluate": lambda cfg, run: ["evaluate", str(run), "--device", "cpu"],
    "train --overwrite": lambda cfg, run: ["train", str(cfg), "--out", str(run), "--overwrite"],
}


def _read_only_then_resumed(zygote, ref, run, command, readonly: Path, faults=None) -> list[str]:
    """`command` on `run` while `readonly` is read-only (chmod 555, or `faults` for a read-only mount):
    the problems, checking a clear error, every file unchanged and, once writable again, a resume to
    the uninterrupted result."""
    before = files(run)
    if faults is None:
        readonly.chmod(0o555)
    try:
        result = zygote.run(COMMANDS[command](ref.config, run), faults, permissions_bind=faults is None)
    finally:
        readonly.chmod(0o755)
    problems = clear_error(result)
    after = files(run)
    problems += [f"changed: {k}" for k in sorted(before) if after.get(k) != before[k] and ".tmp" not in k]
    problems += [f"new: {k}" for k in sorted(set(after) - set(before))]
    resumed = zygote.run(COMMANDS["train --resume"](ref.config, run))
    problems += (
        [f"resume afterwards: exit {resumed.returncode}: {resumed.stderr.strip()[-300:]}"]
        if resumed.returncode
        else R.finished(run, ref.run, "classify")
    )
    return problems


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_read_only_run_folder(zygote, copy, command):
    ref, run = copy
    problems = _read_only_then_resumed(zygote, ref, run, command, run)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_read_only_mount(zygote, copy, command):
    """Every change under the folder holding the run (its lock file too) fails with EROFS."""
    ref, run = copy
    faults = {"deny": {"paths": [str(run.parent)], "errno": "EROFS"}, "scope": str(run.parent)}
    problems = _read_only_then_resumed(zygote, ref, run, command, run.parent, faults)
    assert not problems, "\n".join(problems)


def test_a_new_run_in_a_read_only_folder(zygote, reference, tmp_path):
    """`train --out ro/run` where ro/ is chmod 555: one clear error, nothing created."""
    ref = reference("classify")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        result = zygote.run(["train", str(ref.config), "--out", str(ro / "run")], permissions_bind=True)
    finally:
        ro.chmod(0o755)
    assert not clear_error(result, "Permission denied"), result
    assert list(ro.iterdir()) == []


@pytest.fixture(scope="module")
def swapped(zygote, reference, tmp_path_factory):
    """A classifier run killed after a checkpoint swap, before it removed the previous version
    (`.checkpoint-last.old` beside `checkpoint-last`: what tidying removes at the next train)."""
    ref = reference("classify")
    run = tmp_path_factory.mktemp("swapped") / "run"
    fault = {"op": "rmtree", "match": "run/.checkpoint-last.old", "n": 3, "when": "before"}  # the second swap's last step
    assert zygote.run(["train", str(ref.config), "--out", str(run)], {"kill": fault}).killed
    assert (run / ".checkpoint-last.old").is_dir() and (run / "checkpoint-last").is_dir()
    return ref, run


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_refused_command_on_a_read_only_run_tidies_nothing(zygote, swapped, tmp_path, command):
    """A read-only run folder holding a previous version aside: the refusal changes nothing (the
    tidying waits for a command that can go on), and a resume afterwards completes the run."""
    ref, killed = swapped
    run = tmp_path / "runs" / "run"
    shutil.copytree(killed.parent, run.parent)
    try:
        problems = _read_only_then_resumed(zygote, ref, run, command, run)
    finally:
        for folder in (run.parent, run):
            if folder.exists():
                folder.chmod(0o755)
    assert not problems, "\n".join(problems)
