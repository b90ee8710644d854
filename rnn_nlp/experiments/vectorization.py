"""Vectorization: a Python loop over word vectors against one matrix product, timed in numpy and torch.

The lecture's slide multiplies a C x d weight matrix with N word vectors, once per vector in a
Python loop (639 us) and once as a single d x N matrix (53.8 us). The same two statements are
timed here on this machine, for the slide's sizes and for square d x d layers, best of several
`timeit` repeats, BLAS and torch limited to the same number of threads.
"""

from __future__ import annotations

import contextlib
import timeit
from dataclasses import dataclass, field

import numpy as np
import torch

from rnn_nlp.errors import ConfigError
from rnn_nlp.experiments.common import new_figure, save_figure

NAME = "vectorization"
DESCRIPTION = "a Python loop over word vectors vs one matrix product (the lecture's 639 us vs 53.8 us), numpy and torch"

LECTURE = {
    "sizes": {"C": 5, "d": 300, "N": 500},
    "loop_us": 639.0,
    "matmul_us": 53.8,
    "speedup": round(639.0 / 53.8, 2),
    "code": "[W.dot(wordvectors_list[i]) for i in range(N)] vs W.dot(wordvectors_one_matrix), numpy, %timeit best of 3",
}


@dataclass
class Params:
    # each case is [C, d, N]: a C x d weight matrix, N word vectors of width d; the first is the slide's
    cases: list[list[int]] = field(
        default_factory=lambda: [[5, 300, 500], [100, 100, 500], [300, 300, 500], [300, 300, 2000], [1000, 1000, 200]]
    )
    backends: list[str] = field(default_factory=lambda: ["numpy", "torch"])
    dtype: str = "float64"  # numpy's default, as on the slide; float32 is torch's
    repeat: int = 5  # timeit repeats; the best one is reported, as %timeit did
    min_time: float = 0.2  # seconds per repeat (timeit's autorange picks the loop count)
    threads: int = 1  # BLAS and torch threads for both statements
    seed: int = 0


def check(p: Params) -> None:
    for i, case in enumerate(p.cases):
        if len(case) != 3 or min(case) < 1:
            raise ConfigError(f"cases[{i}]: expected [C, d, N] with positive sizes, got {case}")
    unknown = [b for b in p.backends if b not in ("numpy", "torch")]
    if unknown:
        raise ConfigError(f"backends: unknown {', '.join(unknown)}; known: numpy, torch")
    if p.dtype not in ("float32", "float64"):
        raise ConfigError(f"dtype: expected float32 or float64, got {p.dtype!r}")


def statements(backend: str, C: int, d: int, N: int, dtype: str, rng: np.random.Generator):
    """(loop, matmul) callables computing the same C x N scores, as the slide writes them."""
    W = rng.random((C, d)).astype(dtype)
    vectors = [rng.random((d, 1)).astype(dtype) for _ in range(N)]
    matrix = np.concatenate(vectors, axis=1)
    if backend == "torch":
        W, matrix = torch.from_numpy(W), torch.from_numpy(matrix)
        vectors = [torch.from_numpy(v) for v in vectors]

    def loop():
        return [W @ vectors[i] for i in range(N)]

    def matmul():
        return W @ matrix

    return loop, matmul


def best_us(fn, repeat: int, min_time: float) -> dict:
    """Best and median time per call in microseconds, over `repeat` timeit runs of >= min_time s."""
    timer = timeit.Timer(fn)
    number = 1
    while timer.timeit(number) < min_time:  # timeit's autorange, with our own floor
        number *= 2 if number < 8 else 4
    runs = [t / number * 1e6 for t in timer.repeat(repeat, number)]
    return {"best_us": round(min(runs), 3), "median_us": round(float(np.median(runs)), 3), "loops": number}


