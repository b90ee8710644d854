"""The FastAPI app: per-model endpoints, /health, /models, the OpenAPI docs and the web pages.

`create_app({"ner": model, ...})` serves models already loaded (`rnn_nlp.load(...)`); the routes of each
model are added under /models/NAME/ with the request body its task reads, so /docs shows each one.
Inference runs in one executor thread (torch's own threads do the parallel work), never on the event
loop; a request waits for its inputs' futures at most `Settings.timeout` seconds, and stops waiting
(its queued inputs cancelled) when its client disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from rnn_nlp.serve import schemas
from rnn_nlp.serve.batching import ALONE, QueueFull
from rnn_nlp.serve.errors import USER_ERRORS, ApiError, install_handlers
from rnn_nlp.serve.limits import BodyLimit
from rnn_nlp.serve.models import ServedModel, Settings, decoding_key
from rnn_nlp.tasks.model import Model
from rnn_nlp.version import __version__

log = logging.getLogger(__name__)
STATIC = Path(str(resources.files("rnn_nlp.serve") / "static"))
FIGURE = re.compile(r"^(curves|confusion-[A-Za-z0-9._-]+)\.png$")  # the run folder's figures the page shows


class ClientGone(Exception):
    """The client disconnected while its request waited."""


def create_app(models: dict[str, Model], settings: Settings | None = None) -> FastAPI:
    """The app serving `models` (name -> loaded model); a ConfigError for settings that could never serve the
    largest request (`Settings.check`)."""
    settings = settings or Settings()
    if not models:
        raise ValueError("serve: give at least one model")
    settings.check()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnn-nlp-inference")
    served = {name: ServedModel(name, model, executor, settings) for name, model in models.items()}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for s in served.values():
            for batcher in s.batchers.values():
                await batcher.close()
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="rnn-nlp",
        version=__version__,
        description="Trained rnn_nlp models over HTTP. Bodies are the typed results' `.to_dict()`, as `rnn-nlp predict` writes them.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.served = served
    app.state.settings = settings
    questions = {
        f"/models/{s.name}/{verb}": schemas.MAX_QA_BODY_BYTES for s in served.values() if s.kind == "qa" for verb in ("predict", "answer")
    }
    app.add_middleware(BodyLimit, limit=schemas.MAX_BODY_BYTES, limits=questions)
    install_handlers(app)
    _add_pages(app, served)
    for s in served.values():
        _add_model_routes(app, s, settings)
    _add_fallbacks(app, served)
    return app


# ---- waiting for results -----------------------------------------------------------------------
async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (the body was read whole before: nothing else can come)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def _wait(request: Request, work: Awaitable, timeout: float) -> Any:
    """`work`'s result, or ApiError 503 after `timeout` seconds, or ClientGone; either way `work` is cancelled."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        done, _ = await asyncio.wait({task, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if task in done:
        return task.result()
    task.cancel()
    if gone in done:
        raise ClientGone()
    raise ApiError(503, f"timed out: no result within {timeout:g} s (the server is busy); try again", {"Retry-After": "1"})


async def _batched(request: Request, s: ServedModel, verb: str, items: list, options: dict, key, label: str) -> list:
    """Queue `items` with the verb's batcher and wait for all their results (a model's refusal: 422, named `label`)."""
    try:
        futures = s.batchers[verb].submit(items, options, key)
    except QueueFull as exc:
        raise _busy(exc) from None
    gathered = asyncio.gather(*futures)
    try:
        return await _wait(request, gathered, s.settings.timeout)
    except USER_ERRORS as exc:
        where = f" (input {_failed_index(futures)})" if len(items) > 1 else ""
        raise ApiError(422, f"{s.name} {label}{where}: {exc}") from None
    finally:
        for f in futures:
            if not f.done():
                f.cancel()


def _busy(full: QueueFull) -> ApiError:
    """The 503 of a full queue (a batcher's, or /suggest's calls in flight)."""
    return ApiError(503, f"the server is busy: {full}; try again", {"Retry-After": "1"})


def _check_decoding_work(s: ServedModel, verb: str, count: int, options: dict) -> None:
    """Refuse (422) a decoding request over MAX_DECODING_WORK before it is queued: once running, its batch
    holds the one inference thread to the end, long after its client got a 503 or left."""
    work, width, tokens = s.decoding_work(count, options)
    if work > schemas.MAX_DECODING_WORK:
        raise ApiError(
            422,
            f"{s.name} {verb}: {count} text(s) x max(beam, num_samples) {width} x max_tokens {tokens} = {work:,} decoding steps;"
            f" one request may ask for at most {schemas.MAX_DECODING_WORK:,}: send fewer texts, or lower beam, num_samples or max_tokens",
        )


