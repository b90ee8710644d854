"""Fault injection at the file operations a run makes: a process killed at a chosen call, a full disk,
a read-only folder.

    python -m tests.faults.inject --kill-at rename:3 -- train CFG --out RUN
    python -m tests.faults.inject --kill-at save_file:2:torn --events ev.jsonl -- train CFG --out RUN --resume
    python -m tests.faults.inject --kill-at rename:1:after:.best.old -- train CFG --out RUN   # mid best swap
    python -m tests.faults.inject --full-disk-from 12 -- train CFG --out RUN
    python -m tests.faults.inject --full-disk-at 1:metrics.csv -- train CFG --out RUN --resume
    python -m tests.faults.inject --deny RUN:EROFS -- evaluate RUN

(`--kill-at OP:N[:WHEN[:MATCH]]`: with MATCH only calls on a path holding that text, relative to the
scope, are counted.)

Only operations on paths under the scope (default: the folder holding `--out`, so the run and its
lock file; else the working directory) count and are faulted: Python's own imports, the data cache
and matplotlib's font cache never shift the count, so the N-th call is the same call in every run
of one config. The operations, as the library makes them:

    open_w      open() / Path.open for writing        save_file   safetensors save_file
    os_open_w   os.open for writing (the run lock)    torch_save  torch.save
    pwrite      os.pwrite (the lock's pid)            mkdir       os.mkdir (Path.mkdir)
    rename      os.rename (Path.rename)               replace     os.replace (Path.replace)
    rmtree      shutil.rmtree                         unlink      os.unlink / os.remove
    rmdir       os.rmdir                              fsync       os.fsync

`write` names the writing ones together (open_w, os_open_w, pwrite, save_file, torch_save, mkdir)
and `any` all of them. A kill is SIGKILL sent to the process itself (no clean-up runs, no buffer is
flushed): `before` the call, `after` it, or `torn` (the call's file is cut to half its length first,
as a write the kernel had only partly flushed; for rmtree, half the tree's files are removed).
`stop` (`stop_after`) sends SIGSTOP instead, before (after) the call, so the process waits there,
holding its lock, until it gets SIGCONT; several points may be given (a list, each counted alone). A
full disk makes every writing call from the N-th on fail with ENOSPC (a file opened for writing is
created, and its writes fail); renames and removals still work, as on a real full disk. A denied
folder refuses every change under it with EROFS (or EACCES), as a read-only mount does, which holds
for root too (root ignores permission bits, so chmod alone tests nothing there).

`--events FILE` appends one JSON line per counted operation as it happens (kept through a kill):
an uninterrupted run's list is the menu of kill points.

Starting Python, torch and the library costs seconds per process; tests/faults/zygote.py imports
them once and forks a child per run, a few hundred milliseconds each, with the same faults.
"""

from __future__ import annotations

import argparse
import builtins
import errno as errno_codes
import io
import json
import os
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