@contextlib.contextmanager
def limited_threads(n: int):
    """Run numpy's BLAS and torch on `n` threads, restoring both afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # numpy's BLAS keeps its own setting
        limiter = contextlib.nullcontext()
    else:
        limiter = threadpool_limits(n)
    try:
        with limiter:
            yield
    finally:
        torch.set_num_threads(before)


def run(p: Params, out_dir) -> dict:
    check(p)
    rng = np.random.default_rng(p.seed)
    rows = []
    with limited_threads(p.threads):
        for C, d, N in p.cases:
            for backend in p.backends:
                loop, matmul = statements(backend, C, d, N, p.dtype, rng)
                looped = np.concatenate([np.asarray(r) for r in loop()], axis=1)
                if not np.allclose(looped, np.asarray(matmul())):
                    raise AssertionError(f"loop and matmul disagree for {backend} {C}x{d}, N={N}")
                t_loop = best_us(loop, p.repeat, p.min_time)
                t_matmul = best_us(matmul, p.repeat, p.min_time)
                rows.append(
                    {
                        "backend": backend,
                        "C": C,
                        "d": d,
                        "N": N,
                        "loop_us": t_loop["best_us"],
                        "matmul_us": t_matmul["best_us"],
                        "speedup": round(t_loop["best_us"] / t_matmul["best_us"], 2),
                        "loop_median_us": t_loop["median_us"],
                        "matmul_median_us": t_matmul["median_us"],
                        "gflops_matmul": round(2 * C * d * N / (t_matmul["best_us"] * 1e3), 2),
                    }
                )
    plot(rows, out_dir / f"{NAME}.png", p)
    slide = [r for r in rows if (r["C"], r["d"], r["N"]) == (5, 300, 500)]
    return {
        "lecture": LECTURE,
        "ours_at_lecture_sizes": slide,
        "rows": rows,
        "threads": p.threads,
        "dtype": p.dtype,
    }


def plot(rows: list[dict], path, p: Params) -> None:
    cases = [tuple(c) for c in p.cases]
    groups = [("lecture slide\nC=5 d=300 N=500", None)] + [(f"C={C} d={d}\nN={N}", (C, d, N)) for C, d, N in cases]
    series = [("lecture", "loop"), ("lecture", "matmul")] + [(b, m) for b in p.backends for m in ("loop", "matmul")]
    fig, axes = new_figure(1, width=max(8.0, 1.6 * len(groups) + 3), height=4.8)
    ax = axes[0][0]
    width = 0.8 / len(series)
    colours = {
        ("lecture", "loop"): "0.55",
        ("lecture", "matmul"): "0.8",
        ("numpy", "loop"): "tab:red",
        ("numpy", "matmul"): "salmon",
        ("torch", "loop"): "tab:blue",
        ("torch", "matmul"): "lightblue",
    }
    for j, (backend, method) in enumerate(series):
        xs, ys = [], []
        for i, (_, case) in enumerate(groups):
            if case is None and backend == "lecture":
                xs.append(i), ys.append(LECTURE[f"{method}_us"])
            elif case is not None and backend != "lecture":
                row = next(r for r in rows if r["backend"] == backend and (r["C"], r["d"], r["N"]) == case)
                xs.append(i), ys.append(row[f"{method}_us"])
        if xs:
            offset = (j - (len(series) - 1) / 2) * width if backend != "lecture" else (j - 0.5) * width * 2
            ax.bar(
                np.array(xs) + offset,
                ys,
                width * (2 if backend == "lecture" else 1),
                color=colours[(backend, method)],
                label=f"{backend} {method}",
            )
    for i, (_, case) in enumerate(groups):
        found = [r for r in rows if case is not None and (r["C"], r["d"], r["N"]) == case]
        speedups = [f"x{r['speedup']:.0f} {r['backend']}" for r in found] if found else [f"x{LECTURE['speedup']:.1f} slide"]
        ax.annotate("\n".join(speedups), (i, 1.0), xycoords=("data", "axes fraction"), ha="center", va="top", fontsize=7)
    ax.set_xticks(range(len(groups)), [g for g, _ in groups], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("microseconds per call (best of repeats)")
    ax.set_title(
        f"Python loop over N word vectors vs one matrix product ({p.dtype}, {p.threads} thread)\n"
        "numbers at the top: speed-up, loop time / matmul time",
        fontsize=10,
    )
    tallest = max([LECTURE["loop_us"]] + [r["loop_us"] for r in rows] + [r["matmul_us"] for r in rows])
    ax.set_ylim(top=tallest * 300)
    ax.grid(alpha=0.3, axis="y", which="both")
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, 0.88))
    save_figure(fig, path)
