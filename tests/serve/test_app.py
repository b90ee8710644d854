"""The app (rnn_nlp.serve.app) on tiny trained runs: every endpoint answers with the model's own results'
`.to_dict()`; concurrent requests are micro-batched and equal one-at-a-time results; a full queue and a
request that waits too long get 503; a client that disconnects frees its place; the model page's record;
the docs and the page load nothing from outside."""

from __future__ import annotations

import asyncio
import json
import re
import threading

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from rnn_nlp.serve import schemas
from rnn_nlp.serve.app import STATIC, ClientGone, _wait, create_app
from rnn_nlp.serve.models import Settings

TAGGER_TEXTS = [
    "John Smith visited Paris .",
    "Mary left New York .",
    "Ann Lee joined Acme Corp .",
    "Bob saw Rome .",
    "Karl Marx left Globex .",
]
CLASSIFIER_TEXTS = ["the film was superb", "a dull boring plot", "the cast was great", "awful", "superb superb and moving work"]


@pytest.fixture(scope="module")
def client(serve_models):
    with TestClient(create_app(serve_models)) as c:
        yield c


def test_each_endpoint_answers_with_the_models_own_results(client, serve_models):
    tagger, classifier, lm = serve_models["tagger"], serve_models["classifier"], serve_models["lm"]
    assert client.post("/models/tagger/predict", json={"text": TAGGER_TEXTS[0]}).json() == tagger.predict(TAGGER_TEXTS[0]).to_dict()
    many = client.post("/models/classifier/predict", json={"texts": CLASSIFIER_TEXTS[:2]}).json()
    assert many == {"results": [r.to_dict() for r in classifier.predict(CLASSIFIER_TEXTS[:2])]}
    generated = client.post("/models/lm/generate", json={"prompt": "the cat", "max_tokens": 5, "beam": 3, "num_samples": 2}).json()
    assert generated == lm.predict("the cat", max_tokens=5, beam=3, num_samples=2).to_dict() and len(generated["alternatives"]) == 1
    encoded = client.post("/models/classifier/encode", json={"texts": CLASSIFIER_TEXTS[:2], "pooling": ["mean"]}).json()["results"]
    np.testing.assert_allclose([r["vector"] for r in encoded], classifier.encode(CLASSIFIER_TEXTS[:2], pooling=["mean"]), atol=1e-5)
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert models["tagger"]["task"] == "ner" and models["tagger"]["labels"] == tagger.labels
    assert set(models["lm"]["endpoints"]) == {"predict", "generate", "suggest", "encode"}
    assert models["classifier"]["metrics"]["evaluations"]["test"]["accuracy"] == pytest.approx(
        classifier.evaluate(split="test")["accuracy"]
    )
    assert models["lm"]["versions"]["rnn_nlp_version"] and models["lm"]["versions"]["torch_version"]
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["models"] == ["tagger", "classifier", "lm"] and health["limits"]["max_tokens"] == 200


def send_concurrently(app, requests: list[tuple[str, dict]]) -> list[dict]:
    """POST every (path, body) at once (so the batchers can gather them); the answers' JSON, in order."""

    async def send_all() -> list:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as c:
            return await asyncio.gather(*(c.post(path, json=body) for path, body in requests))

    return [r.json() for r in asyncio.run(send_all())]


def test_concurrent_requests_are_batched_and_equal_one_at_a_time(serve_models):
    app = create_app(serve_models, Settings(max_batch=32, max_wait_ms=50))
    texts = {"tagger": TAGGER_TEXTS * 3, "classifier": CLASSIFIER_TEXTS * 3}
    answers = send_concurrently(app, [(f"/models/{name}/predict", {"text": t}) for name, ts in texts.items() for t in ts])
    for name, ts in texts.items():
        alone = [serve_models[name].predict(t).to_dict() for t in ts]  # one text per forward pass
        assert answers[: len(ts)] == alone
        answers = answers[len(ts) :]
        batcher = app.state.served[name].batchers["predict"]
        assert batcher.largest > 1 and batcher.batches < len(ts)  # they did share forward passes


