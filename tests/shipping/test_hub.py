"""The hub, offline: `rnn_nlp.load("hf://owner/name[@revision]")` from a hub cache laid out by hand (as
huggingface_hub writes it: blobs, snapshots of symlinks, refs), `rnn-nlp push` to a stub of the hub's endpoints
on loopback, and HF_HUB_OFFLINE=1 with nothing cached failing at once. huggingface_hub comes with `datasets`,
so these tests never skip."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as load_bytes
from safetensors.torch import load_file

import rnn_nlp
from rnn_nlp import api
from rnn_nlp.cli import main
from rnn_nlp.errors import CheckpointError, ConfigError
from rnn_nlp.model_card import read_front_matter
from tests.shipping.hub_stub import HubStub

TEXTS = ["Mary visited Paris .", "Ann Lee joined Acme Corp"]


def cache_snapshot(cache: Path, repo: str, folder: Path, commit: str, refs: tuple[str, ...] = ("main",)) -> Path:
    """`folder`'s files as huggingface_hub caches a snapshot of model repo `repo` at `commit`."""
    storage = cache / ("models--" + repo.replace("/", "--"))
    snapshot = storage / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (storage / "blobs").mkdir(exist_ok=True)
    for file in folder.iterdir():
        data = file.read_bytes()
        blob = storage / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / file.name)
    (storage / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (storage / "refs" / ref).write_text(commit)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def test_load_hf_reads_the_hub_cache_offline(trained, tmp_path, hub_cache):
    run = trained("ner")
    fp32 = api.export(run, tmp_path / "fp32")
    bf16 = api.export(run, tmp_path / "bf16", dtype="bf16")
    cache_snapshot(hub_cache, "alice/tiny-ner", fp32, "a" * 40)
    cache_snapshot(hub_cache, "alice/tiny-ner", bf16, "b" * 40, refs=("v2",))
    expected = [r.to_dict() for r in rnn_nlp.load(run, "cpu").predict(TEXTS)]
    model = rnn_nlp.load("hf://alice/tiny-ner", "cpu")
    assert [r.to_dict() for r in model.predict(TEXTS)] == expected
    assert model.path == hub_cache / "models--alice--tiny-ner" / "snapshots" / ("a" * 40)
    for revision in ("v2", "b" * 40):  # a tag, and a commit
        other = rnn_nlp.load(f"hf://alice/tiny-ner@{revision}", "cpu")
        assert read_front_matter((other.path / "README.md").read_text())["rnn_nlp"]["dtype"] == "bfloat16"
        assert [r.tags for r in other.predict(TEXTS)] == [r["tags"] for r in expected]


def test_offline_with_nothing_cached_says_so_at_once(hub_cache, capsys):
    start = time.monotonic()
    with pytest.raises(CheckpointError, match=r"HF_HUB_OFFLINE=1 is set and no snapshot of bob/none is in the hub cache"):
        rnn_nlp.load("hf://bob/none")
    assert time.monotonic() - start < 5
    assert main(["predict", "hf://bob/none@v1", "-"]) == 2
    assert "no snapshot of bob/none@v1" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["hf://alice", "hf://alice/", "hf://a/b/c", "hf://alice/x@", "hf://../etc", "hf://a--b/c"])
def test_a_malformed_hub_name_is_refused(name, hub_cache):
    with pytest.raises(CheckpointError, match="hf://OWNER/NAME"):
        rnn_nlp.load(name)


def test_push_uploads_the_slim_export_with_the_card_as_readme(trained, monkeypatch, capsys):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    run = trained("ner")
    with HubStub() as stub:
        monkeypatch.setenv("HF_ENDPOINT", stub.url)
        monkeypatch.setenv("HF_TOKEN", "hf_stub_token")
        assert main(["push", str(run), "alice/tiny-ner"]) == 0
        assert "pushed" in capsys.readouterr().out
    files = stub.repos["alice/tiny-ner"]
    assert sorted(files) == ["README.md", "config.yaml", "meta.json", "model.safetensors", "vocab.json"]
    exported = api.export(run, run.parent / "again", overwrite=True)  # what push uploads: the slim export
    assert files["README.md"] == (exported / "README.md").read_bytes()
    pushed, local = load_bytes(files["model.safetensors"]), load_file(exported / "model.safetensors")
    assert pushed.keys() == local.keys() and all(torch.equal(pushed[k], local[k]) for k in local)
    card = read_front_matter(files["README.md"].decode())
    assert (
        card["rnn_nlp"]["task"] == "ner"
        and card["rnn_nlp"]["splits"] == read_front_matter((run / "README.md").read_text())["rnn_nlp"]["splits"]
    )
    assert stub.validated == [True]  # the card's metadata passed the hub's check
    assert set(stub.tokens) == {"Bearer hf_stub_token"}
    paths = [p for _, p in stub.requests]
    assert paths[0] == "/api/repos/create" and paths[-1] == "/api/models/alice/tiny-ner/commit/main"


def test_push_refusals(trained, tmp_path, monkeypatch):
    run = trained("classify")
    with pytest.raises(ConfigError, match="OWNER/NAME"):
        api.push(run, "no-owner")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE=1"):
        api.push(run, "alice/x")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with HubStub() as stub:
        url = stub.url
    with pytest.raises(ConfigError, match="cannot reach the hub"):  # the stub is gone: nothing listens there
        api.push(run, "alice/x", token="t", endpoint=url)
