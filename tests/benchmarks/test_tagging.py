"""benchmarks/tagging.py: which trained run its speed rows time."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.tagging import speed_source  # noqa: E402


def test_speed_rows_time_the_plain_run_or_else_the_lowest_seed():
    assert speed_source({"ours-ner": {}, "ours-ner/seed1": {}}, "ours-ner") == "ours-ner"
    seeded = {"ours-ner/seed10": {}, "ours-ner/seed2": {}, "ours-ner/ensemble-2": {}, "ours-ner-pretrained/seed1": {}}
    assert speed_source(seeded, "ours-ner") == "ours-ner/seed2"  # by number, not as text; other systems' seeds not taken
    assert speed_source({"ours-ner-pretrained/seed1": {}}, "ours-ner") is None
    assert speed_source({}, "ours-pos") is None
