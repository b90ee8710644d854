"""Two processes on one run folder: a second writer stops at once naming the first's pid and the first
finishes as if alone; readers (load, verify, evaluate) while a run checkpoints every step never see a
checkpoint called corrupted or missing once the run has one (issue item 5).
"""

from __future__ import annotations

import os
import signal
import time

import pytest

import rnn_nlp
from rnn_nlp.errors import CheckpointError
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder
from tests.faults import runs as R
from tests.faults.zygote import process_state, wait_for_state

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # the fault suite: `pytest -m faults` runs it alone

SECOND = {
    "train": lambda cfg, run: ["train", str(cfg), "--out", str(run)],
    "train --resume": lambda cfg, run: ["train", str(cfg), "--out", str(run), "--resume"],
    "train --overwrite": lambda cfg, run: ["train", str(cfg), "--out", str(run), "--overwrite"],
}


def test_a_second_writer_stops_at_once_naming_the_first(zygote, reference, tmp_path):
    """The first writer is held (SIGSTOP) just after a checkpoint swap, lock in hand; each second
    writer (train, --resume, --overwrite) is refused with the first's pid and touches nothing; then
    the first goes on to the uninterrupted result."""
    ref = reference("classify")
    run = tmp_path / "run"
    hold = {"op": "rename", "match": "run/.checkpoint-last.old", "n": 2, "when": "stop"}
    first = zygote.start(["train", str(ref.config), "--out", str(run)], {"kill": hold})
    pid = first[0]
    try:
        assert wait_for_state(pid, "T") == "T", "the first writer never reached its hold point"
        before = R.snapshot(run)
        for name, argv in SECOND.items():
            started = time.perf_counter()
            second = zygote.run(argv(ref.config, run), timeout_s=60)
            assert second.returncode == 2 and not second.traceback, (name, second)
            assert f"being trained by another process (pid {pid})" in second.stderr, (name, second.stderr)
            assert time.perf_counter() - started < 20, name  # at once, not after waiting for the lock
            assert R.snapshot(run) == before, name
    finally:
        os.kill(pid, signal.SIGCONT)
    done = zygote.wait(first)
    assert done.returncode == 0 and not done.traceback, done
    assert not R.finished(run, ref.run, "classify")


def _read(run, seen_model: list) -> list[str]:
    """One round of a reader: verify and load the run and its checkpoint-last, the way a user would."""
    problems = []
    for folder, what in ((run, "best"), (run / run_folder.LAST, "checkpoint-last")):
        try:
            ckpt.verify(folder)
            rnn_nlp.load(folder, "cpu").predict(R.INPUTS["lm"])
            seen_model.append(what)
        except CheckpointError as exc:
            if what in seen_model:  # it was complete before: a reader must never be told otherwise
                problems.append(f"{what}: {exc}")
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{what}: {type(exc).__name__}: {exc}")
    return problems


def test_readers_during_checkpointing_never_see_a_broken_checkpoint(zygote, reference, tmp_path):
    ref = reference("lm")
    config = tmp_path / "every-step.yaml"
    # a checkpoint every step, and four epochs: a best model exists for three of them, so that readers meet it even
    # on a loaded machine, where most reads land on a swap (one full run beside another job read only checkpoint-last
    # in 980 rounds of two epochs)
    text = ref.config.read_text(encoding="utf-8")
    text = text.replace("checkpoint_every: 3", "checkpoint_every: 1").replace("  epochs: 2", "  epochs: 4")
    config.write_text(text, encoding="utf-8")
    assert "checkpoint_every: 1" in text and "  epochs: 4" in text
    run = tmp_path / "run"
    writer = zygote.start(["train", str(config), "--out", str(run)])
    problems, seen, rounds, evaluations = [], [], 0, []
    while process_state(writer[0]) not in "ZX":  # (a reaped process reads "", which is in any string)
        problems += _read(run, seen)
        rounds += 1
        if rounds % 40 == 0 and "best" in seen:
            evaluations.append(zygote.start(["evaluate", str(run), "--device", "cpu"]))
    done = zygote.wait(writer)
    for started in evaluations:
        result = zygote.wait(started)
        if result.returncode != 0:
            problems.append(f"evaluate during training: exit {result.returncode}: {result.stderr.strip()[-300:]}")
    assert done.returncode == 0, done
    assert rounds > 20 and "best" in seen and "checkpoint-last" in seen, (rounds, set(seen))
    assert not problems, f"{len(problems)} false alarms in {rounds} reads:\n" + "\n".join(sorted(set(problems))[:20])


