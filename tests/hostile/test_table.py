"""The hostile table is the map: every class of hostile input reaches every task, CLI verb and API
entry point it can, and each row is well formed."""

from __future__ import annotations

from collections import defaultdict

from tests.hostile.runner import OUTCOMES
from tests.hostile.table import API_ENTRY_POINTS, CLASSES, CLI_VERBS, ROWS, TASKS


def test_every_class_has_rows():
    assert {r.klass for r in ROWS} == set(CLASSES)


def test_every_cli_verb_and_api_entry_point_is_tried():
    verbs = {r.target for r in ROWS if r.kind in ("cli", "pipe")}
    calls = {r.target.split(".")[-1] for r in ROWS if r.kind == "api" and isinstance(r.target, str)}
    assert set(CLI_VERBS) <= verbs, set(CLI_VERBS) - verbs
    assert set(API_ENTRY_POINTS) <= calls, set(API_ENTRY_POINTS) - calls


def test_every_task_meets_every_class_that_concerns_models():
    by_class = defaultdict(set)
    for row in ROWS:
        by_class[row.klass].update(row.tasks)
    for klass in CLASSES:
        wanted = {"lm", "seq2seq"} if klass == "extreme sampling" else set(TASKS)  # only these generate
        assert wanted <= by_class[klass], (klass, wanted - by_class[klass])


def test_rows_are_well_formed():
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    for row in ROWS:
        assert row.expect.outcome in OUTCOMES[:2] and row.kind in ("cli", "pipe", "api"), row
        assert row.expect.outcome == "correct" or row.expect.fragment, f"{row.id}: a clear row names what it expects"
