"""`rnn-nlp serve`: thread counts that never oversubscribe the cores, model names, the missing extra's one
line, bad options, and the command itself serving on loopback."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from rnn_nlp.cli import main
from rnn_nlp.errors import ConfigError
from rnn_nlp.serve.app import create_app
from rnn_nlp.serve.models import Settings
from rnn_nlp.serve.server import MISSING_EXTRA, run_names, thread_count


def test_threads_share_the_cores_and_never_oversubscribe():
    assert thread_count(1, None, cores=8) == 8
    assert thread_count(3, None, cores=8) == 2
    assert thread_count(2, 4, cores=8) == 4
    with pytest.raises(ConfigError, match="--workers 2 x --threads 5 = 10 threads would oversubscribe the 8 cores"):
        thread_count(2, 5, cores=8)
    with pytest.raises(ConfigError, match="--workers 9 is more than the 8 cores"):
        thread_count(9, None, cores=8)
    with pytest.raises(ConfigError, match="--threads must be at least 1"):
        thread_count(1, 0, cores=8)


def test_model_names():
    assert run_names(["runs/ner/", "sentiment=runs/sentiment-rt"]) == {"ner": "runs/ner/", "sentiment": "runs/sentiment-rt"}
    with pytest.raises(ConfigError, match="two models named 'ner'"):
        run_names(["runs/ner", "other/ner"])
    with pytest.raises(ConfigError, match=r"model name 'a b' \(from 'a b=runs/x'\) must be letters"):
        run_names(["a b=runs/x"])


def test_without_the_extra_the_command_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # `import fastapi` now fails
    assert main(["serve", "runs/ner"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {MISSING_EXTRA}"


def test_bad_options_are_one_line(capsys, serve_runs):
    assert main(["serve", str(serve_runs["tagger"]), "--max-batch", "0"]) == 2
    assert "--max-batch and --queue must be positive" in capsys.readouterr().err
    assert main(["serve", str(serve_runs["tagger"]), "--port", "70000"]) == 2
    assert "--port must be in 0..65535" in capsys.readouterr().err


def test_a_queue_smaller_than_the_largest_request_is_refused_at_startup(capsys, serve_runs, serve_models):
    """A request's inputs are queued all or none: with --queue under 64 a request of 64 texts got 503 forever."""
    message = (
        "serve: --queue 63 is smaller than the 64 texts one request may send (such a request could never be queued);"
        " give --queue 64 or more"
    )
    with pytest.raises(ConfigError) as refused:
        create_app({"tagger": serve_models["tagger"]}, Settings(max_queue=63))
    assert str(refused.value) == message
    assert main(["serve", str(serve_runs["tagger"]), "--queue", "63"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
    create_app({"tagger": serve_models["tagger"]}, Settings(max_queue=64))  # the largest request fits


@pytest.mark.slow
def test_the_command_serves_on_loopback(serve_runs, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [
        sys.executable,
        "-m",
        "rnn_nlp.cli",
        "serve",
        f"ner={serve_runs['tagger']}",
        str(serve_runs["lm"]),
        "--port",
        str(port),
        "--threads",
        "1",
    ]
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                health = httpx.get(url + "/health", timeout=2).json()
                break
            except httpx.HTTPError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.2)
        assert health["models"] == ["ner", "lm"]
        tagged = httpx.post(url + "/models/ner/predict", json={"text": "Ann Lee visited Paris ."}, timeout=30).json()
        assert [e["label"] for e in tagged["entities"]] == ["PER", "LOC"]
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    assert "1 worker(s) x 1 torch thread(s)" in (tmp_path / "server.log").read_text()
