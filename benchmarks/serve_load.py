"""Load on `rnn-nlp serve`, over loopback only: requests/s, latency, errors and memory at 1, 8 and 32
concurrent clients against a tagger and a classifier; micro-batching on and off; hostile requests.

    python benchmarks/serve_load.py                          # tiny runs trained here, 20 s per cell
    python benchmarks/serve_load.py --tagger runs/ner --classifier runs/sentiment-rt --lm runs/lm-ptb
                                                             # (a run not given: a tiny one trained here)
    python benchmarks/serve_load.py --quick                  # a smoke test: 2 s per cell, 300 requests for memory

The server is `rnn-nlp serve` in its own process on 127.0.0.1 (a free port), one worker, `--threads`
torch threads; the clients are asyncio tasks on one httpx connection pool in this process, each sending
its next request when its last one is answered, for `--duration` seconds per cell. Every request is a
POST /models/NAME/predict of one text drawn from a fixed list. Measured per model and client count:
requests/s, p50 and p99 latency, errors (any non-200 answer or failed connection). Memory: the server's
RSS (from /proc) after warm-up, then after `--memory-requests` more requests at the largest client
count. Batching: requests/s at the largest client count with micro-batching on (--max-batch 32) and off
(a second server with --max-batch 1). Hostile: HOSTILE, a list of bad requests, each expecting one
4xx status; after them, /health must still answer 200.

Both the server and the clients share this machine's cores: the figures are of the pair, on loopback.
Writes benchmarks/results/serve-load.{json,md} (serve-load-quick.* with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_nlp.files import json_text  # noqa: E402
from rnn_nlp.serve.schemas import MAX_BODY_BYTES, MAX_CHARS, MAX_TEXTS  # noqa: E402

TEXTS = [
    "John Smith visited Paris .",
    "Ann Lee joined Acme Corp .",
    "Mary left New York .",
    "the film was superb and moving",
    "a dull , boring plot",
    "Karl Marx saw Berlin .",
    "Bob joined Globex .",
    "the cast was great",
]
NAMES = {"tagger": "ner", "classifier": "classify", "lm": "lm"}  # served name -> the tiny run's task


def _r(method: str, path: str, body=None, raw: bytes | None = None, content_type: str = "application/json") -> dict:
    return {"method": method, "path": path, "json": body, "raw": raw, "content_type": content_type}


NESTED = b"[" * 100_000 + b"]" * 100_000
# (name, request, expected status): at least 30 bad requests, each refused with one 4xx and a JSON error.
HOSTILE = [
    ("malformed JSON", _r("POST", "/models/tagger/predict", raw=b'{"text": "a"'), 422),
    ("not JSON at all", _r("POST", "/models/tagger/predict", raw=b"hello there"), 422),
    ("a JSON array body", _r("POST", "/models/tagger/predict", ["a"]), 422),
    ("a JSON string body", _r("POST", "/models/tagger/predict", "a text"), 422),
    ("a JSON null body", _r("POST", "/models/tagger/predict", raw=b"null"), 422),
    ("an empty body", _r("POST", "/models/tagger/predict", raw=b""), 422),
    ("text is a number", _r("POST", "/models/tagger/predict", {"text": 5}), 422),
    ("text is null", _r("POST", "/models/classifier/predict", {"text": None}), 422),
    ("texts of numbers", _r("POST", "/models/classifier/predict", {"texts": [1, 2]}), 422),
    ("text is an object", _r("POST", "/models/classifier/predict", {"text": {"a": 1}}), 422),
    ("an empty text", _r("POST", "/models/tagger/predict", {"text": ""}), 422),
    ("an oversized text", _r("POST", "/models/tagger/predict", {"text": "x" * (MAX_CHARS + 1)}), 422),
    ("an empty list of texts", _r("POST", "/models/classifier/predict", {"texts": []}), 422),
    ("too many texts", _r("POST", "/models/classifier/predict", {"texts": ["a"] * (MAX_TEXTS + 1)}), 422),
    ("both text and texts", _r("POST", "/models/classifier/predict", {"text": "a", "texts": ["b"]}), 422),
    ("neither text nor texts", _r("POST", "/models/classifier/predict", {}), 422),
    ("an unknown field", _r("POST", "/models/tagger/predict", {"text": "a", "mode": "fast"}), 422),
    ("an unknown model", _r("POST", "/models/nope/predict", {"text": "a"}), 404),
    ("an endpoint the task lacks", _r("POST", "/models/tagger/translate", {"text": "a"}), 404),
    ("an unknown path", _r("GET", "/nothing/here"), 404),
    ("GET on an endpoint", _r("GET", "/models/tagger/predict"), 405),
    ("a generation of 10^9 tokens", _r("POST", "/models/lm/generate", {"prompt": "the", "max_tokens": 10**9}), 422),
    ("a generation of 0 tokens", _r("POST", "/models/lm/generate", {"prompt": "the", "max_tokens": 0}), 422),
    ("a negative token count", _r("POST", "/models/lm/generate", {"prompt": "the", "max_tokens": -5}), 422),
    ("max_tokens as a string", _r("POST", "/models/lm/generate", {"prompt": "the", "max_tokens": "10"}), 422),
    ("max_tokens as a boolean", _r("POST", "/models/lm/generate", {"prompt": "the", "max_tokens": True}), 422),
    ("temperature 0", _r("POST", "/models/lm/generate", {"prompt": "the", "sample": True, "temperature": 0}), 422),
    ("temperature NaN", _r("POST", "/models/lm/generate", raw=b'{"prompt": "the", "sample": true, "temperature": NaN}'), 422),
    ("top_p 2", _r("POST", "/models/lm/generate", {"prompt": "the", "sample": True, "top_p": 2}), 422),
    ("top_k -1", _r("POST", "/models/lm/generate", {"prompt": "the", "sample": True, "top_k": -1}), 422),
    ("a beam of 10^6", _r("POST", "/models/lm/generate", {"prompt": "the", "beam": 10**6}), 422),
    ("10^6 samples", _r("POST", "/models/lm/generate", {"prompt": "the", "sample": True, "num_samples": 10**6}), 422),
    ("beam and sampling at once", _r("POST", "/models/lm/generate", {"prompt": "the", "sample": True, "beam": 4}), 422),
    ("a negative seed", _r("POST", "/models/lm/generate", {"prompt": "the", "sample": True, "seed": -1}), 422),
    ("an oversized prompt", _r("POST", "/models/lm/generate", {"prompt": "the " * MAX_CHARS}), 422),
    ("a lone surrogate", _r("POST", "/models/tagger/predict", raw=b'{"text": "a\\ud800b"}'), 422),
    ("a body over the limit", _r("POST", "/models/tagger/predict", raw=b'{"text": "' + b"x" * MAX_BODY_BYTES + b'"}'), 413),
    ("JSON nested 100,000 deep", _r("POST", "/models/tagger/predict", raw=NESTED), 400),
    ("JSON sent as text/plain", _r("POST", "/models/tagger/predict", raw=b'{"text": "a"}', content_type="text/plain"), 422),
    ("suggestions k=0", _r("POST", "/models/lm/suggest", {"text": "the", "k": 0}), 422),
    ("a session id of path characters", _r("POST", "/models/lm/suggest", {"text": "the", "session": "../../etc/passwd"}), 422),
    ("an unknown pooling", _r("POST", "/models/classifier/encode", {"text": "a", "pooling": ["bogus"]}), 422),
    ("pooling as a string", _r("POST", "/models/classifier/encode", {"text": "a", "pooling": "mean"}), 422),
    ("attention pooling the run lacks", _r("POST", "/models/tagger/encode", {"text": "a", "pooling": ["attention"]}), 422),
    ("a figure outside the run", _r("GET", "/models/tagger/figures/..%2Fbest%2Fmodel.safetensors"), 404),
    ("a page of an unknown model", _r("GET", "/model/..%2F..%2Fetc"), 404),
]


# ---- the server ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`rnn-nlp serve` in a subprocess on loopback; stopped on exit."""

    def __init__(self, runs: dict[str, Path], threads: int, max_batch: int, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "rnn_nlp.cli", "serve", *(f"{n}={p}" for n, p in runs.items())]
        argv += ["--port", str(self.port), "--threads", str(threads), "--max-batch", str(max_batch), "--device", "cpu"]
        self.log = open(log, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_ready(self, limit: float) -> None:
        import httpx

        end = time.monotonic() + limit
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the server did not answer /health within {limit:.0f} s; see {self.log.name}")

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# ---- the clients -----------------------------------------------------------------------------------
async def load(url: str, model: str, clients: int, duration: float | None = None, total: int | None = None, seed: int = 0) -> dict:
    """`clients` concurrent loops of POST /models/MODEL/predict until `duration` s pass or `total` requests are sent."""
    import httpx

    rng = random.Random(seed)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        start = time.perf_counter()
        end = start + duration if duration is not None else float("inf")

        async def one_client() -> None:
            nonlocal sent
            while time.perf_counter() < end and (total is None or sent < total):
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"/models/{model}/predict", json={"text": rng.choice(TEXTS)})
                    status = str(r.status_code) if r.status_code != 200 else None
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - t0)
                if status:
                    errors[status] = errors.get(status, 0) + 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    return {
        "model": model,
        "clients": clients,
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1) if ordered else None,
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def hostile(url: str) -> dict:
    import httpx

    rows = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, req, expected in HOSTILE:
            content = req["raw"] if req["raw"] is not None else (json.dumps(req["json"]).encode() if req["json"] is not None else None)
            headers = {"content-type": req["content_type"]} if content is not None else {}
            r = client.request(req["method"], req["path"], content=content, headers=headers)
            try:
                error = r.json().get("error", "")
            except ValueError:
                error = None
            rows.append(
                {
                    "request": name,
                    "status": r.status_code,
                    "expected": expected,
                    "error": (error or "")[:160],
                    "json_error": error is not None,
                }
            )
        health = client.get("/health").status_code
    refused = sum(1 for r in rows if 400 <= r["status"] < 500 and r["json_error"])
    return {
        "requests": len(rows),
        "refused_4xx_json": refused,
        "as_expected": sum(r["status"] == r["expected"] for r in rows),
        "health_after": health,
        "rows": rows,
    }


