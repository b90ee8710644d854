"""The library on a CUDA device: every backbone and head forward and backward, bf16 autocast
training, generation, and runs resumed across devices (GPU -> CPU -> GPU).

Everything here is marked `cuda` and skipped without a CUDA device; `bash benchmarks/gpu.sh` runs
it on a GPU machine (`pytest -m cuda`). For a dry run of the same test bodies on the CPU, set
RNN_NLP_TEST_DEVICE=cpu: the device then is the CPU and the "other device" of the cross-device
checks is the CPU as well, so the logic is exercised without a GPU.
"""

from __future__ import annotations

import copy
import csv
import math
import os

import pytest
import torch
import yaml

from rnn_nlp.cli import main as cli
from rnn_nlp.generate import beam_search, generate_batch
from rnn_nlp.nn.heads.seq2seq import Seq2SeqStepper
from rnn_nlp.runs import load_run
from tests.conftest import tiny_raw, write_corpus
from tests.cuda import models

DEVICE = torch.device(os.environ.get("RNN_NLP_TEST_DEVICE", "cuda"))
CPU = torch.device("cpu")
RNN_KINDS = ["lstm", "gru", "elman_tanh", "elman_relu"]
DIRECTIONS = ["forward", "backward", "both"]

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        DEVICE.type == "cuda" and not torch.cuda.is_available(),
        reason="needs a CUDA device: run benchmarks/gpu.sh on a GPU machine",
    ),
]


def assert_finite_grads(model: torch.nn.Module) -> None:
    """Every trainable parameter got a gradient, on the device, and none is NaN or inf."""
    missing = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.grad is None:
            missing.append(name)
            continue
        assert p.grad.device.type == DEVICE.type, name
        assert torch.isfinite(p.grad).all(), f"non-finite gradient in {name}"
    assert not missing, f"no gradient reached {missing}"


def on_both_devices(build) -> tuple[torch.nn.Module, torch.nn.Module, dict]:
    """(model on DEVICE, the same weights on the CPU, the CPU batch)."""
    model, batch = build()
    return copy.deepcopy(model).to(DEVICE), model.to(CPU), batch


# ---- backbone and heads, forward and backward -----------------------------------------------
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("rnn", RNN_KINDS)
def test_backbone_forward_backward_matches_the_cpu(rnn, direction):
    torch.manual_seed(0)
    net = models.backbone(rnn, direction, residual=True, weight_drop=0.3, hidden_dropout=0.2)
    gpu = copy.deepcopy(net).to(DEVICE)
    batch = models.sentence_batch()
    out = gpu(batch["ids"].to(DEVICE), batch["lengths"])  # lengths stay on the CPU, as the tasks pass them
    assert out.output.device.type == DEVICE.type and out.output.shape == (4, 7, gpu.output_dim)
    assert bool((out.mask.sum(1).cpu() == batch["lengths"]).all())
    (out.output * out.mask.unsqueeze(2)).pow(2).sum().backward()
    assert_finite_grads(gpu)
    gpu.eval()
    net.eval()
    with torch.no_grad():
        here = gpu(batch["ids"].to(DEVICE), batch["lengths"]).output.cpu()
        there = net(batch["ids"], batch["lengths"]).output
    torch.testing.assert_close(here, there, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rnn", RNN_KINDS)
def test_backbone_streams_a_direction_with_carried_state(rnn):
    net = models.backbone(rnn, "both").to(DEVICE)
    ids = torch.randint(3, models.VOCAB, (3, 6), device=DEVICE)
    state = None
    for d in ("forward", "backward"):
        top, layers, state = net.run_direction(d, ids, None)
        top2, _, _ = net.run_direction(d, ids, state)
        assert top2.shape == (3, 6, net.top_size) and len(layers) == 2
    assert all(t.device.type == DEVICE.type for s in state for t in (s if isinstance(s, tuple) else (s,)))


@pytest.mark.parametrize("head", list(models.HEADS))
def test_head_forward_backward_on_the_device_matches_the_cpu(head):
    gpu, cpu_model, batch = on_both_devices(models.HEADS[head])
    out = gpu(models.to_device(batch, DEVICE))
    assert torch.isfinite(out["loss"]) and out["loss"].device.type == DEVICE.type
    out["loss"].backward()
    assert_finite_grads(gpu)
    gpu.eval()
    cpu_model.eval()
    for m in (gpu, cpu_model):
        m.reset_runtime_state()
    with torch.no_grad():
        here = float(gpu(models.to_device(batch, DEVICE))["loss"])
        there = float(cpu_model(batch)["loss"])
    assert here == pytest.approx(there, rel=1e-4, abs=1e-5)


def test_tagger_crf_decodes_on_the_device_as_on_the_cpu():
    gpu, cpu_model, batch = on_both_devices(models.tagger)
    gpu.eval()
    cpu_model.eval()
    with torch.no_grad():
        paths = gpu.decode(*gpu.emissions(models.to_device(batch, DEVICE)))
        expected = cpu_model.decode(*cpu_model.emissions(batch))
    assert paths == expected
    assert [len(p) for p in paths] == batch["lengths"].tolist()


# ---- bf16 autocast ---------------------------------------------------------------------------
@pytest.mark.parametrize("head", list(models.HEADS))
def test_bf16_autocast_steps_give_a_finite_falling_loss(head):
    torch.manual_seed(0)
    model, batch = models.HEADS[head]()
    model.to(DEVICE).train()
    batch = models.to_device(batch, DEVICE)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(30):
        model.reset_runtime_state()
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16):
            loss = model(batch)["loss"]
        assert torch.isfinite(loss), f"step {len(losses)}: loss {float(loss)}"
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0], losses


