"""mypy on the package (tasks/ read as rnn_nlp.tasks through the symlink rnn_nlp/tasks), held against a
baseline that may only shrink.

The baseline (.ci/mypy-baseline.json) counts today's errors per source file and error code. A run
fails when any count grows (a new error) and when one falls without the baseline being lowered
(`python .ci/mypy_baseline.py --update` writes the smaller counts), so it only shrinks.
Counting per file and code, not per line, keeps the baseline stable when lines move.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

BASELINE = Path(__file__).with_name("mypy-baseline.json")
ERROR = re.compile(r"^(?P<file>[^:]+):\d+: error: .*\[(?P<code>[a-z-]+)\]$")


def source_path(installed: str) -> str:
    """The repository path of a module's file (rnn_nlp/tasks/... lives in tasks/)."""
    return installed.replace("rnn_nlp/tasks/", "tasks/", 1) if installed.startswith("rnn_nlp/tasks/") else installed


def run_mypy(root: Path) -> tuple[Counter, str]:
    done = subprocess.run([sys.executable, "-m", "mypy", "rnn_nlp"], cwd=root, capture_output=True, text=True)
    counts: Counter = Counter()
    for line in done.stdout.splitlines():
        found = ERROR.match(line)
        if found:
            counts[f"{source_path(found['file'])} [{found['code']}]"] += 1
    if done.returncode not in (0, 1) or (done.returncode == 1 and not counts):
        sys.exit(f"mypy failed to run:\n{done.stdout}{done.stderr}")
    return counts, done.stdout


def main(argv: list[str]) -> int:
    counts, output = run_mypy(BASELINE.parent.parent)
    if "--update" in argv:
        BASELINE.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n", encoding="utf-8")
        print(f"mypy baseline: {sum(counts.values())} errors in {len(counts)} file/code pairs written to {BASELINE}")
        return 0
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    grown = {k: (baseline.get(k, 0), n) for k, n in counts.items() if n > baseline.get(k, 0)}
    shrunk = {k: (n, counts.get(k, 0)) for k, n in baseline.items() if counts.get(k, 0) < n}
    if grown:
        print(output)
        print("mypy: new errors (file [code]: baseline -> now):")
        for k, (was, now) in sorted(grown.items()):
            print(f"  {k}: {was} -> {now}")
        return 1
    if shrunk:
        print("mypy: fewer errors than the baseline; lower it with `python .ci/mypy_baseline.py --update`:")
        for k, (was, now) in sorted(shrunk.items()):
            print(f"  {k}: {was} -> {now}")
        return 1
    print(f"mypy: {sum(counts.values())} errors, all in the baseline ({len(baseline)} file/code pairs); nothing new")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
