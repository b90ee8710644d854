"""The hostile requests of benchmarks/serve_load.py (at least 30): each is refused with its 4xx status and a
JSON error saying what was wrong, none reaches a 500, and the server still answers /health after them."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from rnn_nlp.serve.app import create_app


@pytest.fixture(scope="module")
def client(serve_models):
    with TestClient(create_app(serve_models), raise_server_exceptions=False) as c:
        yield c


def test_every_hostile_request_gets_its_4xx_and_a_json_error(client, load_script):
    assert len(load_script.HOSTILE) >= 30
    wrong = []
    for name, req, expected in load_script.HOSTILE:
        content = req["raw"] if req["raw"] is not None else (json.dumps(req["json"]).encode() if req["json"] is not None else None)
        headers = {"content-type": req["content_type"]} if content is not None else {}
        r = client.request(req["method"], req["path"], content=content, headers=headers)
        error = r.json().get("error") if r.headers.get("content-type", "").startswith("application/json") else None
        if r.status_code != expected or not error:
            wrong.append((name, r.status_code, expected, r.text[:200]))
    assert wrong == []
    assert client.get("/health").json()["status"] == "ok"


def test_errors_say_what_and_where(client):
    r = client.post("/models/classifier/predict", json={"texts": ["fine", ""]})
    assert r.status_code == 422 and r.json()["error"] == "body.texts[1]: String should have at least 1 character"
    r = client.post("/models/lm/generate", json={"prompt": "the", "max_tokens": 10**9})
    assert r.json()["error"] == "body.max_tokens: Input should be less than or equal to 200"
    r = client.post("/models/nope/predict", json={"text": "a"})
    assert r.status_code == 404 and r.json()["error"] == "no model 'nope'; this server has 'tagger', 'classifier', 'lm'"
    r = client.post("/models/tagger/generate", json={"prompt": "a"})
    assert r.json()["error"] == "model 'tagger' (ner) has no endpoint 'generate'; it has predict, encode"
    r = client.post("/models/tagger/encode", json={"text": "a", "pooling": ["attention"]})
    assert r.status_code == 422 and r.json()["error"].startswith("tagger encode: pooling 'attention' needs trained weights")
