"""A small stand-in for the hub's HTTP endpoints that `HfApi.create_repo` and `HfApi.upload_folder` use, on
loopback only: it records each request and keeps the files of each commit (regular uploads, base64 in the
commit's NDJSON), so a test can compare what arrived with what was sent."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


def validate_card(text: str) -> list[str]:
    """What the hub's metadata check would refuse in a README: front matter that is no YAML mapping, or a
    model-index result without its task type, dataset name and type, or metric type and value."""
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        return ["no YAML front matter"]
    try:
        meta = yaml.safe_load(text[4 : text.index("\n---\n", 4)])
    except yaml.YAMLError as exc:
        return [f"front matter: {exc}"]
    if not isinstance(meta, dict):
        return ["front matter is not a mapping"]
    errors = []
    for entry in meta.get("model-index", []):
        for result in entry.get("results", []):
            if not result.get("task", {}).get("type") or not {"name", "type"} <= set(result.get("dataset", {})):
                errors.append(f"model-index result without task type or dataset name/type: {result}")
            if not all({"type", "value"} <= set(m) for m in result.get("metrics", [])):
                errors.append(f"model-index metric without type or value: {result}")
    return errors


class HubStub:
    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        self.repos: dict[str, dict[str, bytes]] = {}
        self.commits: list[dict] = []
        self.tokens: list[str | None] = []
        self.validated: list[bool] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> bytes:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                return gzip.decompress(data) if self.headers.get("Content-Encoding") == "gzip" else data

            def _send(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                stub.requests.append(("GET", self.path))
                self._send(404, {"error": f"stub: no GET {self.path}"})

            def do_POST(self):
                stub.requests.append(("POST", self.path))
                stub.tokens.append(self.headers.get("Authorization"))
                body = self._body()
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:2] == ["api", "validate-yaml"]:
                    errors = validate_card(json.loads(body)["content"])
                    stub.validated.append(not errors)
                    return self._send(400 if errors else 200, {"errors": [{"message": e} for e in errors], "warnings": []})
                if parts[:3] == ["api", "repos", "create"]:
                    spec = json.loads(body)
                    repo = f"{spec.get('organization') or spec.get('namespace', '')}/{spec['name']}".lstrip("/")
                    stub.repos.setdefault(repo, {})
                    return self._send(200, {"url": f"{stub.url}/{repo}", "name": repo})
                if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "preupload":
                    files = json.loads(body)["files"]
                    return self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})
                if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] == "commit":
                    repo = f"{parts[2]}/{parts[3]}"
                    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                    commit = {"repo": repo, "revision": parts[5], "lines": lines}
                    stub.commits.append(commit)
                    for line in lines:
                        if line.get("key") == "file":
                            value = line["value"]
                            stub.repos.setdefault(repo, {})[value["path"]] = base64.b64decode(value["content"])
                    oid = f"{len(stub.commits):040x}"
                    return self._send(200, {"commitUrl": f"{stub.url}/{repo}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None})
                self._send(404, {"error": f"stub: no POST {self.path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HubStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
