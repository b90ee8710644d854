"""Micro-batching: concurrent requests for one model's verb gathered into one forward pass.

A request's inputs join a bounded queue, each with its own future. The batcher's loop (one asyncio
task per model and verb) waits at most `max_wait` seconds after the first input for more to come, takes
up to `max_batch` inputs that share decoding options, sorts them by length (so padding is small) and
runs them in the inference executor, off the event loop. Inputs that cannot share a batch (sampling
with a seed draws from one generator per call) run alone.

One failing input never fails its batch-mates: when a batch raises, its inputs are run again one at a
time, and only the input that fails gets the error. An input whose caller has gone (a timeout, a client
that disconnected) is cancelled: it leaves the queue at once and is never run. A full queue refuses new
inputs (`QueueFull`), which the app answers with 503; so does `BoundedCalls`, for calls that are not
batched (a typing session's next-word suggestions) but share the same executor.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)
ALONE = None  # the key of an input that must run in a batch of its own


class QueueFull(Exception):
    """The batcher's queue holds `max_queue` inputs already."""


class BoundedCalls:
    """Calls run one by one in the inference executor, at most `limit` in flight (queued or running): one
    more is refused with QueueFull, as a full batcher refuses, so unbatched work (the typing sessions'
    suggestions) cannot flood the executor that every batcher shares. A call holds its place until it has
    run, or until it is cancelled before it ran; a running call cannot be stopped."""

    def __init__(self, executor: Executor, limit: int):
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
        self.executor = executor
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()  # the count drops in the executor's thread when a call ends

    def submit(self, fn: Callable, *args: Any) -> asyncio.Future:
        """`fn(*args)` queued in the executor: a future of its result (cancelling it cancels the call if it has not begun)."""
        with self._lock:
            if self.in_flight >= self.limit:
                raise QueueFull(f"{self.in_flight} calls are queued or running already (the queue holds {self.limit})")
            self.in_flight += 1
        call = self.executor.submit(fn, *args)
        call.add_done_callback(self._release)
        return asyncio.wrap_future(call)

    def _release(self, call: Any) -> None:
        with self._lock:
            self.in_flight -= 1


@dataclass
class Job:
    item: Any
    size: int
    key: Hashable
    options: dict
    future: asyncio.Future
    enqueued: float = field(default=0.0)


class MicroBatcher:
    """Batches calls of `run(items, options) -> results` (one result per item, in order).

    max_batch: inputs per call (1: no batching, each input alone); max_wait: seconds the first input of a
    batch waits for company; max_queue: inputs waiting at most (more: QueueFull); size: an input's length,
    for sorting a batch.
    """

    def __init__(
        self,
        run: Callable[[list, dict], list],
        executor: Executor,
        max_batch: int = 32,
        max_wait: float = 0.005,
        max_queue: int = 256,
        size: Callable[[Any], int] = lambda item: len(item) if isinstance(item, str) else 0,
    ):
        if max_batch < 1 or max_queue < 1 or max_wait < 0:
            raise ValueError(f"max_batch and max_queue must be positive and max_wait >= 0, got {max_batch}, {max_queue}, {max_wait}")
        self.run = run
        self.executor = executor
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.size = size
        self.pending: deque[Job] = deque()
        self.batches = 0  # calls of `run` made, for /health and the tests
        self.largest = 0  # the most inputs one call of `run` took
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task | None = None

    def submit(self, items: list, options: dict | None = None, key: Hashable = ALONE) -> list[asyncio.Future]:
        """Queue `items` (all or none) and return their futures; `key`: inputs of equal keys may share a batch."""
        if len(self.pending) + len(items) > self.max_queue:
            raise QueueFull(f"{len(self.pending)} inputs are waiting already (the queue holds {self.max_queue})")
        loop = asyncio.get_running_loop()
        if self._loop_task is None or self._loop_task.done():
            self._wake = asyncio.Event()
            self._loop_task = loop.create_task(self._loop())
        futures = []
        for item in items:
            job = Job(item, self.size(item), key, dict(options or {}), loop.create_future(), loop.time())
            job.future.add_done_callback(functools.partial(self._forget, job))
            self.pending.append(job)
            futures.append(job.future)
        assert self._wake is not None
        self._wake.set()
        return futures

    def _forget(self, job: Job, future: asyncio.Future) -> None:
        """A cancelled input leaves the queue at once: its place is free for the next request."""
        if not future.cancelled():
            return
        try:
            self.pending.remove(job)
        except ValueError:  # already taken into a batch
            pass

    async def close(self) -> None:
        """Stop the loop; inputs still waiting are cancelled."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            try:
                await self._loop_task
            except asyncio.CancelledError:
                pass
        while self.pending:
            self.pending.popleft().future.cancel()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._wake is not None
        while True:
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            first = self.pending[0]
            wait = first.enqueued + self.max_wait - loop.time()
            if self.max_batch > 1 and first.key is not ALONE and len(self.pending) < self.max_batch and wait > 0:
                await asyncio.sleep(wait)  # company may come; inputs queued meanwhile join
            batch = self._take()
            if batch:
                await self._run(batch)

    def _take(self) -> list[Job]:
        """Up to max_batch live inputs sharing the first one's key, in queue order (one alone for ALONE)."""
        while self.pending and self.pending[0].future.done():
            self.pending.popleft()
        if not self.pending:
            return []
        key = self.pending[0].key
        limit = 1 if key is ALONE else self.max_batch
        batch: list[Job] = []
        kept: deque[Job] = deque()
        while self.pending:
            job = self.pending.popleft()
            if job.future.done():
                continue
            if len(batch) < limit and job.key == key and (key is not ALONE or not batch):
                batch.append(job)
            else:
                kept.append(job)
        self.pending = kept
        return sorted(batch, key=lambda j: j.size)

    async def _run(self, batch: list[Job]) -> None:
        loop = asyncio.get_running_loop()
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        try:
            results = await loop.run_in_executor(self.executor, self.run, [j.item for j in batch], batch[0].options)
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} inputs gave {len(results)} results")
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], exception=exc)
                return
            for job in batch:  # one at a time: only the failing input gets its error
                if job.future.done():
                    continue
                try:
                    (result,) = await loop.run_in_executor(self.executor, self.run, [job.item], job.options)
                except Exception as one:
                    _settle(job, exception=one)
                else:
                    _settle(job, result=result)
            return
        for job, result in zip(batch, results):
            _settle(job, result=result)


def _settle(job: Job, result: Any = None, exception: BaseException | None = None) -> None:
    if job.future.done():  # its caller went away meanwhile
        return
    if exception is not None:
        job.future.set_exception(exception)
    else:
        job.future.set_result(result)
