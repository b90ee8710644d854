"""One fault-injection zygote for the session (torch and the library imported once, a fork per run)
and one uninterrupted reference run per task, trained on first use, with its list of file operations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.faults import runs as R
from tests.faults.inject import read_events
from tests.faults.zygote import Zygote


@dataclass
class Reference:
    task: str
    config: Path
    run: Path
    events: list = field(default_factory=list)
    wall_s: float = 0.0

    def count(self, op: str, match: str = "") -> int:
        return sum(1 for e in self.events if (op == "any" or e["op"] == op) and (match in e["path"] or match in (e["dst"] or "")))


class References:
    def __init__(self, root: Path, zygote: Zygote):
        self.root, self.zygote, self.done = root, zygote, {}

    def __call__(self, task: str) -> Reference:
        if task not in self.done:
            folder = self.root / task
            folder.mkdir()
            config = R.write_config(task, folder)
            run = folder / "ref" / "run"
            events = folder / "ref.events"
            result = self.zygote.run(["train", str(config), "--out", str(run)], {"events": str(events)})
            assert result.returncode == 0 and not result.traceback, result
            self.done[task] = Reference(task, config, run, read_events(events), result.wall_s)
        return self.done[task]


@pytest.fixture(scope="session")
def zygote(tmp_path_factory):
    cache = os.environ.get("RNN_NLP_CACHE") or str(tmp_path_factory.mktemp("fault-cache"))
    z = Zygote(tmp_path_factory.mktemp("zygote"), env={"RNN_NLP_CACHE": cache})
    yield z
    z.close()


@pytest.fixture(scope="session")
def reference(tmp_path_factory, zygote) -> References:
    return References(tmp_path_factory.mktemp("references"), zygote)
