"""Chaos run: every task's tiny run hit again and again by kills, full disks, read-only folders, second
writers and slow readers; what survived, what was lost, what crashed, what came out silently wrong.

    python benchmarks/chaos.py                      # 200 faults over every task (a few minutes on 2 cores)
    python benchmarks/chaos.py --attempts 500 --seed 3
    python benchmarks/chaos.py --quick              # a smoke test: 12 faults on two tasks

Each task's run (tests/faults/runs.py: a checkpoint every 3 steps, two evaluations; `stages` adds LM
pretraining and fine-tuning stages) is trained once uninterrupted as the reference, with the list of
its file operations. Then runs of it are taken through chains of faults, one process per fault, drawn
at random from these kinds (the file-operation machinery is tests/faults/inject.py):

    kill            SIGKILL at a random file operation (before it, after it, or with its file half written)
    kill-best-swap  SIGKILL at a random operation of a best-model swap
    kill-stage      SIGKILL at a random operation of an LM stage (`stages` only)
    kill-moment     SIGKILL at a random moment
    kill-evaluate   `evaluate` killed at one of its writes
    disk-full       the disk fills at a random write of a resumed run
    read-only       resume / evaluate / --overwrite with the run folder, or the folder holding it, read-only
                    (chmod 555 with permission bits binding even root, or an injected read-only mount)
    second-writer   the writer held (SIGSTOP) mid-run, a second train / --resume / --overwrite on the folder
    slow-reader     rnn_nlp.load of best/ or checkpoint-last/, paused inside its read while the writer
                    swaps a new version in and removes the old one

and each chain ends with `--resume` until the run completes. Every fault is then one of:

    survived       the process ended as the fault allows (killed; one clear `error:` line, exit 2; a
                   refusal naming the lock's holder; a reader getting a whole model), nothing readable
                   before was lost, the folder loads or says cleanly it has no model yet
    crashed        a Python traceback, or an exit that is not a clear error
    lost           a checkpoint readable before it gone, unreadable or back in steps, or a run that can
                   no longer be resumed, or a reader told a complete checkpoint is broken
    silent-wrong   exit 0 where the fault should have stopped it, or a reader given a mix of versions

and every completed run is compared bitwise with the reference (weights of best/ and checkpoint-last/,
steps, metrics.csv, predictions): a difference is a silent-wrong run. Faults whose point lay beyond the
run's end count apart ("not reached"). Writes benchmarks/results/chaos.json and chaos.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from tests.faults import runs as R  # noqa: E402
from tests.faults.inject import faults_acted, read_events  # noqa: E402
from tests.faults.zygote import Zygote, wait_for_state  # noqa: E402

KINDS = ("kill", "kill-best-swap", "kill-stage", "kill-moment", "kill-evaluate", "disk-full", "read-only", "second-writer", "slow-reader")
WEIGHTS = {
    "kill": 4,
    "kill-best-swap": 2,
    "kill-stage": 3,
    "kill-moment": 2,
    "kill-evaluate": 1,
    "disk-full": 2,
    "read-only": 1,
    "second-writer": 1,
    "slow-reader": 1,
}
VERDICTS = ("survived", "crashed", "lost", "silent-wrong", "not reached")


class Chaos:
    def __init__(self, zygote: Zygote, work: Path, rng: random.Random):
        self.z, self.work, self.rng = zygote, work, rng
        self.refs: dict = {}
        self.outcomes: list[dict] = []
        self.runs: list[dict] = []
        self.serial = 0

    # ---- the references ----------------------------------------------------------------------
    def reference(self, task: str) -> dict:
        if task not in self.refs:
            folder = self.work / "references" / task
            folder.mkdir(parents=True)
            config = R.write_config(task, folder)
            result = self.z.run(["train", str(config), "--out", str(folder / "run")], {"events": str(folder / "events")})
            if result.returncode != 0:
                raise SystemExit(f"the reference run of {task} failed:\n{result.stderr[-3000:]}")
            self.refs[task] = {"config": config, "run": folder / "run", "events": read_events(folder / "events"), "wall_s": result.wall_s}
        return self.refs[task]

    def _count(self, task: str, op: str, match: str = "") -> int:
        return sum(1 for e in self.reference(task)["events"] if e["op"] == op and (match in e["path"] or match in (e["dst"] or "")))

    # ---- one fault ---------------------------------------------------------------------------
    def record(self, task: str, kind: str, fault, verdict: str, detail: str, wall_s: float) -> str:
        self.outcomes.append(
            {"task": task, "kind": kind, "fault": fault, "verdict": verdict, "detail": detail[:600], "wall_s": round(wall_s, 2)}
        )
        return verdict

    def _train(self, task, run, faults=None, **kw):
        ref = self.reference(task)
        argv = ["train", str(ref["config"]), "--out", str(run)] + (["--resume"] if run.exists() else [])
        return self.z.run(argv, faults or {}, **kw)

    def _judge_kill(self, task, run, before, result) -> tuple[str, str]:
        if result.traceback:
            return "crashed", "traceback: " + result.stderr.strip().splitlines()[-1]
        if result.returncode == 0:
            return "not reached", "the run ended before the fault's point"
        if result.returncode != -9:
            return "lost", f"exit {result.returncode}: {result.stderr.strip()[-300:]}"
        problems = R.losses(before, R.snapshot(run)) + R.after_fault(run, task)
        return ("lost", "; ".join(problems)) if problems else ("survived", "")

    def kill(self, task, run, kind):
        ref = self.reference(task)
        rng = self.rng
        if kind == "kill-moment":
            fault = {"after_s": round(rng.uniform(0.05, ref["wall_s"]), 3)}
            faults, kw = {}, {"kill_after_s": fault["after_s"]}
        else:
            if kind == "kill-best-swap":
                op, match = rng.choice(
                    [
                        ("rename", "run/.best"),
                        ("rmtree", "run/.best"),
                        ("save_file", "run/.best.tmp"),
                        ("open_w", "run/.best.tmp"),
                        ("fsync", "run/.best.tmp"),
                        ("mkdir", "run/.best.tmp"),
                    ]
                )
            elif kind == "kill-stage":
                op = rng.choice(["any", "rename", "rmtree", "save_file", "torch_save", "open_w", "fsync"])
                match = rng.choice(["run/lm-pretrained/", "run/lm-finetuned/", "run/lm-pretrain-text/", "run/lm-finetune-text/"])
            else:
                op, match = rng.choice(["any", "any", "write", "rename", "rmtree", "fsync", "save_file", "torch_save", "open_w"]), ""
            total = max(1, self._count(task, op, match) if op not in ("any", "write") else len(ref["events"]) // (1 if op == "any" else 3))
            when = rng.choice(["before", "after", "torn"] if op not in ("fsync", "mkdir") else ["before", "after"])
            fault = {"op": op, "n": rng.randint(1, max(1, total // 3)), "when": when, "match": match or None}
            faults, kw = {"kill": fault}, {}
        before = R.snapshot(run) if run.exists() else {}
        result = self._train(task, run, faults, **kw)
        verdict, detail = self._judge_kill(task, run, before, result)
        return self.record(task, kind, fault, verdict, detail, result.wall_s), result.returncode == 0

    def kill_evaluate(self, task, run):
        if not R.run_folder.resolve(run).exists() or not (run / R.BEST).exists():
            return None, False
        events = self.work / f"ev-{self.next()}"
        first = self.z.run(["evaluate", str(run), "--device", "cpu"], {"events": str(events), "scope": str(run)})
        writes = [e for e in read_events(events) if e["op"] in ("open_w", "replace", "mkdir")]
        if first.returncode != 0 or not writes:
            return self.record(
                task,
                "kill-evaluate",
                {},
                "crashed" if first.traceback else "lost",
                f"evaluate before the kill: exit {first.returncode}: {first.stderr.strip()[-300:]}",
                first.wall_s,
            ), False
        e = self.rng.choice(writes)
        fault = {"op": e["op"], "n": e["n"], "when": self.rng.choice(["before", "torn"] if e["op"] == "open_w" else ["before", "after"])}
        before, weights = R.snapshot(run), R.fingerprint(run)
        report = (run / "eval-valid.json").read_bytes() if (run / "eval-valid.json").exists() else None
        result = self.z.run(["evaluate", str(run), "--device", "cpu"], {"kill": fault, "scope": str(run)})
        verdict, detail = self._judge_kill(task, run, before, result)
        if verdict == "survived" and R.fingerprint(run) != weights:
            verdict, detail = "lost", "evaluate changed the best model"
        if verdict == "survived" and report is not None:
            try:
                json.loads((run / "eval-valid.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                verdict, detail = "lost", f"eval-valid.json no longer whole: {exc}"
        return self.record(task, "kill-evaluate", fault, verdict, detail, result.wall_s), False

    def disk_full(self, task, run):
        ref = self.reference(task)
        writes = sum(1 for e in ref["events"] if e["w"] is not None)
        fault = {"from_write": self.rng.randint(1, max(1, writes // 2))}  # of the process's writes, the lock's among them
        events = self.work / f"ev-{self.next()}"
        before = R.snapshot(run) if run.exists() else {}
        result = self._train(task, run, {"full_disk_from": fault["from_write"], "events": str(events)})
        acted = faults_acted(events)
        lines = result.stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith("error:")]
        if result.traceback:
            verdict, detail = "crashed", "traceback: " + lines[-1]
        elif not acted:
            verdict, detail = "not reached", ""
        elif result.returncode == 0:
            verdict, detail = "silent-wrong", "exit 0 although a write failed for want of space"
        elif result.returncode != 2 or len(errors) != 1 or lines[-1] != errors[0]:
            verdict, detail = "crashed", f"exit {result.returncode}, not one clear error: {lines[-3:]}"
        else:
            problems = R.losses(before, R.snapshot(run)) + R.after_fault(run, task)
            verdict, detail = ("lost", "; ".join(problems)) if problems else ("survived", "")
            left = R.leftovers(run)
            if left and verdict == "survived":
                detail = "left behind: " + ", ".join(left)
        return self.record(task, "disk-full", fault, verdict, detail, result.wall_s), False

    def read_only(self, task, run):
        if not run.exists():
            return None, False
        ref = self.reference(task)
        command = self.rng.choice(["train --resume", "evaluate", "train --overwrite"])
        how = self.rng.choice(["chmod run", "mount run", "mount parent"])
        argv = {
            "train --resume": ["train", str(ref["config"]), "--out", str(run), "--resume"],
            "evaluate": ["evaluate", str(run), "--device", "cpu"],
            "train --overwrite": ["train", str(ref["config"]), "--out", str(run), "--overwrite"],
        }[command]
        target = run.parent if how.endswith("parent") else run
        before, snap = hashes(run), R.snapshot(run)
        faults = {"deny": {"paths": [str(target)], "errno": "EROFS"}, "scope": str(run.parent)} if how.startswith("mount") else {}
        if how.startswith("chmod"):
            target.chmod(0o555)
        try:
            result = self.z.run(argv, faults, permissions_bind=how.startswith("chmod"))
        finally:
            target.chmod(0o755)
        fault = {"command": command, "read-only": how}
        lines = result.stderr.strip().splitlines()
        # a stage's own folder stays writable under a chmod-ed run folder, so its training may go on: only
        # what was readable and no longer is, or a file gone, is a loss (the temporaries aside)
        after = hashes(run)
        removed = sorted(k for k in before if k not in after and ".tmp" not in k)
        problems = R.losses(snap, R.snapshot(run)) + R.after_fault(run, task) + [f"removed: {', '.join(removed[:5])}"] * bool(removed)
        if result.traceback:
            verdict, detail = "crashed", "traceback: " + lines[-1]
        elif problems:
            verdict, detail = "lost", "; ".join(problems)
        elif result.returncode not in (0, 2) or (result.returncode == 2 and not lines[-1].startswith("error:")):
            verdict, detail = "crashed", f"exit {result.returncode}: {lines[-3:]}"
        else:
            verdict, detail = "survived", ""
        return self.record(task, "read-only", fault, verdict, detail, result.wall_s), False

    def second_writer(self, task, run):
        ref = self.reference(task)
        hold = {"op": "rename", "n": self.rng.randint(1, 3), "when": "stop", "match": "run/.checkpoint-last"}
        started = self.z.start(["train", str(ref["config"]), "--out", str(run)] + (["--resume"] if run.exists() else []), {"kill": hold})
        pid = started[0]
        if wait_for_state(pid, "TZ") != "T":
            result = self.z.wait(started)
            return self.record(
                task,
                "second-writer",
                hold,
                "not reached" if result.returncode == 0 else "crashed",
                result.stderr.strip()[-300:],
                result.wall_s,
            ), result.returncode == 0
        before = R.snapshot(run)
        command = self.rng.choice(["", "--resume", "--overwrite"])
        second = self.z.run(["train", str(ref["config"]), "--out", str(run)] + ([command] if command else []), timeout_s=60)
        os.kill(pid, signal.SIGKILL)  # and the held writer dies there: a kill mid-swap as well
        self.z.wait(started)
        fault = {"hold": hold, "second": f"train {command}".strip()}
        if second.traceback:
            verdict, detail = "crashed", "traceback: " + second.stderr.strip().splitlines()[-1]
        elif second.returncode != 2 or f"pid {pid}" not in second.stderr:
            verdict, detail = (
                "silent-wrong" if second.returncode == 0 else "crashed",
                f"exit {second.returncode}: {second.stderr.strip()[-300:]}",
            )
        else:
            problems = R.losses(before, R.snapshot(run)) + R.after_fault(run, task)
            verdict, detail = ("lost", "; ".join(problems)) if problems else ("survived", "")
        return self.record(task, "second-writer", fault, verdict, detail, second.wall_s), False

    def slow_reader(self, task, run):
        ref = self.reference(task)
        folder = self.rng.choice(["best", "checkpoint-last"])
        pause = self.rng.choice(list(PAUSES))
        old = "run/.best.old" if folder == "best" else "run/.checkpoint-last.old"
        holds = [{"op": "rename", "match": old, "n": 1, "when": "stop"}, {"op": "rename", "match": old, "n": 2, "when": "stop"}]
        if folder == "best":  # one best swap a run: hold again once its old version is removed
            has_best = R.run_folder.resolve(run / R.BEST).exists() if run.exists() else False
            holds[1] = {"op": "rmtree", "match": old, "n": 2 if has_best else 3, "when": "stop_after"}
        started = self.z.start(["train", str(ref["config"]), "--out", str(run)] + (["--resume"] if run.exists() else []), {"kill": holds})
        pid = started[0]
        fault = {"folder": folder, "pause": pause}
        if wait_for_state(pid, "TZ") != "T":
            result = self.z.wait(started)
            return self.record(task, "slow-reader", fault, "not reached", "", result.wall_s), result.returncode == 0
        target = run if folder == "best" else run / R.LAST
        t0 = time.perf_counter()
        verdict, detail = "survived", ""
        try:
            old_print = R.fingerprint(target)
            with paused(pause, pid) as swapped:
                model = R.load_model(target)
            versions = {old_print, R.fingerprint(target)}
            if R.fingerprint_of(model) not in versions:
                verdict, detail = "silent-wrong", "loaded a model that is neither the old version nor the new"
            elif not swapped:
                verdict = "not reached"
        except R.CheckpointError as exc:
            verdict, detail = "lost", f"a reader was told: {exc}"
        except Exception as exc:  # noqa: BLE001
            verdict, detail = "crashed", f"{type(exc).__name__}: {exc}"
        finally:
            os.kill(pid, signal.SIGKILL)
            self.z.wait(started)
        return self.record(task, "slow-reader", fault, verdict, detail, time.perf_counter() - t0), False

    def next(self) -> int:
        self.serial += 1
        return self.serial

    # ---- a chain -------------------------------------------------------------------------------
    def chain(self, task: str, n_faults: int) -> int:
        ref = self.reference(task)
        run = self.work / "chains" / f"{self.next()}-{task}" / "run"
        run.parent.mkdir(parents=True)
        kinds = [k for k in KINDS if k != "kill-stage" or task == "stages"]
        done, used, tries = False, 0, 0
        while used < n_faults and not done and tries < 4 * n_faults:
            tries += 1
            kind = self.rng.choices(kinds, [WEIGHTS[k] for k in kinds])[0]
            if kind.startswith("kill") and kind != "kill-evaluate":
                verdict, done = self.kill(task, run, kind)
            else:
                verdict, done = getattr(self, kind.replace("-", "_"))(task, run)
            if verdict is None:
                continue
            used += verdict != "not reached"
            if verdict in ("lost", "crashed"):
                break
        verdict, detail = self.finish(task, run, ref)
        self.runs.append({"task": task, "folder": str(run), "verdict": verdict, "detail": detail[:600]})
        shutil.rmtree(run.parent, ignore_errors=True)
        return used

    def finish(self, task, run, ref) -> tuple[str, str]:
        for _ in range(3):
            result = self._train(task, run)
            if result.traceback:
                return "crashed", "traceback: " + result.stderr.strip().splitlines()[-1]
            if result.returncode == 0:
                problems = R.finished(run, ref["run"], task)
                left = [p for p in problems if p.startswith("left behind")]  # untidy, not wrong: counted apart
                wrong = [p for p in problems if p not in left]
                return ("silent-wrong", "; ".join(wrong)) if wrong else ("complete", "; ".join(left))
        return "lost", f"--resume never completed the run: {result.stderr.strip()[-300:]}"


PAUSES = {  # where a slow reader pauses on its way through `read_checkpoint`: (object, attribute, at which call)
    "before meta.json": (R.ckpt, "_read_file", lambda name, *rest: name == R.ckpt.META),
    "before the weights file": (R.ckpt, "_read_file", lambda name, *rest: name == R.ckpt.WEIGHTS),
    "before the trainer state or vocab": (R.ckpt, "_read_file", lambda name, *rest: name in (R.ckpt.VOCAB, R.ckpt.TRAINER_STATE)),
    "after the read, before parsing": (R.ckpt.Checkpoint, "weights", lambda *args: True),
}


@contextlib.contextmanager
def paused(pause: str, pid: int):
    """rnn_nlp's checkpoint reader paused at point `pause` (PAUSES) while process `pid` runs to its next stop."""
    owner, name, at = PAUSES[pause]
    real, swapped = getattr(owner, name), []

    def slow(*args, **kwargs):
        if not swapped and at(*args):
            swapped.append(True)
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
            wait_for_state(pid, "TZ")
        return real(*args, **kwargs)

    setattr(owner, name, slow)
    try:
        yield swapped
    finally:
        setattr(owner, name, real)