def test_batched_generation_translation_and_encoding_equal_one_at_a_time(serve_models, serve_translator):
    """Greedy and beam generation, translation and encoding, sent at once and batched, give what each input
    gives alone (prompts and sources of different lengths share a forward pass)."""
    lm, classifier = serve_models["lm"], serve_models["classifier"]
    app = create_app({"lm": lm, "classifier": classifier, "s2s": serve_translator}, Settings(max_batch=32, max_wait_ms=50))
    prompts = ["", "the", "the cat", "a dog sees", "my friend likes the"] * 2
    sources = ["a b c", "d e", "f g h a", "b", "c d e f g"] * 2
    beam = {"max_tokens": 5, "beam": 3, "num_samples": 2}
    requests = (
        [("/models/lm/generate", {"prompt": p, "max_tokens": 6}) for p in prompts]
        + [("/models/lm/generate", {"prompt": p, **beam}) for p in prompts]
        + [("/models/s2s/translate", {"text": t}) for t in sources]
        + [("/models/classifier/encode", {"text": t}) for t in CLASSIFIER_TEXTS * 2]
    )
    answers = send_concurrently(app, requests)
    greedy, beamed, translated, encoded = (answers[i : i + 10] for i in range(0, 40, 10))
    assert greedy == [lm.predict(p, max_tokens=6).to_dict() for p in prompts]
    assert beamed == [lm.predict(p, **beam).to_dict() for p in prompts]
    assert translated == [serve_translator.predict(t).to_dict() for t in sources]
    assert [e["text"] for e in encoded] == CLASSIFIER_TEXTS * 2
    alone = np.concatenate([classifier.encode([t]) for t in CLASSIFIER_TEXTS * 2])
    np.testing.assert_allclose([e["vector"] for e in encoded], alone, atol=1e-5)
    for name, verb in [("lm", "generate"), ("s2s", "translate"), ("classifier", "encode")]:
        assert app.state.served[name].batchers[verb].largest > 1  # they did share forward passes


def test_a_request_asking_too_much_decoding_is_refused_before_it_runs(serve_translator):
    """texts x max(beam, num_samples) x max_tokens over the limit: 422 naming the fields and the limit, and
    nothing queued; at the limit it runs. The run's own beam and max tokens count where the body has none."""
    app = create_app({"s2s": serve_translator})
    texts = [f"a b c {i}" for i in range(64)]
    with TestClient(app) as client:
        assert client.get("/health").json()["limits"]["max_decoding_work"] == schemas.MAX_DECODING_WORK == 12_800
        r = client.post("/models/s2s/translate", json={"texts": texts, "beam": 8, "max_tokens": 200})
        assert r.status_code == 422
        assert r.json()["error"] == (
            "s2s translate: 64 text(s) x max(beam, num_samples) 8 x max_tokens 200 = 102,400 decoding steps;"
            " one request may ask for at most 12,800: send fewer texts, or lower beam, num_samples or max_tokens"
        )
        sampled = client.post("/models/s2s/translate", json={"texts": texts, "sample": True, "num_samples": 8, "max_tokens": 30})
        assert sampled.status_code == 422 and "64 text(s) x max(beam, num_samples) 8 x max_tokens 30 = 15,360" in sampled.json()["error"]
        assert app.state.served["s2s"].batchers["translate"].batches == 0  # refused before it was queued
        at_limit = client.post("/models/s2s/translate", json={"texts": texts[:8], "beam": 8, "max_tokens": 200})
        assert at_limit.status_code == 200 and len(at_limit.json()["results"]) == 8
        serve_translator.beam = 3  # the run's own beam (and its max_decode_tokens, 10) when the body has none
        try:
            assert app.state.served["s2s"].decoding_work(64, {}) == (64 * 3 * 10, 3, 10)
        finally:
            serve_translator.beam = 1


