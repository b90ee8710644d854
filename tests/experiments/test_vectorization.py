"""vectorization end to end with tiny sizes: both statements agree and are timed; the slide's figures beside ours."""

import json

import numpy as np
import pytest

from rnn_nlp.errors import ConfigError
from rnn_nlp.experiments import run_experiment
from rnn_nlp.experiments.vectorization import LECTURE, Params, check, statements


@pytest.mark.slow
def test_runs_end_to_end_and_writes_json_and_png(tmp_path):
    out = tmp_path / "out"
    overrides = ["cases=[[5, 300, 500], [8, 8, 20]]", "repeat=2", "min_time=0.005"]
    run_experiment("vectorization", out, overrides=overrides)
    result = json.loads((out / "vectorization.json").read_text())["result"]
    assert result["lecture"]["loop_us"] == 639.0 and result["lecture"]["matmul_us"] == 53.8
    assert len(result["rows"]) == 4 and {r["backend"] for r in result["rows"]} == {"numpy", "torch"}
    for r in result["rows"]:
        assert r["loop_us"] > 0 and r["matmul_us"] > 0
        assert r["speedup"] == pytest.approx(r["loop_us"] / r["matmul_us"], rel=0.01)
    assert [(r["C"], r["d"], r["N"]) for r in result["ours_at_lecture_sizes"]] == [(5, 300, 500)] * 2
    assert (out / "vectorization.png").stat().st_size > 0


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_loop_and_matmul_compute_the_same_scores(backend):
    loop, matmul = statements(backend, 3, 4, 6, "float64", np.random.default_rng(0))
    assert np.allclose(np.concatenate([np.asarray(v) for v in loop()], axis=1), np.asarray(matmul()))
    assert np.asarray(matmul()).shape == (3, 6)


def test_bad_cases_are_named():
    with pytest.raises(ConfigError, match=r"cases\[0\]"):
        check(Params(cases=[[5, 300]]))
    with pytest.raises(ConfigError, match="backends: unknown jax"):
        check(Params(backends=["jax"]))
    assert LECTURE["speedup"] == pytest.approx(639 / 53.8, rel=1e-3)