def hashes(run: Path) -> dict:
    import hashlib

    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(run.rglob("*")) if p.is_file()}


def summarize(chaos: Chaos, args, argv: list[str], wall_s: float) -> dict:
    table = defaultdict(Counter)
    for o in chaos.outcomes:
        table[(o["task"], o["kind"])][o["verdict"]] += 1
    runs = Counter(r["verdict"] for r in chaos.runs)
    counted = [o for o in chaos.outcomes if o["verdict"] != "not reached"]
    totals = Counter(o["verdict"] for o in counted)
    return {
        "command": " ".join(["python benchmarks/chaos.py", *argv]),
        "seed": args.seed,
        "attempts": len(counted),
        "faults_survived": totals["survived"],
        "crashed": totals["crashed"],
        "lost": totals["lost"],
        "silent_wrong": totals["silent-wrong"],
        "not_reached": len(chaos.outcomes) - len(counted),
        "tracebacks": sum(1 for o in counted if o["detail"].startswith("traceback")),
        "runs": len(chaos.runs),
        "runs_complete_and_equal": runs["complete"],
        "runs_lost": runs["lost"] + runs["crashed"],
        "runs_silent_wrong": runs["silent-wrong"],
        "left_temporary_files": sum(1 for o in counted if o["detail"].startswith("left behind")),
        "runs_left_temporary_files": sum(1 for r in chaos.runs if r["verdict"] == "complete" and r["detail"]),
        "left_behind": sorted({o["detail"] for o in counted + chaos.runs if o["detail"].startswith("left behind")}),
        "by_task_and_kind": [{"task": t, "kind": k, **{v: c[v] for v in VERDICTS}} for (t, k), c in sorted(table.items())],
        "failures": [o for o in counted if o["verdict"] != "survived"] + [r for r in chaos.runs if r["verdict"] != "complete"],
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": __import__("torch").__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "euid": os.geteuid(),
        },
        "wall_s": round(wall_s, 1),
    }


