"""BPTT batching: batchify layout, chunk schedules (fixed and AWD-LSTM variable), stream chunks."""

from __future__ import annotations

import pytest
import torch

from rnn_nlp.data.batching import BPTTStream, batchify, bptt_schedule
from rnn_nlp.errors import DataError


def test_batchify_shape_and_contiguous_rows():
    ids = torch.arange(23)
    out = batchify(ids, 4)
    assert out.shape == (4, 5)  # 23 // 4 = 5 per row, 3 tokens dropped
    assert out.dtype == ids.dtype
    assert out.is_contiguous()
    for r in range(4):
        assert out[r].tolist() == list(range(5 * r, 5 * r + 5))


def test_batchify_exact_fit_keeps_everything():
    ids = torch.arange(12)
    out = batchify(ids, 3)
    assert out.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_batchify_single_stream():
    assert batchify(torch.arange(5), 1).tolist() == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize("n,batch_size", [(7, 4), (3, 2), (0, 1), (1, 1)])
def test_batchify_too_little_data_is_a_data_error(n, batch_size):
    with pytest.raises(DataError, match=f"{n} tokens cannot fill {batch_size} streams"):
        batchify(torch.arange(n), batch_size)


def test_batchify_minimum_of_two_per_row_is_enough():
    assert batchify(torch.arange(8), 4).shape == (4, 2)


def _check_covers(chunks, length):
    """Chunks are contiguous from 0, and together predict every position 1..length-1 exactly once."""
    assert chunks[0][0] == 0
    for (s0, n0), (s1, _) in zip(chunks, chunks[1:]):
        assert s1 == s0 + n0
    assert sum(n for _, n in chunks) == length - 1
    assert all(n >= 1 for _, n in chunks)
    last_start, last_size = chunks[-1]
    assert last_start + last_size == length - 1


@pytest.mark.parametrize("length", [2, 3, 10, 11, 12, 100, 101])
def test_fixed_schedule_exact(length):
    chunks = bptt_schedule(length, 10)
    _check_covers(chunks, length)
    assert all(n == 10 for _, n in chunks[:-1])
    assert chunks[-1][1] == (length - 1) - 10 * (len(chunks) - 1)


def test_fixed_schedule_values():
    assert bptt_schedule(12, 5) == [(0, 5), (5, 5), (10, 1)]
    assert bptt_schedule(11, 5) == [(0, 5), (5, 5)]
    assert bptt_schedule(1, 5) == []


def test_fixed_schedule_ignores_seed():
    assert bptt_schedule(100, 7, seed=1) == bptt_schedule(100, 7, seed=2)


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_variable_schedule_covers_every_position_once(seed):
    length = 2000
    chunks = bptt_schedule(length, 35, variation=True, seed=seed)
    _check_covers(chunks, length)
    # every chunk but the last (which is cut to what is left) is at least 5 long
    assert all(n >= 5 for _, n in chunks[:-1])


def test_variable_schedule_is_deterministic_for_a_seed():
    a = bptt_schedule(3000, 35, variation=True, seed=42)
    b = bptt_schedule(3000, 35, variation=True, seed=42)
    assert a == b


def test_variable_schedule_differs_across_seeds():
    a = bptt_schedule(3000, 35, variation=True, seed=1)
    b = bptt_schedule(3000, 35, variation=True, seed=2)
    assert a != b


def test_variable_schedule_sizes_vary_around_bptt():
    chunks = bptt_schedule(20000, 35, variation=True, seed=0)
    sizes = [n for _, n in chunks[:-1]]
    assert len(set(sizes)) > 5
    assert min(sizes) >= 5
    mean = sum(sizes) / len(sizes)
    # E[size] = 0.95 * 35 + 0.05 * 17.5 ~= 34.1 (minus < 1 for int truncation)
    assert 31 < mean < 36
    # the "half" base (17.5) shows up now and then
    assert any(n < 25 for n in sizes)


def test_variable_schedule_floor_of_five_with_small_bptt():
    chunks = bptt_schedule(5000, 3, variation=True, seed=3)
    _check_covers(chunks, 5000)
    assert all(n >= 5 for _, n in chunks[:-1])


def test_stream_chunk_targets_are_inputs_shifted_by_one():
    data = batchify(torch.arange(40), 2)  # rows 0..19 and 20..39
    stream = BPTTStream(data, bptt=6)
    inputs, targets = stream.chunk(6, 6)
    assert inputs.tolist() == [list(range(6, 12)), list(range(26, 32))]
    assert targets.tolist() == [list(range(7, 13)), list(range(27, 33))]
    assert inputs.is_contiguous() and targets.is_contiguous()


def test_stream_walk_over_schedule_reconstructs_the_data():
    torch.manual_seed(0)
    data = batchify(torch.randint(0, 100, (203,)), 3)
    stream = BPTTStream(data, bptt=8, variation=True)
    schedule = stream.schedule(seed=5)
    assert schedule == bptt_schedule(data.size(1), 8, True, 5)
    ins, tgts = [], []
    for start, size in schedule:
        x, y = stream.chunk(start, size)
        assert x.shape == y.shape == (3, size)
        assert torch.equal(x[:, 1:], y[:, :-1])
        ins.append(x)
        tgts.append(y)
    assert torch.equal(torch.cat(ins, 1), data[:, :-1])
    assert torch.equal(torch.cat(tgts, 1), data[:, 1:])


def test_stream_tokens_counts_predicted_positions():
    stream = BPTTStream(batchify(torch.arange(40), 4), bptt=3)
    assert stream.tokens == 4 * 9
    total = sum(stream.chunk(s, n)[1].numel() for s, n in stream.schedule(0))
    assert total == stream.tokens
