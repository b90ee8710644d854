"""Typing sessions (rnn_nlp.serve.sessions) and /suggest: each keystroke reads only the new words, gives what
reading the whole text gives, an edit starts over, sessions expire and are capped, and each holds a state
of one size however long the text."""

from __future__ import annotations

import asyncio
import threading

import httpx
from fastapi.testclient import TestClient

from rnn_nlp.serve.app import create_app
from rnn_nlp.serve.models import Settings
from rnn_nlp.serve.sessions import TypingSessions


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fresh(lm, text: str, k: int = 5) -> list[dict]:
    """The suggestions of reading `text` from scratch."""
    words, partial = lm.typing_tokens(text)
    return [{"word": w, "probability": p} for w, p in lm.next_words(lm.read(words), k, partial)]


def test_each_keystroke_reads_only_its_new_words(serve_models):
    lm = serve_models["lm"]
    sessions = TypingSessions(lm)
    session = None
    typed = "the cat sees a dog "
    reads = []
    for i in range(1, len(typed) + 1):
        out = sessions.suggest(typed[:i], session, 5)
        session = out["session"]
        reads.append(out["read"])
        assert out["suggestions"] == fresh(lm, typed[:i])
    assert sum(reads) == 5 == sessions.words_read  # every word read once, however many keystrokes
    assert len(sessions) == 1


def test_an_edit_starts_the_session_over(serve_models):
    lm = serve_models["lm"]
    sessions = TypingSessions(lm)
    first = sessions.suggest("the cat sees ", None, 5)
    edited = sessions.suggest("a dog sees ", first["session"], 5)  # the beginning changed
    assert edited["read"] == 3 and edited["suggestions"] == fresh(lm, "a dog sees ")
    shorter = sessions.suggest("a dog ", edited["session"], 5)  # words deleted
    assert shorter["read"] == 2 and shorter["suggestions"] == fresh(lm, "a dog ")


def test_sessions_expire_and_are_capped(serve_models):
    clock = Clock()
    sessions = TypingSessions(serve_models["lm"], max_sessions=2, ttl=10, clock=clock)
    a = sessions.suggest("the cat ", None, 3)["session"]
    clock.now = 5
    b = sessions.suggest("a dog ", None, 3)["session"]
    c = sessions.suggest("my friend ", None, 3)["session"]  # a third: the least recently used (a) goes
    assert set(sessions.sessions) == {b, c}
    clock.now = 16  # b and c unused for 11 s: expired at the next use
    again = sessions.suggest("my friend likes ", c, 3)
    assert again["session"] != c and again["read"] == 3 and len(sessions) == 1
    assert sessions.suggest("the cat sees ", a, 3)["read"] == 3  # an expired session's id starts a new one


def test_suggest_endpoint(serve_models):
    lm = serve_models["lm"]
    with TestClient(create_app({"lm": lm})) as client:
        first = client.post("/models/lm/suggest", json={"text": "the ca"}).json()
        assert first["partial"] == "ca" and all(s["word"].startswith("ca") for s in first["suggestions"])
        assert first["suggestions"] == fresh(lm, "the ca")
        second = client.post("/models/lm/suggest", json={"text": "the cat chases ", "session": first["session"], "k": 3}).json()
        assert second["session"] == first["session"]  # the same session, carried on
        assert second["read"] == 2 and second["words"] == 3 and second["suggestions"] == fresh(lm, "the cat chases ", 3)
        assert client.get("/health").json()["sessions"] == 1


def test_a_flood_of_keystrokes_gets_503_once_the_queue_is_full(serve_models):
    """/suggest is bounded by --queue as the batched verbs are: more calls in flight get the same 503."""
    gate = threading.Event()
    app = create_app({"lm": serve_models["lm"]}, Settings(max_queue=64))
    served = app.state.served["lm"]
    real = served.sessions.suggest
    served.sessions.suggest = lambda *args: (gate.wait(30), real(*args))[1]  # the model held busy

    async def flood():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as c:
            held = [asyncio.ensure_future(c.post("/models/lm/suggest", json={"text": f"the cat {i}"})) for i in range(64)]
            while served.suggestions.in_flight < 64:  # one running (held), 63 waiting behind it
                await asyncio.sleep(0.01)
            health = (await c.get("/health")).json()
            refused = await c.post("/models/lm/suggest", json={"text": "the cow"})
            gate.set()
            return refused, health, [await r for r in held]

    refused, health, held = asyncio.run(flood())
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json() == {"error": "the server is busy: 64 calls are queued or running already (the queue holds 64); try again"}
    assert health["queued"] == 64
    assert [r.status_code for r in held] == [200] * 64 and held[0].json()["suggestions"] == fresh(serve_models["lm"], "the cat 0")
    assert served.suggestions.in_flight == 0  # each place freed once its call has run