def run_cli(*args: str) -> None:
    assert cli([str(a) for a in args]) == 0


def tiny_run_config(tmp_path, **trainer) -> str:
    """A YAML recipe for a tiny LM on a patterned corpus; `trainer` keys override."""
    raw = tiny_raw(write_corpus(tmp_path / "corpus", (300, 40, 40)), trainer={"device": DEVICE.type, **trainer})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


def history(run) -> list[dict]:
    with open(run / "metrics.csv", encoding="utf-8") as fh:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(fh)]


def test_trainer_amp_run_gives_a_finite_falling_loss(tmp_path):
    config = tiny_run_config(tmp_path, epochs=3, amp=True, optimizer="adam", lr=0.01)
    run_cli("train", config, "--out", tmp_path / "run")
    rows = history(tmp_path / "run")
    assert len(rows) == 3
    assert all(math.isfinite(r["train_loss"]) and math.isfinite(r["valid_loss"]) for r in rows)
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] and rows[-1]["valid_loss"] < rows[0]["valid_loss"]
    _, task, model = load_run(tmp_path / "run", DEVICE.type)
    assert next(model.parameters()).device.type == DEVICE.type
    assert math.isfinite(task.evaluate(model, "test", DEVICE)["ppl"])


# ---- generation ------------------------------------------------------------------------------
def trained_lm() -> torch.nn.Module:
    """The tiny LM with spread-out weights (so greedy choices have no near-ties between devices)."""
    model, _ = models.lm("full")
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)
    return model.eval()


def test_lm_generation_greedy_sampling_and_beam_on_the_device():
    cpu_model = trained_lm()
    gpu = copy.deepcopy(cpu_model).to(DEVICE)
    prompts = [[models.EOS, 5, 6], [models.EOS, 7], [models.EOS, 5, 6]]
    greedy = generate_batch(gpu, prompts, max_tokens=8)
    assert greedy == generate_batch(cpu_model, prompts, max_tokens=8)
    assert greedy[0] == greedy[2]

    def sample(seed):
        gen = torch.Generator(device=DEVICE).manual_seed(seed)
        return generate_batch(gpu, prompts, max_tokens=8, greedy=False, top_k=10, top_p=0.9, generator=gen)

    first = sample(3)
    assert first == sample(3) and all(len(ids) == 8 and all(0 <= t < models.VOCAB for t in ids) for ids in first)
    beams = beam_search(gpu, prompts[:2], width=4, max_tokens=6, stop_id=None, n_best=3)
    expected = beam_search(cpu_model, prompts[:2], width=4, max_tokens=6, stop_id=None, n_best=3)
    assert [[h.ids for h in row] for row in beams] == [[h.ids for h in row] for row in expected]
    for row in beams:
        assert [h.score for h in row] == sorted((h.score for h in row), reverse=True)


def test_seq2seq_greedy_and_beam_decoding_on_the_device():
    cpu_model, _ = models.seq2seq()
    cpu_model.eval()
    gpu = copy.deepcopy(cpu_model).to(DEVICE)
    sources = models.SENTENCES[:3]
    prompts = [[models.EOS]] * len(sources)
    for model in (gpu, cpu_model):
        model.decoded = generate_batch(Seq2SeqStepper(model, sources), prompts, max_tokens=6, stop_id=models.EOS)
        model.beams = beam_search(Seq2SeqStepper(model, sources), prompts, width=3, max_tokens=6, stop_id=models.EOS)
    assert gpu.decoded == cpu_model.decoded
    assert [[h.ids for h in row] for row in gpu.beams] == [[h.ids for h in row] for row in cpu_model.beams]


# ---- resume across devices -------------------------------------------------------------------
def test_a_run_resumes_across_devices(tmp_path):
    """Trained on the device to mid-epoch 1, continued on the CPU, finished on the device again:
    the same valid loss as an uninterrupted run on the device (up to float differences)."""
    config = tiny_run_config(tmp_path, epochs=2, optimizer="adam", lr=0.01, checkpoint_every=1000)
    run, whole = tmp_path / "hopping", tmp_path / "whole"
    run_cli("train", config, "--out", run, "trainer.max_steps=20")
    run_cli("train", config, "--out", run, "--resume", "trainer.device=cpu", "trainer.max_steps=45")
    run_cli("train", config, "--out", run, "--resume", f"trainer.device={DEVICE.type}", "trainer.max_steps=null")
    run_cli("train", config, "--out", whole)
    hops, straight = history(run), history(whole)
    assert [r["step"] for r in hops][:2] == [20, 45] and hops[-1]["step"] == straight[-1]["step"]
    assert hops[-1]["epoch"] == straight[-1]["epoch"] == 2
    results = {}
    for name, device in (("cpu", CPU), ("device", DEVICE)):
        _, task, model = load_run(run, device.type)
        results[name] = task.evaluate(model, "valid", device)["loss"]
    _, task, model = load_run(whole, DEVICE.type)
    straight_loss = task.evaluate(model, "valid", DEVICE)["loss"]
    assert results["cpu"] == pytest.approx(results["device"], rel=1e-4)
    assert results["device"] == pytest.approx(straight_loss, rel=0.02)
