"""`rnn-nlp serve`: an HTTP API and a web page for trained models, a thin layer over `rnn_nlp.load(...)`.

    rnn-nlp serve runs/ner runs/sentiment runs/lm --port 8000

Each loaded model gets the endpoints its task supports (`predict`, `encode`, and `generate`, `suggest`,
`translate` or `answer`), micro-batched off the event loop (`batching.py`); `/health`, `/models` and the
OpenAPI docs (`/docs`) come with them, and `/` is a web page to try each model, on static files shipped
in the wheel. Request bodies are checked by `schemas.py`; every bad request is a 4xx JSON error
(`errors.py`). Next-word suggestions carry a language model's state per typing session (`sessions.py`).

Needs the `serve` extra (`pip install "rnn-nlp[serve]"`: FastAPI, uvicorn); nothing here is imported
by the rest of the package, and `rnn_nlp.serve.server.run` says what to install when it is missing.
"""
