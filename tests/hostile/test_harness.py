"""Every row of the hostile table gets the class of outcome it expects (tests/hostile/table.py)."""

from __future__ import annotations

import pytest

from tests.hostile.runner import run_row
from tests.hostile.table import ROWS, Row

pytestmark = pytest.mark.slow  # the tiny runs are trained first (about ten seconds), and pipe rows start processes


def _param(row: Row):
    marks = [pytest.mark.xfail(strict=True, reason=row.xfail)] if row.xfail else []
    return pytest.param(row, id=row.id, marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_row(places, row):
    result = run_row(row, places)
    assert result.outcome == row.expect.outcome, result.detail
