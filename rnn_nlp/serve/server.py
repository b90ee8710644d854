"""Starting the server: load the runs, size the threads, run uvicorn (one process, or `workers` of them).

Threads: each worker process runs inference in one executor thread, and torch's intra-op threads are
set so that workers x threads never exceeds the cores this process may use (`--threads` that would is
refused). With several workers each process loads the models itself (memory grows with the count);
uvicorn starts them from `app_from_environment`, which reads what to serve from RNN_NLP_SERVE.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict
from pathlib import Path

from rnn_nlp.errors import ConfigError, RnnNlpError
from rnn_nlp.files import json_text
from rnn_nlp.serve.models import Settings

log = logging.getLogger(__name__)
ENVIRONMENT = "RNN_NLP_SERVE"  # what a worker process serves: {"runs": {name: path}, "device", "threads", "settings"}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MISSING_EXTRA = 'rnn-nlp serve needs the serve extra: pip install "rnn-nlp[serve]" (FastAPI, uvicorn)'


def check_extra() -> None:
    """A one-line RnnNlpError naming the extra when FastAPI or uvicorn is missing."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise RnnNlpError(MISSING_EXTRA) from None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_count(workers: int, threads: int | None, cores: int | None = None) -> int:
    """Torch threads per worker: `threads`, or the cores shared out; refused when workers x threads > cores."""
    cores = cores or usable_cores()
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if workers > cores:
        raise ConfigError(f"--workers {workers} is more than the {cores} cores this process may use")
    if threads is None:
        return max(1, cores // workers)
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    if workers * threads > cores:
        raise ConfigError(f"--workers {workers} x --threads {threads} = {workers * threads} threads would oversubscribe the {cores} cores")
    return threads


def run_names(runs: list[str]) -> dict[str, str]:
    """name -> run for `RUN` (named after its folder) or `NAME=RUN` arguments; names are unique."""
    named: dict[str, str] = {}
    for arg in runs:
        name, sep, run = arg.partition("=")
        if not sep:
            name, run = Path(arg.rstrip("/")).name or arg, arg
        if not NAME.match(name):
            raise ConfigError(
                f"serve: model name {name!r} (from {arg!r}) must be letters, digits, '.', '_' or '-' (up to 64); name it NAME=RUN"
            )
        if name in named:
            raise ConfigError(f"serve: two models named {name!r}; name them apart with NAME=RUN")
        named[name] = run
    return named


def load_models(runs: dict[str, str], device: str | None, threads: int):
    import torch

    import rnn_nlp

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has begun
        pass
    models = {}
    for name, run in runs.items():
        models[name] = rnn_nlp.load(run, device)
        log.info("serving %s (%s) from %s as /models/%s", name, models[name].task, run, name)
    return models


def app_from_environment():
    """The app of one worker process, from RNN_NLP_SERVE (set by `run`)."""
    from rnn_nlp.serve.app import create_app

    spec = json.loads(os.environ[ENVIRONMENT])
    models = load_models(spec["runs"], spec["device"], spec["threads"])
    app = create_app(models, Settings(**spec["settings"]))
    for served in app.state.served.values():
        served.warm_up()
    return app


def run(
    runs: list[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    threads: int | None = None,
    device: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Serve `runs` until interrupted."""
    check_extra()
    import uvicorn

    from rnn_nlp.serve.app import create_app

    settings = settings or Settings()
    if not runs:
        raise ConfigError("serve: give at least one run folder (or a trained recipe's name)")
    settings.check()  # before any model loads
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    per_worker = thread_count(workers, threads)
    named = run_names(runs)
    models = load_models(named, device, per_worker)  # here too with workers: a bad run fails before any worker starts
    log.info("%d worker(s) x %d torch thread(s); open http://%s:%d/ (API docs: /docs)", workers, per_worker, host, port)
    if workers == 1:
        app = create_app(models, settings)
        for served in app.state.served.values():
            served.warm_up()
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    del models
    os.environ[ENVIRONMENT] = json_text({"runs": named, "device": device, "threads": per_worker, "settings": asdict(settings)})
    uvicorn.run("rnn_nlp.serve.server:app_from_environment", factory=True, host=host, port=port, workers=workers, log_level="info")