HOLDS = {  # the writer stopped (SIGSTOP) at these moments of its swaps
    "between the best swap's renames": {"op": "rename", "match": "run/.best.tmp", "n": 2, "when": "stop"},
    "between the checkpoint swap's renames": {"op": "rename", "match": "run/.checkpoint-last.tmp", "n": 7, "when": "stop"},
    "before the previous checkpoint is removed": {"op": "rmtree", "match": "run/.checkpoint-last.old", "n": 13, "when": "stop"},
}


@pytest.mark.parametrize("hold_at", list(HOLDS))
def test_a_reader_while_the_writer_is_held_mid_swap_reads_a_whole_checkpoint(zygote, reference, tmp_path, hold_at):
    ref = reference("lm")
    run = tmp_path / "run"
    writer = zygote.start(["train", str(ref.config), "--out", str(run)], {"kill": HOLDS[hold_at]})
    try:
        assert wait_for_state(writer[0], "T") == "T", "the writer never reached its hold point"
        assert (run / run_folder.BEST / ckpt.META).exists() or (run / ".best.old" / ckpt.META).exists()  # a best exists by then
        assert not _read(run, ["best", "checkpoint-last"])
        result = zygote.run(["evaluate", str(run), "--device", "cpu"])
        assert result.returncode == 0 and not result.traceback, result
    finally:
        os.kill(writer[0], signal.SIGCONT)
    assert zygote.wait(writer).returncode == 0
    assert not R.finished(run, ref.run, "lm")


SWAPS = {  # (the writer held just before a swap, held again once that swap is complete, the old version removed)
    "best": [
        {"op": "rename", "match": "run/.best.old", "n": 1, "when": "stop"},
        {"op": "rmtree", "match": "run/.best.old", "n": 3, "when": "stop_after"},
    ],
    "checkpoint-last": [
        {"op": "rename", "match": "run/.checkpoint-last.old", "n": 6, "when": "stop"},
        {"op": "rename", "match": "run/.checkpoint-last.old", "n": 7, "when": "stop"},
    ],
}
PAUSES = {  # where the reader pauses: (object, attribute, the call to pause at)
    "mid-read, before the weights file": (ckpt, "_read_file", lambda name, *rest: name == ckpt.WEIGHTS),
    "after the read, before the weights are parsed": (ckpt.Checkpoint, "weights", lambda *args: True),
}


@pytest.mark.parametrize("pause", list(PAUSES))
@pytest.mark.parametrize("folder", list(SWAPS))
def test_a_slow_reader_across_a_whole_swap_is_not_told_the_checkpoint_is_broken(zygote, reference, tmp_path, monkeypatch, folder, pause):
    """The reader (rnn_nlp.load, here in this process) pauses at one point of its read while the writer
    swaps a new version in and removes the old one: it must still load a whole model (either one),
    never report a complete checkpoint as corrupted or missing."""
    ref = reference("lm")
    run = tmp_path / "run"
    writer = zygote.start(["train", str(ref.config), "--out", str(run)], {"kill": SWAPS[folder]})
    pid = writer[0]
    owner, attribute, at = PAUSES[pause]
    real, swapped = getattr(owner, attribute), []

    def slow(*args, **kwargs):
        if not swapped and at(*args):  # the first time: let the writer run through its swap, to its next hold
            swapped.append(True)
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
            assert wait_for_state(pid, "T") == "T", "the writer did not stop after its swap"
        return real(*args, **kwargs)

    try:
        assert wait_for_state(pid, "T") == "T", "the writer never reached its hold point"
        target = run if folder == "best" else run / run_folder.LAST
        before = R.fingerprint(target)
        monkeypatch.setattr(owner, attribute, slow)
        try:
            model = rnn_nlp.load(target, "cpu")
        except CheckpointError as exc:
            pytest.fail(f"a reader paused {pause} of {folder} while it was swapped was told: {exc}")
        finally:
            monkeypatch.undo()
        assert swapped, "the reader never reached its pause point"
        got = R.fingerprint_of(model)
        assert got in (before, R.fingerprint(target)), "the model loaded is neither the old version nor the new"
    finally:
        os.kill(pid, signal.SIGCONT)
    assert zygote.wait(writer).returncode == 0
