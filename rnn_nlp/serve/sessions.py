"""Typing sessions: a language model's state carried from keystroke to keystroke, for next-word suggestions.

A session holds the model's state after the words typed so far (`LanguageModel.read`), a digest of
those words and their count: a fixed size, however long the text grows. Each keystroke sends the whole
text; when its complete words begin with the session's words (the digest matches), only the new words
run through the model; otherwise (a word was edited or deleted) the session starts again from the
sentence start. Sessions expire `ttl` seconds after their last use, and the oldest is dropped when
`max_sessions` are held, so the memory of all of them stays bounded.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

SEPARATOR = "\x1f"  # between words in the digest (no tokenizer leaves it inside a word)


def digest(words: list[str]) -> bytes:
    return hashlib.blake2b(SEPARATOR.join(words).encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass
class Session:
    state: Any  # the model's LMState after `count` words
    count: int
    words_digest: bytes
    used: float


class TypingSessions:
    """The typing sessions of one language model (`model`: a LanguageModel), used from the inference thread."""

    def __init__(self, model: Any, max_sessions: int = 1000, ttl: float = 600.0, clock=time.monotonic):
        if max_sessions < 1 or ttl <= 0:
            raise ValueError(f"max_sessions must be positive and ttl > 0, got {max_sessions}, {ttl}")
        self.model = model
        self.max_sessions = max_sessions
        self.ttl = ttl
        self.clock = clock
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.words_read = 0  # words run through the model, over all sessions (the tests count it)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.sessions)

    def suggest(self, text: str, session_id: str | None, k: int) -> dict:
        """Suggestions for `text` in session `session_id` (a new session when None, unknown or expired):
        {"session", "suggestions": [{"word", "probability"}], "partial", "words", "read"} where `read`
        is how many words this call ran through the model."""
        complete, partial = self.model.typing_tokens(text)
        with self._lock:
            now = self.clock()
            self._expire(now)
            session = self.sessions.pop(session_id, None) if session_id else None
            if session_id is None or session is None:
                session_id = secrets.token_urlsafe(12)
        # the model runs outside the lock: a session is used by one request at a time (its client's)
        start = 0
        state = None
        if session is not None and session.count <= len(complete) and digest(complete[: session.count]) == session.words_digest:
            start, state = session.count, session.state
        state = self.model.read(complete[start:], state)
        suggestions = self.model.next_words(state, k, partial)
        with self._lock:
            self.words_read += len(complete) - start
            self.sessions[session_id] = Session(state, len(complete), digest(complete), self.clock())
            while len(self.sessions) > self.max_sessions:
                self.sessions.popitem(last=False)  # the least recently used
        return {
            "session": session_id,
            "suggestions": [{"word": w, "probability": p} for w, p in suggestions],
            "partial": partial,
            "words": len(complete),
            "read": len(complete) - start,
        }

    def _expire(self, now: float) -> None:
        """Drop the sessions unused for `ttl` seconds (the oldest come first in the ordered dict)."""
        while self.sessions:
            first_id, first = next(iter(self.sessions.items()))
            if now - first.used < self.ttl:
                return
            del self.sessions[first_id]