def _failed_index(futures: list) -> int:
    return next((i for i, f in enumerate(futures) if f.done() and not f.cancelled() and f.exception()), 0)


def _one_or_many(results: list, single: bool) -> dict:
    if not results:  # the client has gone: nobody reads this
        return {}
    return results[0] if single else {"results": results}


# ---- the routes of one model -------------------------------------------------------------------
def _add_model_routes(app: FastAPI, s: ServedModel, settings: Settings) -> None:
    batching_key = (lambda options: decoding_key(options)) if settings.max_batch > 1 else (lambda options: ALONE)

    async def run(request: Request, verb: str, items: list, options: dict | None = None) -> list:
        """The results of `items` through the verb's batcher ([] when the client has gone)."""
        options = options or {}
        label = request.url.path.rsplit("/", 1)[-1]
        try:
            return await _batched(request, s, verb, items, options, batching_key(options), label)
        except ClientGone:
            return []  # nobody reads the answer

    _add_input_routes(app, s, run)
    _add_decoding_routes(app, s, run, settings)
    _add_record_routes(app, s)


def _add_input_routes(app: FastAPI, s: ServedModel, run) -> None:
    """predict (answer, for a reader) and encode."""
    base = f"/models/{s.name}"
    tags: list = [s.name]
    if s.kind == "qa":

        async def answer(request: Request, body: schemas.QuestionsIn) -> dict:
            """An answer (text, character offsets, score) for a question about a context; {"inputs": [...]} for several."""
            return _one_or_many(await run(request, "predict", body.records()), body.single)

        for verb in ("predict", "answer"):
            app.post(f"{base}/{verb}", tags=tags, summary=f"{s.name}: answer questions", operation_id=f"{s.name}_{verb}")(answer)
    else:

        async def predict(request: Request, body: schemas.TextsIn) -> dict:
            """The model's prediction for `text` (one result) or `texts` ({"results": [...]})."""
            return _one_or_many(await run(request, "predict", body.items()), body.text is not None)

        app.post(f"{base}/predict", tags=tags, summary=f"{s.name}: predict ({s.model.task})", operation_id=f"{s.name}_predict")(predict)

    async def encode(request: Request, body: schemas.EncodeIn) -> dict:
        """A vector per text: the backbone's states pooled (the run's own pooling, or `pooling`)."""
        options = {"pooling": tuple(body.pooling)} if body.pooling else {}
        return _one_or_many(await run(request, "encode", body.items(), options), body.text is not None)

    app.post(f"{base}/encode", tags=tags, summary=f"{s.name}: sentence vectors", operation_id=f"{s.name}_encode")(encode)


def _add_decoding_routes(app: FastAPI, s: ServedModel, run, settings: Settings) -> None:
    """generate and suggest (a language model), translate (an encoder-decoder)."""
    base = f"/models/{s.name}"
    tags: list = [s.name]
    if "generate" in s.verbs:

        async def generate(request: Request, body: schemas.GenerateIn) -> dict:
            """The continuation of `prompt`: greedy, sampled (temperature, top_k, top_p, seed) or by beam search."""
            options = body.options()
            options.setdefault("max_tokens", 30)
            _check_decoding_work(s, "generate", 1, options)
            return (await run(request, "generate", [body.prompt], options) or [{}])[0]

        app.post(f"{base}/generate", tags=tags, summary=f"{s.name}: continue a prompt", operation_id=f"{s.name}_generate")(generate)

    if "translate" in s.verbs:

        async def translate(request: Request, body: schemas.TranslateIn) -> dict:
            """The output for `text` (or each of `texts`): greedy, sampled or by beam search (default: the run's beam)."""
            items, options = body.items(), body.options()
            _check_decoding_work(s, "translate", len(items), options)
            return _one_or_many(await run(request, "translate", items, options), body.text is not None)

        app.post(f"{base}/translate", tags=tags, summary=f"{s.name}: translate", operation_id=f"{s.name}_translate")(translate)

    if s.sessions is not None:
        sessions = s.sessions

        async def suggest(request: Request, body: schemas.SuggestIn) -> dict:
            """Next-word suggestions for the text typed so far; pass back `session` so only new words are read."""
            try:
                work = s.suggestions.submit(sessions.suggest, body.text, body.session, body.k)
            except QueueFull as exc:
                raise _busy(exc) from None
            try:
                return await _wait(request, work, settings.timeout)
            except ClientGone:
                return {}
            except USER_ERRORS as exc:
                raise ApiError(422, f"{s.name} suggest: {exc}") from None

        app.post(f"{base}/suggest", tags=tags, summary=f"{s.name}: next-word suggestions", operation_id=f"{s.name}_suggest")(suggest)