# ---- the measurement -------------------------------------------------------------------------------
def tiny_runs(folder: Path, names: list[str]) -> dict[str, Path]:
    """Tiny runs (of `names`: tagger, classifier, lm) trained on the tests' generated data (seconds each)."""
    import rnn_nlp
    from tests.api_data import raw_config, write_data

    runs = {}
    for name in names:
        task = NAMES[name]
        runs[name] = folder / name
        rnn_nlp.train(raw_config(task, write_data(task, folder / f"data-{task}")), out=runs[name])
    return runs


def measure(args: argparse.Namespace, runs: dict[str, Path], work: Path) -> dict:
    clients = args.clients
    result: dict = {"load": [], "batching": [], "memory": {}}
    server = Server(runs, args.threads, 32, work / "server.log")
    try:
        server.wait_ready(args.start_limit)
        for model in ("tagger", "classifier"):
            asyncio.run(load(server.url, model, max(clients), total=50))  # warm-up
        result["memory"]["rss_mib_before"] = round(server.rss_mib(), 1)
        for model in ("tagger", "classifier"):
            for n in clients:
                row = asyncio.run(load(server.url, model, n, duration=args.duration))
                print(json.dumps(row), flush=True)
                result["load"].append(row)
        result["memory"]["rss_mib_after_load"] = round(server.rss_mib(), 1)
        half = args.memory_requests // 2
        for model in ("tagger", "classifier"):
            row = asyncio.run(load(server.url, model, max(clients), total=half if model == "tagger" else args.memory_requests - half))
            result["memory"].setdefault("requests", 0)
            result["memory"]["requests"] += row["requests"]
            result["memory"].setdefault("errors", 0)
            result["memory"]["errors"] += row["errors"]
        result["memory"]["rss_mib_after"] = round(server.rss_mib(), 1)
        result["batching"] = [{**r, "batching": "on"} for r in result["load"] if r["clients"] == max(clients)]
        result["hostile"] = hostile(server.url)
    finally:
        server.stop()
    off = Server(runs, args.threads, 1, work / "server-no-batching.log")
    try:
        off.wait_ready(args.start_limit)
        for model in ("tagger", "classifier"):
            asyncio.run(load(off.url, model, max(clients), total=50))
            row = asyncio.run(load(off.url, model, max(clients), duration=args.duration))
            print(json.dumps({**row, "batching": "off"}), flush=True)
            result["batching"].append({**row, "batching": "off"})
    finally:
        off.stop()
    return result


