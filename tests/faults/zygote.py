"""A zygote: one process with torch and the library imported, forking a child per command.

Starting Python, torch and the library costs seconds; a forked child of this process starts a run in
a few hundred milliseconds, with tests/faults/inject.py's faults installed in it. The fault suite
and benchmarks/chaos.py run hundreds of processes this way.

    zygote = Zygote(workdir)
    result = zygote.run(["train", CFG, "--out", RUN], {"kill": {"op": "rename", "n": 3}})
    result.returncode, result.killed, result.traceback, result.stderr

`python -m tests.faults.zygote` is the server: one JSON request a line on stdin, one reply a line on
stdout (see `serve`). The children's standard streams go to files; a child may also be held (SIGSTOP
at a fault point), killed at a moment (`kill_after_s`), or made to honour permission bits as root.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from tests.faults.inject import Injector, run_cli

ROOT = Path(__file__).resolve().parents[2]

PRELOAD = (
    "torch",
    "torch._dynamo",
    "torch.optim",
    "safetensors.torch",
    "yaml",
    "datasets",
    "matplotlib",
    "rnn_nlp.cli",
    "rnn_nlp.api",
    "rnn_nlp.runs",
    "rnn_nlp.tasks.lm",
    "rnn_nlp.tasks.classification",
    "rnn_nlp.tasks.tagging",
    "rnn_nlp.tasks.qa",
    "rnn_nlp.tasks.seq2seq",
    "sklearn.metrics",
    "seqeval.metrics",
    "sacrebleu",
)


def _preload() -> None:
    import importlib

    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import matplotlib.pyplot as plt  # after the backend is chosen

    fig, ax = plt.subplots()  # fonts and the renderer loaded once, not in every child
    ax.plot([0, 1], [0, 1], label="warm")
    ax.legend()
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def _child(req: dict, keep: tuple[int, ...]) -> None:
    """In the forked child: files for the standard streams, the request's faults, then the CLI (or a call)."""
    code = 1
    try:
        for fd in keep:
            os.close(fd)
        os.setpgid(0, 0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            os.dup2(os.open(req[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
        os.environ.update(req.get("env") or {})
        if req.get("permissions_bind"):
            bind_permissions()
        os.chdir(req.get("cwd") or os.getcwd())
        if req.get("call"):
            module, _, func = req["call"].partition(":")
            import importlib

            if req.get("faults"):
                Injector(req["faults"]).install()
            result = getattr(importlib.import_module(module), func)(*req.get("args", []))
            code = result if isinstance(result, int) else 0
        else:
            code = run_cli(req["argv"], req.get("faults") or {})
    except BaseException:  # noqa: BLE001 - print it as Python would, exit 1
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code if isinstance(code, int) else 1)


def bind_permissions() -> None:
    """Make permission bits bind this process even as root: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
    (Linux), so that a chmod 555 folder is read-only to it as to any user. Nothing to do for a non-root user."""
    if os.geteuid() != 0:
        return
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    keep = ~((1 << 1) | (1 << 2)) & 0xFFFFFFFF  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    data[0].effective &= keep
    data[0].permitted &= keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed: cannot make permission bits bind a root process here")


def _wait(pid: int, started: float, kill_after_s: float | None, timeout_s: float) -> dict:
    killed = timed_out = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        now = time.perf_counter() - started
        if kill_after_s is not None and now >= kill_after_s and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = True
        elif now >= timeout_s and not timed_out:
            os.kill(pid, signal.SIGKILL)
            timed_out = True
        time.sleep(0.002)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return {"returncode": code, "killed_by_timer": killed, "timed_out": timed_out, "wall_s": time.perf_counter() - started}


def serve() -> None:
    """Read one JSON request a line on stdin, answer one JSON line each on stdout.

    {"op": "start", "argv": [...] | "call": "module:function", "args": [...], "faults": {...},
     "stdout": FILE, "stderr": FILE, "cwd": DIR, "env": {...}, "kill_after_s": S, "permissions_bind": bool} -> {"pid"}
    {"op": "wait", "pid": PID, "timeout_s": S} -> {"returncode", "killed_by_timer", "timed_out", "wall_s"}
    """
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)
    _preload()
    started: dict[int, tuple[float, float | None]] = {}
    for line in requests:
        req = json.loads(line)
        if req["op"] == "start":
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(req, (requests.fileno(), replies.fileno()))
            started[pid] = (time.perf_counter(), req.get("kill_after_s"))
            replies.write(json.dumps({"pid": pid}) + "\n")
        elif req["op"] == "wait":
            t0, kill_after = started.pop(req["pid"])
            replies.write(json.dumps(_wait(req["pid"], t0, kill_after, req.get("timeout_s", 600))) + "\n")


class Result:
    """How a run ended: returncode (-9: killed), its stdout and stderr, whether the timer killed it."""

    def __init__(self, reply: dict, stdout: Path, stderr: Path):
        self.returncode = reply["returncode"]
        self.killed = self.returncode == -signal.SIGKILL
        self.killed_by_timer = reply["killed_by_timer"]
        self.timed_out = reply["timed_out"]
        self.wall_s = reply["wall_s"]
        self.stdout = stdout.read_text(encoding="utf-8", errors="replace")
        self.stderr = stderr.read_text(encoding="utf-8", errors="replace")

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    def __repr__(self) -> str:
        return f"Result(returncode={self.returncode}, stderr={self.stderr[-2000:]!r})"


class Zygote:
    """A server process holding torch and the library imported; `run` forks a child per command."""

    def __init__(self, workdir: Path, env: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        full_env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.zygote"],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.serial = 0

    def _ask(self, req: dict, timeout_s: float = 900) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"the fault-injection zygote did not answer {req['op']} (exit {self.proc.poll()})")
        return json.loads(line)

    def start(
        self,
        argv: list[str] | None = None,
        faults: dict | None = None,
        *,
        call: str | None = None,
        args: tuple = (),
        cwd: Path | None = None,
        env: dict | None = None,
        kill_after_s: float | None = None,
        permissions_bind: bool = False,
    ) -> tuple[int, Path, Path]:
        """Fork a child running `rnn-nlp ARGV` (or `module:function(*args)`) with `faults`; returns (pid, stdout, stderr).

        `permissions_bind`: the child honours permission bits even when the zygote runs as root."""
        self.serial += 1
        out, err = self.workdir / f"{self.serial}.out", self.workdir / f"{self.serial}.err"
        req = {
            "op": "start",
            "argv": list(argv or []),
            "call": call,
            "args": list(args),
            "faults": faults or {},
            "stdout": str(out),
            "stderr": str(err),
            "cwd": str(cwd or self.workdir),
            "env": env or {},
            "kill_after_s": kill_after_s,
            "permissions_bind": permissions_bind,
        }
        return self._ask(req)["pid"], out, err

    def wait(self, started: tuple[int, Path, Path], timeout_s: float = 600) -> Result:
        pid, out, err = started
        return Result(self._ask({"op": "wait", "pid": pid, "timeout_s": timeout_s}, timeout_s + 60), out, err)

    def run(self, argv: list[str], faults: dict | None = None, timeout_s: float = 600, **kw) -> Result:
        return self.wait(self.start(argv, faults, **kw), timeout_s)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def process_state(pid: int) -> str:
    """R, S, T (stopped), Z (ended, not yet reaped), ... from /proc; "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def wait_for_state(pid: int, states: str, timeout_s: float = 60) -> str:
    """Poll until the process is in one of `states`; returns its state (or the last one seen at the timeout)."""
    deadline = time.perf_counter() + timeout_s
    state = process_state(pid)
    while state not in states and time.perf_counter() < deadline:
        time.sleep(0.005)
        state = process_state(pid)
    return state


if __name__ == "__main__":
    serve()