def _add_record_routes(app: FastAPI, s: ServedModel) -> None:
    """The model's description with its run's record, and the run's figures."""
    base = f"/models/{s.name}"
    tags: list = [s.name]

    async def about() -> dict:
        """Task, labels, metrics, versions and endpoints, with what the run folder records: training curves
        (metrics.csv, steps.csv), evaluations, reports, figures and the model card."""
        record = await asyncio.get_running_loop().run_in_executor(None, s.model.run_record)
        return {**s.info(record), "record": record}

    app.get(base, tags=tags, summary=f"{s.name}: what it is and what its run records", operation_id=f"{s.name}_about")(about)

    async def figure(file: str):
        """A figure of the run folder (curves.png, confusion-*.png), by the name the record lists."""
        if s.model.path is None or not FIGURE.match(file) or not (s.model.path / file).is_file():
            raise ApiError(404, f"{s.name} has no figure {file!r}; GET {base} lists its figures")
        return FileResponse(s.model.path / file, media_type="image/png")

    app.get(f"{base}/figures/{{file}}", tags=tags, include_in_schema=False)(figure)


# ---- server-wide routes ------------------------------------------------------------------------
def _add_pages(app: FastAPI, served: dict[str, ServedModel]) -> None:
    @app.get("/health", tags=["server"], summary="whether the server answers, and how busy it is")
    async def health() -> dict:
        queued = sum(len(b.pending) for s in served.values() for b in s.batchers.values())
        queued += sum(s.suggestions.in_flight for s in served.values())
        sessions = sum(len(s.sessions) for s in served.values() if s.sessions is not None)
        return {
            "status": "ok",
            "version": __version__,
            "models": list(served),
            "queued": queued,
            "sessions": sessions,
            "limits": schemas.LIMITS,
        }

    @app.get("/models", tags=["server"], summary="the served models: task, labels, metrics, versions, endpoints")
    async def models() -> dict:
        infos = await asyncio.get_running_loop().run_in_executor(None, lambda: [s.info() for s in served.values()])
        return {"models": infos}

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    docs_static = _docs_static()
    if docs_static is not None:
        app.mount("/docs-static", StaticFiles(directory=docs_static), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if docs_static is None:
            raise ApiError(404, 'the docs page needs fastapi-offline (pip install "rnn-nlp[serve]"); /openapi.json is the API')
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="rnn-nlp API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/model/{name}", include_in_schema=False)
    async def model_page(name: str) -> FileResponse:
        _served(served, name)
        return FileResponse(STATIC / "model.html")


def _docs_static() -> Path | None:
    """Swagger UI's files as fastapi-offline ships them (no CDN), if it is installed."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").exists() else None


def _served(served: dict[str, ServedModel], name: str) -> ServedModel:
    if name not in served:
        raise ApiError(404, f"no model {name!r}; this server has {', '.join(map(repr, served))}")
    return served[name]


def _add_fallbacks(app: FastAPI, served: dict[str, ServedModel]) -> None:
    """Clear 404s and 405s for an unknown model, an endpoint its task lacks, or a verb asked with GET."""

    async def fallback(request: Request, name: str, verb: str) -> None:
        s = _served(served, name)
        if verb in s.verbs:
            raise ApiError(405, f"{request.method} is not allowed on /models/{name}/{verb}: POST a JSON body", {"Allow": "POST"})
        raise ApiError(404, f"model {name!r} ({s.model.task}) has no endpoint {verb!r}; it has {', '.join(s.verbs)}")

    app.api_route("/models/{name}/{verb}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)(fallback)

    async def unknown_model(name: str) -> None:
        _served(served, name)

    app.get("/models/{name}", include_in_schema=False)(unknown_model)
