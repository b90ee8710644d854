"""Data-parallel training over `torch.distributed` (gloo on CPU, NCCL on GPU), started by `torchrun`.

Every process builds the same task and model; the trainer cuts each global batch into one
shard per process (`shard_batch`), averages gradients after backward, reduces the logged
loss and its control flags, and lets rank 0 alone write checkpoints and logs. A single
process uses `Single`, whose collectives do nothing, so the trainer has one code path.
"""

from __future__ import annotations

import datetime
import logging
import os
from typing import Any

import torch
import torch.distributed as dist

from rnn_nlp.errors import ConfigError

log = logging.getLogger(__name__)


def shard_batch(batch: Any, rank: int, world: int) -> Any:
    """This rank's share of a batch: every tensor is split into `world` row ranges along dim 0.

    Works on nested dicts, tuples and lists; anything else (floats, strings) is kept whole.
    A batch with fewer rows than processes is given whole to every rank (averaging equal
    gradients is still the right gradient). Tasks may define their own `shard_batch`.
    """
    rows = _rows(batch)
    if rows is not None and rows < world:
        return batch
    return _split(batch, rank, world)


def _rows(batch: Any) -> int | None:
    if torch.is_tensor(batch):
        return batch.size(0) if batch.dim() else None
    if isinstance(batch, dict):
        values = batch.values()
    elif isinstance(batch, (tuple, list)):
        values = batch
    else:
        return None
    sizes = [n for n in (_rows(v) for v in values) if n is not None]
    return min(sizes) if sizes else None


def _split(batch: Any, rank: int, world: int) -> Any:
    if torch.is_tensor(batch):
        return torch.tensor_split(batch, world, dim=0)[rank].contiguous() if batch.dim() else batch
    if isinstance(batch, dict):
        return {k: _split(v, rank, world) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_split(v, rank, world) for v in batch)
    return batch


class Single:
    """One process: rank 0 of 1, every collective a no-op."""

    rank = 0
    world_size = 1
    local_rank = 0
    is_main = True
    active = False

    def shard(self, task: Any, batch: Any) -> Any:
        return batch

    def average_gradients(self, params) -> None:
        pass

    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        pass

    def all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        return tensor

    def broadcast_object(self, obj: Any) -> Any:
        return obj

    def gather_objects(self, obj: Any) -> list:
        return [obj]

    def barrier(self) -> None:
        pass


class DataParallel(Single):
    """Several processes in one `torch.distributed` group (set up by torchrun's environment)."""

    active = True

    def __init__(self):
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.local_rank = int(os.environ.get("LOCAL_RANK", self.rank))
        self.is_main = self.rank == 0

    def shard(self, task: Any, batch: Any) -> Any:
        fn = getattr(task, "shard_batch", None) or shard_batch
        return fn(batch, self.rank, self.world_size)

    @torch.no_grad()
    def average_gradients(self, params) -> None:
        """All-reduce every gradient into its mean over processes, in one flat buffer."""
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    @torch.no_grad()
    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        """Start every process from rank 0's weights."""
        for tensor in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(tensor.data, src=0)

    def all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
        return tensor

    def broadcast_object(self, obj: Any) -> Any:
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, obj: Any) -> list:
        out: list = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        dist.barrier()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_name: str = "auto") -> Single:
    """The process group torchrun's environment describes (created once), or `Single()`.

    The backend is NCCL when training on CUDA, gloo otherwise.
    """
    if not launched_by_torchrun():
        return Single()
    if not dist.is_initialized():
        use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
        backend = "nccl" if use_cuda else "gloo"
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=30))
        log.info("data-parallel: rank %d of %d (%s)", dist.get_rank(), dist.get_world_size(), backend)
        if dist.get_rank() != 0:  # rank 0 alone reports progress; warnings still show everywhere
            logging.getLogger().setLevel(logging.WARNING)
    return DataParallel()


def check_batch_size(batch_size: int, world: int) -> None:
    if batch_size % world:
        raise ConfigError(f"trainer.batch_size {batch_size} is the global batch and must divide evenly among {world} processes")