def markdown(result: dict) -> str:
    lines = [f"# Serving load ({result['machine']}, {result['threads']} torch thread(s), {result['duration_s']} s a cell, loopback)", ""]
    lines += ["| model | clients | requests/s | p50 ms | p99 ms | requests | errors |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["load"]:
        lines.append(
            f"| {r['model']} | {r['clients']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['requests']} | {r['errors']} |"
        )
    m = result["memory"]
    lines += [
        "",
        f"Server RSS: {m['rss_mib_before']} MiB after warm-up, {m['rss_mib_after_load']} MiB after the table's load, "
        f"{m['rss_mib_after']} MiB after {m['requests']:,} more requests ({m['errors']} errors).",
        "",
    ]
    lines += ["| model | batching | clients | requests/s | p50 ms | p99 ms | errors |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in result["batching"]:
        lines.append(
            f"| {r['model']} | {r['batching']} | {r['clients']} | {r['requests_per_s']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |"
        )
    h = result["hostile"]
    lines += [
        "",
        f"Hostile requests: {h['refused_4xx_json']} of {h['requests']} refused with a 4xx and a JSON error "
        f"({h['as_expected']} with the expected status); /health after them: {h['health_after']}.",
        "",
    ]
    lines += ["| request | status | error |", "|---|---:|---|"]
    lines += [f"| {r['request']} | {r['status']} | {r['error'].replace('|', '/')} |" for r in h["rows"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tagger", help="a tagger run (default: a tiny one trained here)")
    p.add_argument("--classifier", help="a classifier run")
    p.add_argument("--lm", help="a language model run (for the hostile generation requests)")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--duration", type=float, default=20.0, help="seconds per cell")
    p.add_argument("--memory-requests", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=1, help="the server's torch threads")
    p.add_argument("--start-limit", type=float, default=600.0, help="seconds the server may take to answer /health")
    p.add_argument("--quick", action="store_true", help="2 s cells at 1 and 8 clients, 300 requests for memory")
    p.add_argument("--out", help="JSON file (default benchmarks/results/serve-load[-quick].json); a .md beside it")
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.duration, args.memory_requests = [1, 8], 2.0, 300
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"serve-load{'-quick' if args.quick else ''}.json")
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        work = Path(tmp)
        given = {"tagger": args.tagger, "classifier": args.classifier, "lm": args.lm}
        runs = {k: Path(v) for k, v in given.items() if v}
        runs.update(tiny_runs(work, [k for k, v in given.items() if not v]))  # the ones not given: tiny, trained here
        result = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "threads": args.threads,
            "duration_s": args.duration,
            "runs": {k: v or "tiny (trained here)" for k, v in given.items()},
            **measure(args, runs, work),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json_text(result, indent=1) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
