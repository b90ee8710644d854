"""clipping end to end on a tiny corpus: both runs recorded step by step, JSON and PNG written."""

import json

from rnn_nlp.experiments import run_experiment
from tests.conftest import write_corpus


def test_runs_end_to_end_and_writes_json_and_png(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", (150, 30, 30))
    out = tmp_path / "out"
    overrides = [f"corpus={corpus}", "hidden_size=12", "steps=12", "batch_size=4", "bptt=8", "tail=4", "clip_norm=0.1"]
    record = run_experiment("clipping", out, overrides=overrides)
    saved = json.loads((out / "clipping.json").read_text())
    assert saved["result"] == json.loads(json.dumps(record["result"]))
    runs = saved["result"]["runs"]
    assert list(runs) == ["no clipping", "clip_norm=0.1"]
    plain, clipped = runs.values()
    assert plain["clip_norm"] is None and clipped["clip_norm"] == 0.1
    for r in runs.values():
        assert r["steps"] == 12 and len(r["loss_per_step"]) == len(r["grad_norm_per_step"]) == 12
    # same seed, data and weights: the first step is identical, the updates differ after clipping
    assert plain["loss_per_step"][0] == clipped["loss_per_step"][0]
    assert clipped["grad_norm_per_step"][0] > 0.1 and clipped["loss_per_step"][1] != plain["loss_per_step"][1]
    assert clipped["non_finite_steps"] == 0 and clipped["valid_ppl"] > 1
    assert set(saved["result"]["claim"]) >= {"clipping_lowers_final_loss", "clipping_lowers_valid_ppl"}
    assert (out / "clipping.png").stat().st_size > 0
