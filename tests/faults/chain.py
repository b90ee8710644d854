"""A run killed again and again, resumed after each kill, then resumed to its end; what each kill left.

`kill_chain` trains a config into a run folder under a list of faults, one process per fault (the
first a fresh `train`, the others `train --resume`), then resumes without faults until the run ends,
and records, after every process: how it ended (a kill, exit 0, a clean error, a traceback), whether
a checkpoint readable before it was lost or went back in steps, whether the folder still loads (or
says cleanly it has no model yet), and at the end how the finished run differs from the uninterrupted
reference (bitwise weights, steps, metrics.csv, predictions, left-over temporary folders).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults import runs as R
from tests.faults.zygote import Result, Zygote

# kill points every task's run passes through (counted in each process from its start), in three
# phases: at any checkpoint (so at the next one after a resume), at an evaluation (the next one, which
# a resume from the checkpoint before it does again), and after a swap is complete (which may end the run)
BEST_SWAP = {"op": "rename", "match": "run/.best.old", "n": 1, "when": "after"}  # old best aside, new not yet in
COMMON = [
    ("between the best swap's two renames", BEST_SWAP, 1),
    ("a trainer state half written", {"op": "torch_save", "match": "run/.checkpoint-last.tmp", "n": 1, "when": "torn"}, 0),
    ("between the checkpoint swap's two renames", {"op": "rename", "match": "run/.checkpoint-last.old", "n": 1, "when": "after"}, 0),
    ("a new best's weights half written", {"op": "save_file", "match": "run/.best.tmp", "n": 1, "when": "torn"}, 1),
    ("before a checkpoint folder's fsync", {"op": "fsync", "match": "run/.checkpoint-last.tmp", "n": 6, "when": "before"}, 0),
    ("metrics.csv half written", {"op": "open_w", "match": "run/metrics.csv", "n": 1, "when": "torn"}, 1),
    ("curves.png half written", {"op": "open_w", "match": "run/curves", "n": 1, "when": "torn"}, 1),
    ("a new best complete, before its rename", {"op": "rename", "match": "run/.best.tmp", "n": 1, "when": "before"}, 1),
    ("the previous best half removed after a swap", {"op": "rmtree", "match": "run/.best.old", "n": 2, "when": "torn"}, 2),
    ("the previous checkpoint half removed after a swap", {"op": "rmtree", "match": "run/.checkpoint-last.old", "n": 2, "when": "torn"}, 2),
]
# the stages of `stages` (LM pretraining, LM fine-tuning, then the tagger), each passed through
STAGES = [
    ("the pretraining text half written", {"op": "open_w", "match": "run/lm-pretrain-text/train.txt", "n": 1, "when": "torn"}),
    (
        "pretraining: between its 3rd checkpoint swap's renames",
        {"op": "rename", "match": "run/lm-pretrained/.checkpoint-last.old", "n": 3, "when": "after"},
    ),
    (
        "pretraining: its next checkpoint swapped in",
        {"op": "rename", "match": "run/lm-pretrained/checkpoint-last", "n": 1, "when": "after"},
    ),
    ("pretraining: between its best swap's renames", {"op": "rename", "match": "run/lm-pretrained/.best.old", "n": 1, "when": "after"}),
    ("pretraining: FINISHED created, nothing written", {"op": "open_w", "match": "run/lm-pretrained/FINISHED", "n": 1, "when": "after"}),
    (
        "fine-tuning: its first checkpoint's trainer state half written",
        {"op": "torch_save", "match": "run/lm-finetuned/", "n": 1, "when": "torn"},
    ),
    (
        "fine-tuning: its best model's weights half written",
        {"op": "save_file", "match": "run/lm-finetuned/.best.tmp", "n": 1, "when": "torn"},
    ),
    ("the tagger: its first checkpoint swapped in", {"op": "rename", "match": "run/checkpoint-last", "n": 1, "when": "after"}),
]


@dataclass
class Attempt:
    what: str
    fault: dict
    returncode: int
    wall_s: float
    problems: list = field(default_factory=list)
    snapshot: dict = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return self.returncode == -9


@dataclass
class Chain:
    task: str
    attempts: list = field(default_factory=list)
    final: list = field(default_factory=list)  # problems of the finished run
    finished: bool = False

    @property
    def problems(self) -> list[str]:
        out = [f"after {a.what} {a.fault}: {p}" for a in self.attempts for p in a.problems]
        return out + [f"finished run: {p}" for p in self.final]

    @property
    def kills(self) -> int:
        return sum(a.fired for a in self.attempts)


def random_faults(rng: random.Random, ref_events: int, ref_wall_s: float, n: int) -> list[tuple[str, dict]]:
    """`n` kills at random: at an operation (any kind, before / after / torn) or at a random moment."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3:
            out.append(("a random moment", {"after_s": round(rng.uniform(0.05, max(0.1, ref_wall_s * 0.8)), 3)}))
        else:
            op = rng.choice(["any", "any", "write", "rename", "rmtree", "fsync"])
            when = rng.choice(["before", "after", "torn"] if op != "fsync" else ["before", "after"])
            limit = {
                "any": ref_events,
                "write": ref_events // 3,
                "rename": ref_events // 10,
                "rmtree": ref_events // 7,
                "fsync": ref_events // 3,
            }[op]
            fault = {"op": op, "n": rng.randint(1, max(1, limit // 4)), "when": when}
            out.append((f"a random {op} call", fault))
    return out


def plan(task: str, rng: random.Random, ref_events: int, ref_wall_s: float, n_fixed: int = 4, n_random: int = 1) -> list[tuple[str, dict]]:
    """The kill points of a task's chain: the stages' (for `stages`), the best swap's, `n_fixed` - 1
    more of those every run has (a different set for each task, so that the tasks together pass
    through all of them), in the order a run meets them, then `n_random` at random (last, so that
    none ends the run before a fixed one is reached)."""
    first = R.TASKS.index(task) * (n_fixed - 1)
    chosen = [COMMON[0]] + [COMMON[1 + (first + i) % (len(COMMON) - 1)] for i in range(n_fixed - 1)]
    fixed = [(what, fault) for what, fault, _ in sorted(chosen, key=lambda item: item[2])]
    return (STAGES if task == "stages" else []) + fixed + random_faults(rng, ref_events, ref_wall_s, n_random)


def _outcome(result: Result) -> list[str]:
    problems = []
    if result.traceback:
        problems.append("a traceback on stderr: " + result.stderr.strip().splitlines()[-1][:300])
    elif result.returncode not in (0, -9):
        problems.append(f"exit {result.returncode}: {result.stderr.strip()[-300:]}")
    if result.timed_out:
        problems.append("did not end within the time limit")
    return problems


def kill_chain(
    zygote: Zygote,
    task: str,
    config: Path,
    run: Path,
    ref: Path,
    faults: list[tuple[str, dict]],
    timeout_s: float = 300,
    check_each: bool = True,
    final_tries: int = 2,
) -> Chain:
    """Train `config` into `run` under each fault in turn (see the module's doc); compare with `ref` at the end."""
    chain = Chain(task)
    before: dict = {}
    for i, (what, fault) in enumerate(faults):
        argv = ["train", str(config), "--out", str(run)] + (["--resume"] if i else [])
        kill = {k: v for k, v in fault.items() if k != "after_s"} or None
        result = zygote.run(argv, {"kill": kill} if kill else {}, timeout_s=timeout_s, kill_after_s=fault.get("after_s"))
        attempt = Attempt(what, fault, result.returncode, result.wall_s, _outcome(result))
        attempt.snapshot = R.snapshot(run)
        if check_each:
            attempt.problems += R.losses(before, attempt.snapshot)
            attempt.problems += R.after_fault(run, task)
        before = attempt.snapshot
        chain.attempts.append(attempt)
        if result.returncode == 0:  # the run ended before the fault's point
            chain.finished = True
            break
        if result.returncode != -9:
            break
    for _ in range(final_tries):
        if chain.finished:
            break
        result = zygote.run(["train", str(config), "--out", str(run), "--resume"], timeout_s=timeout_s)
        chain.final += _outcome(result)
        chain.finished = result.returncode == 0
        if result.returncode != 0 and not result.traceback:
            chain.final.append(f"resuming after the faults: exit {result.returncode}: {result.stderr.strip()[-300:]}")
    if not chain.finished:
        chain.final.append("the run never finished")
        return chain
    after = R.snapshot(run)
    chain.final += R.losses(before, after)
    chain.final += R.finished(run, ref, task)
    return chain


def describe(chain: Chain) -> str:
    lines = [f"{chain.task}: {chain.kills} kills, finished: {chain.finished}"]
    for a in chain.attempts:
        lines.append(f"  {a.what} {a.fault}: exit {a.returncode} ({a.wall_s:.1f} s) {a.snapshot}")
    lines += [f"  PROBLEM {p}" for p in chain.problems]
    return "\n".join(lines)
