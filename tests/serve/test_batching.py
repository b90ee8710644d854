"""The micro-batcher alone (rnn_nlp.serve.batching), with a stand-in model: batches gather concurrent inputs
and sort them by length, a failing input fails alone, a full queue refuses, a cancelled input leaves the
queue at once, and inputs that may not share a batch run alone."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from rnn_nlp.serve.batching import ALONE, BoundedCalls, MicroBatcher, QueueFull


class Recorder:
    """run(items, options): upper-cases each item; records each call's items; 'boom' raises; waits on `gate` if set."""

    def __init__(self, gate: threading.Event | None = None):
        self.calls: list[list[str]] = []
        self.gate = gate

    def __call__(self, items: list, options: dict) -> list:
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append(list(items))
        if "boom" in items:
            raise ValueError("boom is not a text this model reads")
        return [f"{item.upper()}{options.get('suffix', '')}" for item in items]


@pytest.fixture
def executor():
    pool = ThreadPoolExecutor(max_workers=1)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


def run(coro):
    return asyncio.run(coro)


def test_concurrent_inputs_share_one_call_sorted_by_length(executor):
    model = Recorder()

    async def main():
        batcher = MicroBatcher(model, executor, max_batch=8, max_wait=0.05)
        futures = [batcher.submit([text], {}, key=()) for text in ["ccc", "a", "bb", "dddd"]]
        results = await asyncio.gather(*(f[0] for f in futures))
        await batcher.close()
        return batcher, results

    batcher, results = run(main())
    assert results == ["CCC", "A", "BB", "DDDD"]  # each caller gets its own input's result
    assert model.calls == [["a", "bb", "ccc", "dddd"]]  # one call, shortest first
    assert batcher.batches == 1 and batcher.largest == 4


def test_a_failing_input_fails_alone(executor):
    model = Recorder()

    async def main():
        batcher = MicroBatcher(model, executor, max_batch=8, max_wait=0.05)
        futures = batcher.submit(["fine", "boom", "also fine"], {}, key=())
        outcome = await asyncio.gather(*futures, return_exceptions=True)
        await batcher.close()
        return outcome

    fine, boom, also = run(main())
    assert (fine, also) == ("FINE", "ALSO FINE")
    assert isinstance(boom, ValueError) and "boom" in str(boom)
    assert model.calls[0] == ["fine", "boom", "also fine"]  # by length (stable); the batch failed, then each ran alone
    assert sorted(map(tuple, model.calls[1:])) == [("also fine",), ("boom",), ("fine",)]


def test_inputs_with_other_options_or_alone_never_share(executor):
    model = Recorder()

    async def main():
        batcher = MicroBatcher(model, executor, max_batch=8, max_wait=0.05)
        a = batcher.submit(["x"], {"suffix": "!"}, key=("!",))
        b = batcher.submit(["y"], {"suffix": "?"}, key=("?",))
        c = batcher.submit(["s1", "s2"], {}, key=ALONE)
        out = await asyncio.gather(*a, *b, *c)
        await batcher.close()
        return out

    assert run(main()) == ["X!", "Y?", "S1", "S2"]
    assert sorted(model.calls) == [["s1"], ["s2"], ["x"], ["y"]]


def test_a_full_queue_refuses_and_a_cancelled_input_frees_its_place(executor):
    gate = threading.Event()
    model = Recorder(gate)

    async def main():
        batcher = MicroBatcher(model, executor, max_batch=1, max_queue=2)
        first = batcher.submit(["first"], {}, key=())  # taken at once, then blocked in the model
        await asyncio.sleep(0.05)
        waiting = batcher.submit(["second", "third"], {}, key=())
        with pytest.raises(QueueFull, match="2 inputs are waiting"):
            batcher.submit(["fourth"], {}, key=())
        waiting[1].cancel()  # its caller went away: its place is free at once
        await asyncio.sleep(0)
        late = batcher.submit(["fifth"], {}, key=())
        gate.set()
        out = await asyncio.gather(*first, waiting[0], *late)
        await batcher.close()
        return out

    assert run(main()) == ["FIRST", "SECOND", "FIFTH"]
    assert ["third"] not in model.calls  # the cancelled input never ran


def test_no_batching_with_max_batch_one(executor):
    model = Recorder()

    async def main():
        batcher = MicroBatcher(model, executor, max_batch=1)
        out = await asyncio.gather(*batcher.submit(["a", "b", "c"], {}, key=()))
        await batcher.close()
        return out

    assert run(main()) == ["A", "B", "C"]
    assert model.calls == [["a"], ["b"], ["c"]]


def test_bad_settings_are_refused(executor):
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(Recorder(), executor, max_batch=0)


def test_bounded_calls_refuse_past_the_limit_and_a_call_cancelled_before_it_ran_frees_its_place(executor):
    gate = threading.Event()
    model = Recorder(gate)

    async def main():
        calls = BoundedCalls(executor, limit=2)
        running = calls.submit(model, ["first"], {})  # taken by the executor, then held in the model
        await asyncio.sleep(0.05)
        waiting = calls.submit(model, ["second"], {})
        with pytest.raises(QueueFull, match="2 calls are queued or running already"):
            calls.submit(model, ["third"], {})
        waiting.cancel()  # its client went away before it ran: it never runs, its place is free
        await asyncio.sleep(0.05)
        late = calls.submit(model, ["fourth"], {})
        gate.set()
        out = [await running, await late]
        return out, calls.in_flight

    out, in_flight = run(main())
    assert out == [["FIRST"], ["FOURTH"]] and in_flight == 0
    assert ["second"] not in model.calls