def test_the_largest_valid_request_fits_the_body_limit(client, serve_models):
    """64 texts of 5,000 characters outside the BMP, each escaped as JSON can (12 bytes) and indented: accepted,
    not 413; a byte over the limit is refused before it is read."""
    texts = ["\U0001f600" * schemas.MAX_CHARS] * schemas.MAX_TEXTS
    body = json.dumps({"texts": texts}, indent=2).encode()
    assert 3_800_000 < len(body) <= schemas.MAX_BODY_BYTES == client.get("/health").json()["limits"]["max_body_bytes"]
    r = client.post("/models/classifier/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and [x["text"] for x in r.json()["results"]] == texts
    over = body + b" " * (schemas.MAX_BODY_BYTES + 1 - len(body))  # the same request, whitespace after it
    r = client.post("/models/classifier/predict", content=over, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert (
        r.json()["error"] == f"the body is {len(over):,} bytes; /models/classifier/predict takes at most {schemas.MAX_BODY_BYTES:,} bytes"
    )


def test_the_largest_valid_questions_fit_their_own_body_limit():
    """A reader's largest request (64 questions, each with its context and 100 candidates, all escaped) is valid
    and within the limit of the reader's routes, which is larger than the texts' limit."""
    question = {
        "question": "\U0001f600" * schemas.MAX_CHARS,
        "context": "\U0001f600" * schemas.MAX_CONTEXT_CHARS,
        "candidates": ["\U0001f600" * schemas.MAX_CANDIDATE_CHARS] * schemas.MAX_CANDIDATES,
    }
    body = json.dumps({"inputs": [question] * schemas.MAX_TEXTS}, indent=2)
    assert schemas.MAX_BODY_BYTES < len(body) <= schemas.MAX_QA_BODY_BYTES
    assert len(schemas.QuestionsIn.model_validate_json(body).records()) == schemas.MAX_TEXTS


def test_sampled_generations_never_share_a_batch(serve_models):
    """A seeded sample drawn in a batch would differ from the same request alone (one generator a call)."""
    app = create_app(serve_models, Settings(max_wait_ms=50))
    body = {"prompt": "the cat", "max_tokens": 6, "sample": True, "seed": 3, "temperature": 1.5}

    async def send() -> list:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as c:
            return [r.json() for r in await asyncio.gather(*(c.post("/models/lm/generate", json=body) for _ in range(3)))]

    alone = serve_models["lm"].predict("the cat", max_tokens=6, sample=True, seed=3, temperature=1.5).to_dict()
    assert asyncio.run(send()) == [alone] * 3


def test_a_full_queue_and_a_long_wait_get_503(serve_models):
    gate = threading.Event()
    app = create_app({"tagger": serve_models["tagger"]}, Settings(max_batch=1, max_queue=64, timeout=60))
    batcher = app.state.served["tagger"].batchers["predict"]
    real = batcher.run
    batcher.run = lambda items, options: (gate.wait(30), real(items, options))[1]

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as c:
            first = asyncio.ensure_future(c.post("/models/tagger/predict", json={"text": "Bob saw Rome ."}))
            while batcher.batches == 0:  # the first is in the model (held), the queue empty again
                await asyncio.sleep(0.01)
            second = asyncio.ensure_future(c.post("/models/tagger/predict", json={"texts": ["Mary left Paris ."] * 64}))
            while not batcher.pending:
                await asyncio.sleep(0.01)
            third = await c.post("/models/tagger/predict", json={"text": "Ann saw Berlin ."})  # the queue is full
            gate.set()
            return third, await first, await second

    third, first, second = asyncio.run(scenario())
    assert third.status_code == 503 and third.headers["retry-after"] == "1"
    assert third.json()["error"] == "the server is busy: 64 inputs are waiting already (the queue holds 64); try again"
    assert (first.status_code, second.status_code) == (200, 200)

    gate.clear()
    app.state.settings.timeout = 0.3

    async def too_slow():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as c:
            return await c.post("/models/tagger/predict", json={"text": "Bob saw Rome ."})

    slow = asyncio.run(too_slow())
    gate.set()
    assert slow.status_code == 503 and slow.json()["error"] == "timed out: no result within 0.3 s (the server is busy); try again"


def test_a_client_that_disconnects_frees_its_place(serve_models):
    app = create_app({"tagger": serve_models["tagger"]}, Settings(max_batch=1))
    batcher = app.state.served["tagger"].batchers["predict"]

    class GoneRequest:
        async def receive(self):
            await asyncio.sleep(0.05)
            return {"type": "http.disconnect"}

    gate = threading.Event()
    batcher.run = lambda items, options: (gate.wait(30), [None] * len(items))[1]

    async def scenario():
        held = batcher.submit(["held"], {}, key=())  # a request the model is busy with
        while batcher.batches == 0:
            await asyncio.sleep(0.01)
        futures = batcher.submit(["Bob saw Rome ."], {}, key=())  # waits in the queue
        with pytest.raises(ClientGone):
            await _wait(GoneRequest(), asyncio.gather(*futures), timeout=5)
        await asyncio.sleep(0)
        freed = futures[0].cancelled() and not batcher.pending  # at once, while the model is still busy
        gate.set()
        await asyncio.gather(*held)
        return freed

    assert asyncio.run(scenario())
    assert batcher.batches == 1  # the cancelled input never ran


def test_the_model_page_record(client, serve_runs):
    about = client.get("/models/classifier").json()
    record = about["record"]
    assert [row["epoch"] for row in record["metrics"]] == [1.0, 2.0, 3.0]
    assert "accuracy" in record["evaluations"]["test"] and "precision" in record["reports"]["test"]
    assert "confusion-test.png" in record["figures"] and "curves.png" in record["figures"]
    assert record["card"].startswith("---\nlicense: mit\n---\n# A tiny sentiment classifier")
    png = client.get("/models/classifier/figures/confusion-test.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/models/classifier/figures/model.safetensors").status_code == 404
    # Every run writes its own model card when training ends (rnn_nlp.runs.model_card): the page shows it
    card = client.get("/models/lm").json()["record"]["card"]
    assert card.startswith("---\nlibrary_name: rnn-nlp\n") and "pipeline_tag: text-generation" in card
    page = client.get("/model/classifier")
    assert page.status_code == 200 and "report.js" in page.text
    assert client.get("/model/nope").status_code == 404


def test_the_page_and_the_docs_load_nothing_from_outside(client):
    for path in ["/", "/docs"]:
        html = client.get(path).text
        for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html):
            assert url.startswith("/"), f"{path} loads {url}"
            assert client.get(url).status_code == 200, url
    for file in STATIC.iterdir():
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", file.read_text(encoding="utf-8")), file.name
    spec = client.get("/openapi.json").json()
    assert "/models/lm/suggest" in spec["paths"] and "/models/tagger/predict" in spec["paths"]


def test_a_readers_two_routes_share_one_batcher():
    """/answer is a reader's /predict by another name: one batcher (an unused "answer" batcher was made)."""
    from concurrent.futures import ThreadPoolExecutor

    from rnn_nlp.serve.models import ServedModel
    from rnn_nlp.tasks.qa.model import ReaderModel

    reader = ReaderModel.__new__(ReaderModel)  # what a reader serves depends on its class alone: no weights needed
    with ThreadPoolExecutor(max_workers=1) as executor:
        served = ServedModel("qa", reader, executor, Settings())
    assert served.verbs == ["predict", "answer", "encode"] and set(served.batchers) == {"predict", "encode"}


@pytest.mark.slow
def test_reader_and_translator_endpoints(tmp_path):
    import rnn_nlp
    from tests.api_data import qa_input, raw_config, write_data

    models = {
        task: rnn_nlp.train(raw_config(task, write_data(task, tmp_path / f"data-{task}")), out=tmp_path / task)
        for task in ("qa", "seq2seq")
    }
    reader, translator = models["qa"], models["seq2seq"]
    with TestClient(create_app(models)) as client:
        question = qa_input(5)
        assert client.post("/models/qa/answer", json=question).json() == reader.predict(question).to_dict()
        padded = json.dumps(question).encode() + b" " * schemas.MAX_BODY_BYTES  # over the texts' limit, within the reader's
        r = client.post("/models/qa/answer", content=padded, headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json() == reader.predict(question).to_dict()
        assert client.app.state.served["qa"].batchers["predict"].batches == 2  # /answer's questions went to predict's batcher
        both = client.post("/models/qa/predict", json={"inputs": [question, qa_input(6, candidates=False)]}).json()["results"]
        assert both == [r.to_dict() for r in reader.predict([question, qa_input(6, candidates=False)])] and "warning" in both[1]
        missing = client.post("/models/qa/answer", json={"question": "who ?", "context": "Ann met Bob .", "candidates": ["Zed"]})
        assert missing.status_code == 422 and "none of its candidates occurs in the context" in missing.json()["error"]
        no_context = client.post("/models/qa/answer", json={"question": "who ?"}).json()["error"]
        assert no_context == "body: give 'question' and 'context' (one question), or 'inputs' (a list of them)"
        out = client.post("/models/seq2seq/translate", json={"texts": ["a b c", "d e f g"], "beam": 3, "num_samples": 2}).json()
        assert out == {"results": [r.to_dict() for r in translator.predict(["a b c", "d e f g"], beam=3, num_samples=2)]}
        assert client.post("/models/seq2seq/translate", json={"text": "a b c"}).json() == translator.predict("a b c").to_dict()
    # questions sent at once, to both routes, share batches and get what each gets alone
    app = create_app({"qa": reader}, Settings(max_batch=32, max_wait_ms=50))
    questions = [qa_input(seed, candidates=seed % 2 == 0) for seed in range(10, 20)]
    answers = send_concurrently(app, [(f"/models/qa/{('predict', 'answer')[i % 2]}", q) for i, q in enumerate(questions)])
    alone = [reader.predict(q).to_dict() for q in questions]
    # the same answers and offsets; a score (rounded to 4 decimals) may move by its last digit, as padding
    # changes the order of float sums: the reader's own predict of the batch's questions together does the same
    assert [{**a, "score": None} for a in answers] == [{**a, "score": None} for a in alone]
    assert [a["score"] for a in answers] == pytest.approx([a["score"] for a in alone], abs=2e-4)
    assert app.state.served["qa"].batchers["predict"].largest > 1
