"""SIGKILL at chosen file operations of every task's run, and of every stage of a staged run, again and
again, resuming after each kill: nothing is lost, nothing crashes, and the finished run is bitwise the
uninterrupted one.

Each task's run is killed inside its best-model swap (the old best moved aside, the new one not yet
in) and at three more points every run passes through (a half-written best or trainer state, a
half-removed previous checkpoint or best, between a checkpoint swap's renames, a half-written
metrics.csv or curves.png, before a folder's fsync, ...: a different set per task, so that the tasks
together cover them all), in the order a run meets them, then at a seeded random operation or moment
(tests/faults/chain.py). `stages` is first killed in its LM pretraining (its text half written,
between its checkpoint and best swaps, its FINISHED marker empty) and fine-tuning stages. After every
kill the run folder loads and predicts or says cleanly it has no model yet, and no checkpoint readable
before the kill is gone or went back in steps; the finished run verifies, loads, predicts what the
uninterrupted run predicts and holds its exact weights and metrics.csv. Then `evaluate` is killed at
each file it writes.
"""

from __future__ import annotations

import pytest

from tests.faults import chain as C
from tests.faults import runs as R
from tests.faults.inject import read_events

pytestmark = [pytest.mark.faults, pytest.mark.slow]  # the fault suite: `pytest -m faults` runs it alone


@pytest.mark.parametrize("task", R.TASKS)
def test_killed_again_and_again_a_run_resumes_to_the_uninterrupted_result(task, zygote, reference, tmp_path):
    ref = reference(task)
    assert ref.count("rename", "run/.best.old") >= 1, "the reference run must swap its best model at least once"
    faults = C.plan(task, R.seeded(R.TASKS.index(task)), len(ref.events), ref.wall_s)
    chain = C.kill_chain(zygote, task, ref.config, tmp_path / "run", ref.run, faults)
    assert not chain.problems, C.describe(chain)
    assert chain.finished
    fixed = len(faults) - 1  # the random one may land after the run's end
    fired = [a.fired for a in chain.attempts[:fixed]]
    assert all(fired) and len(fired) == fixed, C.describe(chain)  # every fixed point was reached and killed at


@pytest.fixture(scope="module")
def killed_evaluations(zygote, reference, tmp_path_factory):
    """A classifier run evaluated once (its reports kept), then `rnn-nlp evaluate` killed at each file it
    writes, once the file is half written (and before the rename for the JSON); the reports are put
    back whole before each kill. Returns (run, [(fault, files that differ from the whole ones, problems)])."""
    ref = reference("classify")
    root = tmp_path_factory.mktemp("evaluate")
    run = root / "run"
    assert zygote.run(["train", str(ref.config), "--out", str(run)]).returncode == 0
    first = zygote.run(["evaluate", str(run), "--device", "cpu"], {"events": str(root / "events"), "scope": str(run)})
    assert first.returncode == 0 and not first.traceback, first
    reports = {p.name: p.read_bytes() for p in run.iterdir() if p.name.startswith(("report-", "confusion-", "eval-"))}
    assert {"report-valid.txt", "confusion-valid.png", "eval-valid.json"} <= set(reports)
    writes = [e for e in read_events(root / "events") if e["op"] in ("open_w", "replace")]
    assert any(e["op"] == "replace" and e["dst"] == "eval-valid.json" for e in writes)
    outcomes = []
    for e in writes:
        fault = {"op": e["op"], "n": e["n"], "when": "torn" if e["op"] == "open_w" else "before"}
        result = zygote.run(["evaluate", str(run), "--device", "cpu"], {"kill": fault, "scope": str(run)})
        problems = ([] if result.killed else [f"not killed: {result}"]) + R.after_fault(run, "classify") + R.differences(run, ref.run)
        changed = sorted(name for name, data in reports.items() if (run / name).read_bytes() != data)
        outcomes.append((fault, changed, problems))
        for name, data in reports.items():
            (run / name).write_bytes(data)
    return run, outcomes


def test_a_kill_while_evaluating_leaves_the_run_and_its_last_eval_json(killed_evaluations):
    """The run's checkpoints are untouched and eval-valid.json is the previous complete report."""
    _, outcomes = killed_evaluations
    assert len(outcomes) >= 3
    for fault, changed, problems in outcomes:
        assert not problems, (fault, problems)
        assert "eval-valid.json" not in changed, fault


def test_a_kill_while_evaluating_leaves_every_previous_report_whole(killed_evaluations):
    """The other reports evaluate writes (report-valid.txt, confusion-valid.png) are the previous complete
    files after a kill too, not half of one."""
    _, outcomes = killed_evaluations
    torn = [f"{name} after a kill at {fault}" for fault, changed, _ in outcomes for name in changed]
    assert not torn, "reports left half written by a killed evaluate:\n" + "\n".join(torn)
