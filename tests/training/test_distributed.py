"""Data-parallel training: 2 processes on CPU (gloo) match one process with the same global batch."""

import csv
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from rnn_nlp.runs import build_config, train_run
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.distributed import Single, shard_batch
from rnn_nlp.training.run_folder import LAST
from tests.conftest import tiny_raw, write_corpus

TIMING = {"elapsed_s", "tokens_per_s"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, raw: dict, out: str) -> None:
    """One process of the group: train half-way, then resume to the end (as after a restart)."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    half = {**raw, "trainer": {**raw["trainer"], "max_steps": raw["trainer"]["max_steps"] // 2}}
    train_run(build_config(half), out)
    trainer = train_run(build_config(raw), out, resume=True)
    assert trainer.dist.world_size == world
    torch.distributed.destroy_process_group()


def _rows(run) -> list[dict]:
    with open(run / "metrics.csv", newline="") as fh:
        return [{k: float(v) for k, v in r.items() if k not in TIMING} for r in csv.DictReader(fh)]


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (100, 20, 20))
    raw = tiny_raw(corpus, trainer={"epochs": 2, "max_steps": 28, "checkpoint_every": 5, "batch_size": 4, "threads": 1})
    single = train_run(build_config(raw), tmp_path / "single")
    assert single.global_step == 28 and single.epoch == 1  # the run crosses an epoch boundary

    mp.spawn(_worker, args=(2, _free_port(), raw, str(tmp_path / "ddp")), nprocs=2, join=True)

    a, b = ckpt.load_weights(tmp_path / "single" / LAST), ckpt.load_weights(tmp_path / "ddp" / LAST)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=1e-4, atol=1e-5, msg=name)
    state = ckpt.load_trainer_state(tmp_path / "ddp" / LAST)
    assert state["global_step"] == 28 and len(state["ranks"]) == 2
    # the half-way stop logged an extra, partial epoch; the end matches, losses all-reduced
    assert _rows(tmp_path / "ddp")[-1] == pytest.approx(_rows(tmp_path / "single")[-1], rel=1e-4)


def test_shard_batch_splits_rows_and_keeps_the_rest():
    batch = {"forward": (torch.arange(12).view(6, 2), torch.arange(6)), "scale": 0.5, "lengths": torch.tensor([3, 1, 2, 2, 1, 1])}
    first, second = shard_batch(batch, 0, 2), shard_batch(batch, 1, 2)
    assert first["forward"][0].tolist() == [[0, 1], [2, 3], [4, 5]] and second["forward"][1].tolist() == [3, 4, 5]
    assert first["scale"] == second["scale"] == 0.5 and second["lengths"].tolist() == [2, 1, 1]
    small = {"x": torch.ones(1, 3)}
    assert shard_batch(small, 1, 2)["x"].shape == (1, 3)  # too few rows: every rank takes the batch
    assert Single().shard(None, batch) is batch