WRITE_OPS = {"open_w", "os_open_w", "pwrite", "save_file", "torch_save", "mkdir"}
OPS = WRITE_OPS | {"rename", "replace", "rmtree", "unlink", "rmdir", "fsync"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
ERRNOS = {"EROFS": errno_codes.EROFS, "EACCES": errno_codes.EACCES, "ENOSPC": errno_codes.ENOSPC}


def die() -> None:
    """SIGKILL ourselves: what `kill -9` or the OOM killer leaves (no clean-up, no flush of Python's buffers)."""
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # pragma: no cover - the signal is delivered before this returns


def _tear(path: str) -> None:
    """Cut a file to half its length (a write only partly on disk when the process died)."""
    try:
        size = os.path.getsize(path)
        with _REAL["open"](path, "r+b") as fh:
            fh.truncate(size // 2)
    except OSError:
        pass


def _tear_tree(path: str) -> None:
    files = sorted(str(p) for p in Path(path).rglob("*") if p.is_file())
    for file in files[: (len(files) + 1) // 2]:
        _REAL["unlink"](file)


class _FullFile:
    """A file opened on a full disk: it exists, and every write fails with ENOSPC."""

    def __init__(self, fh, path: str):
        self._fh, self._path = fh, path

    def write(self, data):
        raise OSError(errno_codes.ENOSPC, "No space left on device", self._path)

    writelines = write

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False

    def __iter__(self):
        return iter(self._fh)


class _TornFile(_FullFile):
    """A file whose writes go through; when it is closed, what this opening wrote is cut to half (what
    was there before an append stays) and the process is killed."""

    def __init__(self, fh, path: str, start: int):
        super().__init__(fh, path)
        self._start = start

    def write(self, data):
        return self._fh.write(data)

    def writelines(self, lines):
        return self._fh.writelines(lines)

    def close(self):
        self._fh.close()
        size = os.path.getsize(self._path)
        with _REAL["open"](self._path, "r+b") as fh:
            fh.truncate(self._start + (size - self._start) // 2)
        die()

    def __exit__(self, *exc):
        self.close()


# the real functions, taken before any patching
_REAL: dict[str, Any] = {
    "open": builtins.open,
    "os_open": os.open,
    "pwrite": os.pwrite,
    "fsync": os.fsync,
    "rename": os.rename,
    "replace": os.replace,
    "unlink": os.unlink,
    "remove": os.remove,
    "rmdir": os.rmdir,
    "mkdir": os.mkdir,
    "rmtree": shutil.rmtree,
}


class Injector:
    """The faults of one process: counts the in-scope operations and acts at the chosen ones."""

    def __init__(self, spec: dict):
        self.scope = os.path.realpath(spec.get("scope") or os.getcwd())
        kill = spec.get("kill") or []  # one point, or a list of them (each counted on its own)
        self.kills = [dict(k, seen=0) for k in ([kill] if isinstance(kill, dict) else kill)]
        # the disk fills at the N-th writing call ({"n": N}), or at the N-th one on a path holding "match"
        full = spec.get("full_disk") or ({"n": spec["full_disk_from"]} if spec.get("full_disk_from") else None)
        self.full = dict(full) if full else None
        self.disk_full = False
        deny = spec.get("deny") or {}
        self.deny = [os.path.realpath(p) for p in deny.get("paths", [])]
        self.deny_errno = ERRNOS[deny.get("errno", "EROFS")]
        self.counts: Counter = Counter()
        self.depth = 0
        self.events = _REAL["open"](spec["events"], "a", buffering=1, encoding="utf-8") if spec.get("events") else None

    # ---- where ----------------------------------------------------------------------
    @staticmethod
    def _path(path: Any) -> str | None:
        if isinstance(path, int):
            try:
                return os.readlink(f"/proc/self/fd/{path}")
            except OSError:
                return None
        if isinstance(path, (str, os.PathLike)):
            path = os.fspath(path)
            return os.path.realpath(path) if isinstance(path, str) else None
        return None

    @staticmethod
    def _under(path: str | None, root: str) -> bool:
        return path is not None and (path == root or path.startswith(root + os.sep))

    def _denied(self, *paths: str | None) -> bool:
        return any(self._under(p, root) for p in paths for root in self.deny)

    # ---- what -----------------------------------------------------------------------
    def _rel(self, path: str | None) -> str:
        return os.path.relpath(path, self.scope) if path else ""

    def _kill_when(self, op: str, where: str | None, to: str | None, w: int | None) -> str | None:
        """before / after / torn / stop / stop_after when this call is a point to act at, else None."""
        found = None
        for k in self.kills:
            if k["op"] not in (op, "any") and not (k["op"] == "write" and w is not None):
                continue
            if k.get("match"):  # count only the calls on a path holding this text (relative to the scope)
                if not any(k["match"] in self._rel(p) for p in (where, to) if p):
                    continue
                k["seen"] += 1
                count = k["seen"]
            else:
                count = {"any": self.counts["any"], "write": w}.get(k["op"], self.counts[op])
            if count == k["n"] and found is None:
                found = k.get("when", "before")
        return found

    def call(self, op: str, real, args: tuple, kwargs: dict, path: Any, dst: Any = None, ignore: bool = False):
        """Run `real(*args, **kwargs)`, operation `op` on `path` (and `dst`), with this process's faults."""
        if self.depth:
            return real(*args, **kwargs)
        where, to = self._path(path), self._path(dst) if dst is not None else None
        roots = [self.scope, *self.deny]
        if not any(self._under(p, root) for p in (where, to) for root in roots):
            return real(*args, **kwargs)
        self.depth += 1
        try:
            self.counts[op] += 1
            self.counts["any"] += 1
            w = None
            if op in WRITE_OPS:
                self.counts["write"] += 1
                w = self.counts["write"]
            if self.events:
                self.events.write(
                    json.dumps(
                        {
                            "op": op,
                            "n": self.counts[op],
                            "w": w,
                            "any": self.counts["any"],
                            "path": self._rel(where),
                            "dst": to and self._rel(to),
                        }
                    )
                    + "\n"
                )
            if self._denied(where, to):
                self._acted("denied")
                return self._refuse(op, real, args, kwargs, where, ignore)
            if w is not None and self._fills(where, to, w):
                self._acted("disk full")
                return self._full(op, real, args, kwargs, where)
            when = self._kill_when(op, where, to, w)
            if when == "stop":  # SIGSTOP: the process waits there (holding what it holds) until SIGCONT
                os.kill(os.getpid(), signal.SIGSTOP)
            if when == "before":
                die()
            if when == "torn" and op == "rmtree":
                _tear_tree(where)
                die()
            start = os.path.getsize(where) if when == "torn" and op == "open_w" and os.path.isfile(where) else 0
            result = real(*args, **kwargs)
            if when == "torn" and op == "open_w":
                mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
                return _TornFile(result, where, start if "a" in mode else 0)
            if when == "torn" and op in ("save_file", "torch_save"):
                _tear(where)
            if when in ("after", "torn"):
                die()
            if when == "stop_after":
                os.kill(os.getpid(), signal.SIGSTOP)
            return result
        finally:
            self.depth -= 1

    def _acted(self, fault: str) -> None:
        if self.events:
            self.events.write(json.dumps({"fault": fault, "any": self.counts["any"]}) + "\n")

    def _fills(self, where: str | None, to: str | None, w: int) -> bool:
        """Whether this writing call finds the disk full (it stays full from then on)."""
        if self.full and not self.disk_full:
            if self.full.get("match"):
                if any(self.full["match"] in self._rel(p) for p in (where, to) if p):
                    self.counts["full_matched"] += 1
                    self.disk_full = self.counts["full_matched"] >= self.full["n"]
            else:
                self.disk_full = w >= self.full["n"]
        return self.disk_full

    def _refuse(self, op, real, args, kwargs, where, ignore):
        if op == "mkdir" and os.path.exists(where):
            raise FileExistsError(errno_codes.EEXIST, "File exists", where)
        if op == "fsync":
            return real(*args, **kwargs)
        if op == "rmtree" and ignore:
            return None
        raise OSError(self.deny_errno, os.strerror(self.deny_errno), where)

    def _full(self, op, real, args, kwargs, where):
        if op == "open_w":
            return _FullFile(real(*args, **kwargs), where)
        if op in ("save_file", "torch_save"):
            _REAL["open"](where, "wb").close()  # the file was created; its data never fitted
        if op == "os_open_w":
            return real(*args, **kwargs)  # an inode and a name still fit; the data do not
        raise OSError(errno_codes.ENOSPC, "No space left on device", where)

    # ---- how ------------------------------------------------------------------------
    def install(self) -> None:
        import safetensors.torch
        import torch

        import rnn_nlp.training.checkpoint as ckpt

        me = self
        real = {**_REAL, "save_file": safetensors.torch.save_file, "torch_save": torch.save}

        def open_(file, mode="r", *args, **kwargs):
            if not any(c in mode for c in "wax+"):
                return real["open"](file, mode, *args, **kwargs)
            return me.call("open_w", real["open"], (file, mode, *args), kwargs, file)

        def os_open(path, flags, mode=0o777, *, dir_fd=None):
            if dir_fd is not None or not flags & WRITE_FLAGS:
                return real["os_open"](path, flags, mode, dir_fd=dir_fd)
            return me.call("os_open_w", real["os_open"], (path, flags, mode), {}, path)

        def fd_op(op):
            return lambda fd, *args: me.call(op, real[op], (fd, *args), {}, fd)

        def path_op(op, key=None):
            def wrapped(path, *args, **kwargs):
                if kwargs.get("dir_fd") is not None:
                    return real[key or op](path, *args, **kwargs)
                return me.call(op, real[key or op], (path, *args), kwargs, path)

            return wrapped

        def move(op):
            def wrapped(src, dst, **kwargs):
                if kwargs.get("src_dir_fd") is not None or kwargs.get("dst_dir_fd") is not None:
                    return real[op](src, dst, **kwargs)
                return me.call(op, real[op], (src, dst), kwargs, src, dst)

            return wrapped

        def rmtree(path, ignore_errors=False, *args, **kwargs):
            return me.call("rmtree", real["rmtree"], (path, ignore_errors, *args), kwargs, path, ignore=ignore_errors)

        rmtree.avoids_symlink_attacks = real["rmtree"].avoids_symlink_attacks

        def save_file(tensors, filename, *args, **kwargs):
            return me.call("save_file", real["save_file"], (tensors, filename, *args), kwargs, filename)

        def torch_save(obj, f, *args, **kwargs):
            return me.call("torch_save", real["torch_save"], (obj, f, *args), kwargs, f)

        builtins.open = io.open = open_
        os.open = os_open
        os.pwrite, os.fsync = fd_op("pwrite"), fd_op("fsync")
        os.rename, os.replace = move("rename"), move("replace")
        os.unlink, os.remove = path_op("unlink"), path_op("unlink", "remove")
        os.rmdir, os.mkdir = path_op("rmdir"), path_op("mkdir")
        shutil.rmtree = rmtree
        safetensors.torch.save_file = ckpt.save_file = save_file
        torch.save = torch_save


def parse_kill(text: str) -> dict:
    """OP:N[:WHEN[:MATCH]] -> {"op", "n", "when", "match"}; WHEN is before (default), after or torn;
    with MATCH only calls on paths holding that text (relative to the scope) count."""
    parts = text.split(":", 3)
    if len(parts) < 2 or parts[0] not in OPS | {"write", "any"} or not parts[1].isdigit():
        raise argparse.ArgumentTypeError(f"--kill-at wants OP:N[:WHEN[:MATCH]] with OP one of {sorted(OPS)}, write, any")
    when = parts[2] if len(parts) > 2 else "before"
    if when not in ("before", "after", "torn", "stop", "stop_after"):
        raise argparse.ArgumentTypeError(f"--kill-at: WHEN must be before, after, torn, stop or stop_after, not {when}")
    return {"op": parts[0], "n": int(parts[1]), "when": when, "match": parts[3] if len(parts) > 3 else None}


def default_scope(argv: list[str]) -> str:
    """The folder holding --out (the run and its lock file), else the working directory."""
    for i, arg in enumerate(argv):
        if arg == "--out" and i + 1 < len(argv):
            return str(Path(argv[i + 1]).resolve().parent)
        if arg.startswith("--out="):
            return str(Path(arg[6:]).resolve().parent)
    return os.getcwd()


def run_cli(argv: list[str], spec: dict) -> int:
    """The `rnn-nlp` command line with `spec`'s faults; an uncaught exception prints its traceback (exit 1)."""
    from rnn_nlp.cli import main

    if spec:
        Injector({"scope": default_scope(argv), **spec}).install()
    try:
        return main(argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1


def read_events(path: Path) -> list[dict]:
    """The operations an --events file recorded, in order (a fault that acted is a {"fault": ...} line)."""
    if not Path(path).exists():
        return []
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e for e in lines if "op" in e]


def faults_acted(path: Path) -> list[str]:
    """The faults an --events file says acted: "disk full", "denied"."""
    if not Path(path).exists():
        return []
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [e["fault"] for e in lines if "fault" in e]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        print("usage: python -m tests.faults.inject [options] -- RNN-NLP-ARGS (see --help before --)", file=sys.stderr)
        if "--help" not in argv and "-h" not in argv:
            return 2
    own, cli = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="python -m tests.faults.inject", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kill-at",
        type=parse_kill,
        action="append",
        help="OP:N[:before|after|torn|stop|stop_after[:MATCH]]: SIGKILL (or SIGSTOP) at the N-th OP call; may be given more than once",
    )
    parser.add_argument("--full-disk-from", type=int, help="every writing call from the N-th on fails with ENOSPC")
    parser.add_argument("--full-disk-at", metavar="N:MATCH", help="the disk fills at the N-th writing call on a path holding MATCH")
    parser.add_argument("--deny", action="append", default=[], help="PATH[:EROFS|EACCES]: every change under PATH fails")
    parser.add_argument("--scope", help="only operations under this folder count (default: the folder holding --out)")
    parser.add_argument("--events", help="append each counted operation to this JSON-lines file")
    args = parser.parse_args(own)
    deny = [d.rsplit(":", 1) if d.rsplit(":", 1)[-1] in ERRNOS else [d, "EROFS"] for d in args.deny]
    full = None
    if args.full_disk_at:
        n, _, match = args.full_disk_at.partition(":")
        full = {"n": int(n), "match": match}
    spec = {
        "scope": args.scope or default_scope(cli),
        "kill": args.kill_at,
        "full_disk_from": args.full_disk_from,
        "full_disk": full,
        "deny": {"paths": [p for p, _ in deny], "errno": deny[0][1] if deny else "EROFS"},
        "events": args.events,
    }
    return run_cli(cli, spec)


if __name__ == "__main__":
    sys.exit(main())