def markdown(result: dict) -> str:
    md = [
        "# Chaos: faults injected into tiny runs of every task",
        "",
        f"{result['attempts']} faults, {result['faults_survived']} survived; crashed {result['crashed']} "
        f"(tracebacks {result['tracebacks']}), lost {result['lost']}, silent-wrong {result['silent_wrong']}; "
        f"{result['not_reached']} more fell beyond their run's end. {result['runs']} runs: "
        f"{result['runs_complete_and_equal']} completed bitwise equal to the uninterrupted run, {result['runs_lost']} lost, "
        f"{result['runs_silent_wrong']} silently wrong. Faults that left temporary files behind: {result['left_temporary_files']}; "
        f"completed runs holding some: {result['runs_left_temporary_files']}.",
        "",
        "| task | fault | survived | crashed | lost | silent-wrong | not reached |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["by_task_and_kind"]:
        md.append(f"| {row['task']} | {row['kind']} | " + " | ".join(str(row[v]) for v in VERDICTS) + " |")
    if result["failures"]:
        md += ["", "## What failed (first 40)", ""]
        for f in result["failures"][:40]:
            md.append(f"- {f['task']}, {f.get('kind', 'run')}: **{f['verdict']}**: {f['detail'][:300]} `{json.dumps(f.get('fault', ''))}`")
    if result["left_behind"]:
        md += ["", "## Temporary files left (untidy, nothing lost)", ""] + [f"- {d[:300]}" for d in result["left_behind"]]
    m = result["machine"]
    md += [
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, torch {m['torch']}, load average "
        f"{m['load_average']} at the end, euid {m['euid']}; {result['wall_s']} s in all.",
        "",
        f"Command: `{result['command']}`",
    ]
    return "\n".join(md) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=None, help="faults to inject (default 200; --quick 12)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tasks", default=None, help=f"comma-separated, of {','.join(R.TASKS)} (default all; --quick lm,classify)")
    parser.add_argument("--chain", type=int, default=6, help="faults per run before it is resumed to its end")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 12 faults on lm and classify")
    parser.add_argument("--out", default=None, help="JSON file (default benchmarks/results/chaos.json; --quick chaos-quick.json)")
    parser.add_argument("--work", default=None, help="keep the runs here (default a temporary folder)")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    attempts = args.attempts or (12 if args.quick else 200)
    tasks = (args.tasks or ("lm,classify" if args.quick else ",".join(R.TASKS))).split(",")
    out = Path(args.out or ROOT / "benchmarks" / "results" / ("chaos-quick.json" if args.quick else "chaos.json"))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        cache = work / "cache"
        os.environ["RNN_NLP_CACHE"] = str(cache)
        zygote = Zygote(work / "zygote", env={"RNN_NLP_CACHE": str(cache)})
        try:
            chaos = Chaos(zygote, work, random.Random(args.seed))
            done, i = 0, 0
            while done < attempts:
                task = tasks[i % len(tasks)]
                done += chaos.chain(task, min(args.chain, attempts - done))
                i += 1
                print(f"{done}/{attempts} faults, {len(chaos.runs)} runs", file=sys.stderr, flush=True)
        finally:
            zygote.close()
        result = summarize(chaos, args, argv, time.perf_counter() - started)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
