"""The API's errors: every refusal is a JSON body {"error": "what was wrong, and where"} with a 4xx status
(503 when the server is too busy or a request waited too long), never a stack trace.

What a model itself refuses (a TypeError, ValueError or the package's errors: a QA input whose
candidates are not in its context, an unknown pooling) is a 422 with the model's own message.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rnn_nlp.errors import RnnNlpError

log = logging.getLogger(__name__)
USER_ERRORS = (TypeError, ValueError, RnnNlpError)  # what a model raises for an input it cannot take


class ApiError(Exception):
    """A refusal with its HTTP status and message (and headers, e.g. Retry-After)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class BodyTooLarge(Exception):
    """Raised while a request body is read, once it passes the limit."""


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def describe_validation(errors: list[dict]) -> str:
    """Pydantic's errors as one line: "body.texts[2]: String should have at least 1 character; ..."."""
    parts = []
    for err in errors[:5]:
        where = ""
        for part in err.get("loc", ()):
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            at = err.get("loc", ("body", "?"))[-1]
            parts.append(f"the body is not valid JSON: {err.get('ctx', {}).get('error', 'malformed')} at character {at}")
            continue
        parts.append(f"{where}: {message}" if where else message)
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def install_handlers(app: FastAPI) -> None:
    """JSON errors for validation, unknown routes and methods, oversized bodies and the ApiErrors the routes raise."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        return error_response(422, describe_validation(errors), detail=_plain(errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no endpoint {request.method} {request.url.path}; GET /models lists the models and their endpoints"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        elif exc.status_code == 400 and "parsing the body" in message:
            message = "the body could not be read as JSON (too deeply nested, or not JSON at all)"
        return error_response(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return error_response(413, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); the server's log has the details")


def _plain(errors: list[dict]) -> list[dict]:
    """Validation errors with only JSON-able parts (pydantic's `ctx` may hold exceptions)."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]
