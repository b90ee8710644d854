"""Typing sessions (rnn_nlp.serve.sessions) and /suggest: each keystroke reads only the new words, gives what
reading the whole text gives, an edit starts over, sessions expire and are capped, and each holds a state
of one size however long the text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from rnn_nlp.serve.app import create_app
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
