"""Hostile sweep: every row of the hostile-input table (tests/hostile/table.py) run outside pytest, on
tiny runs of every task trained here in a temporary folder; what each input got, and the totals.

    python benchmarks/hostile_sweep.py            # about a minute on 2 cores
    python benchmarks/hostile_sweep.py --keep DIR # train the tiny runs into DIR and leave them there

Each row is one hostile input (a FIFO or a device where a file was expected, a name over 255 bytes, a
file or folder that may not be opened, a reader gone away, an argument of the wrong type, a NaN or
infinite number, an extreme sampling setting, an empty or degenerate config, a YAML alias bomb) sent
to a CLI verb or an API call, and is one of:

    clear           exit 2 (or the package's error, a TypeError or ValueError) naming what and where
    correct         the right output
    traceback       a raw Python error reached the user
    silently wrong  exit 0 or a return where an error was due, or output that fails its check
    unclear         an error with another exit code, or a message without what and where

The issue's bar is 0 tracebacks, 0 silently wrong and 0 unclear. Writes results/hostile_sweep.md and
results/hostile_sweep.json; exits 1 if a row got another class than the table expects.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests` is a top-level package of the repository

import torch  # noqa: E402

from rnn_nlp.files import json_text  # noqa: E402
from tests.hostile.places import build_places  # noqa: E402
from tests.hostile.runner import OUTCOMES, run_row  # noqa: E402
from tests.hostile.table import ROWS  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BAD = ("traceback", "silently wrong", "unclear")


def sweep(root: Path) -> list[dict]:
    """Build the places under `root`, run every row, and return one record per row."""
    os.environ["RNN_NLP_CACHE"] = str(root / "cache")  # never the user's cache
    places = build_places(root / "places")
    records = []
    for row in ROWS:
        start = time.perf_counter()
        result = run_row(row, places)
        records.append(
            {
                "class": row.klass,
                "via": row.kind,
                "input": row.id.split(": ", 1)[1],
                "expected": row.expect.outcome,
                "outcome": result.outcome,
                "as_expected": result.outcome == row.expect.outcome,
                "known_problem": row.xfail,
                "seconds": round(time.perf_counter() - start, 2),
                "detail": result.detail,
            }
        )
        print(f"{result.outcome:>14}  {row.id}", file=sys.stderr)
    return records


def markdown(records: list[dict], totals: dict, by_class: dict, seconds: float) -> str:
    lines = [
        "# Hostile sweep: the hostile-input table on tiny runs of every task",
        "",
        f"{len(records)} inputs: " + ", ".join(f"{k} {totals[k]}" for k in OUTCOMES) + ". "
        f"Tracebacks {totals['traceback']}, silently wrong {totals['silently wrong']}, unclear {totals['unclear']}; "
        f"{sum(not r['as_expected'] for r in records)} rows got another class than the table expects.",
        "",
        f"`python benchmarks/hostile_sweep.py` on {platform.machine()} {platform.system()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {seconds:.0f} s including training the tiny runs.",
        "",
        "| class | " + " | ".join(OUTCOMES) + " |",
        "|---" * (len(OUTCOMES) + 1) + "|",
        *[f"| {k} | " + " | ".join(str(v[o]) for o in OUTCOMES) + " |" for k, v in by_class.items()],
        "",
        "| class | via | input | expected | outcome |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        shown = r["input"].replace("|", "\\|")
        mark = "" if r["as_expected"] else " **(unexpected)**"
        lines.append(f"| {r['class']} | {r['via']} | `{shown}` | {r['expected']} | {r['outcome']}{mark} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the tiny runs here and keep them (default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)  # the rows' own warnings are not the report
    start = time.perf_counter()
    if args.keep:
        records = sweep(args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            records = sweep(Path(tmp))
    seconds = time.perf_counter() - start
    counts = Counter(r["outcome"] for r in records)
    totals = {k: counts.get(k, 0) for k in OUTCOMES}
    by_class: dict[str, dict[str, int]] = {}
    for r in records:
        by_class.setdefault(r["class"], dict.fromkeys(OUTCOMES, 0))[r["outcome"]] += 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = {"inputs": len(records), "totals": totals, "by_class": by_class, "seconds": round(seconds, 1), "rows": records}
    (RESULTS / "hostile_sweep.json").write_text(json_text(report, indent=1) + "\n", encoding="utf-8")
    (RESULTS / "hostile_sweep.md").write_text(markdown(records, totals, by_class, seconds), encoding="utf-8")
    print(json.dumps(totals))
    return 0 if all(r["as_expected"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
