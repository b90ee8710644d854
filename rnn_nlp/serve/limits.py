"""The request-body limit: a body over `limit` bytes (`limits[path]` for the paths named there) is refused
with 413 before it is read whole.

A Content-Length over the limit is answered at once; a body sent without one (chunked) is counted as it
comes, and reading stops at the limit (FastAPI hands on an HTTPException raised while the body is read).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rnn_nlp.serve.errors import error_response


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, limits: dict[str, int] | None = None):
        self.app = app
        self.limit = limit
        self.limits = dict(limits or {})  # path -> its own limit (a reader's questions are larger than texts)

    @staticmethod
    def _message(size: str, limit: int, path: str) -> str:
        return f"the body is {size}; {path} takes at most {limit:,} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.limits.get(path, self.limit)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            shown = f"{int(length):,} bytes" if length.isdigit() else f"of unreadable length {length[:20]!r}"
            status = 413 if length.isdigit() else 400
            await error_response(status, self._message(shown, limit, path) if status == 413 else f"bad Content-Length {length[:20]!r}")(
                scope, receive, send
            )
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, self._message(f"over {limit:,} bytes", limit, path))
            return message

        await self.app(scope, limited, send)
