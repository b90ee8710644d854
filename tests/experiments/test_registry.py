"""The experiment runner: parameters from defaults, YAML and overrides; JSON written; clear errors."""

import json
import sys
import types
from dataclasses import dataclass

import pytest

from rnn_nlp import experiments
from rnn_nlp.errors import ConfigError


@dataclass
class _Params:
    steps: int = 3
    lr: float = 0.1
    kinds: list[str] = None


def _fake(monkeypatch) -> types.ModuleType:
    module = types.ModuleType("fake_experiment")
    module.NAME = "fake"
    module.DESCRIPTION = "doubles the steps"
    module.Params = _Params

    def run(params, out_dir):
        (out_dir / "fake.png").write_bytes(b"png")
        return {"twice": params.steps * 2, "lr": params.lr}

    module.run = run
    monkeypatch.setitem(sys.modules, "fake_experiment", module)
    monkeypatch.setitem(experiments.EXPERIMENTS, "fake", "fake_experiment")
    return module


def test_run_writes_json_with_params_result_and_machine(tmp_path, monkeypatch):
    _fake(monkeypatch)
    config = tmp_path / "long.yaml"
    config.write_text("steps: 10\nlr: 1\n")
    record = experiments.run_experiment("fake", tmp_path / "out", config, ["lr=0.5"])
    assert record["result"] == {"twice": 20, "lr": 0.5}
    saved = json.loads((tmp_path / "out" / "fake.json").read_text())
    assert saved["params"] == {"steps": 10, "lr": 0.5, "kinds": None}
    assert saved["machine"]["torch"]
    assert (tmp_path / "out" / "fake.png").exists()


def test_unknown_experiment_and_bad_parameters_name_what_is_wrong(tmp_path, monkeypatch):
    _fake(monkeypatch)
    with pytest.raises(ConfigError, match="unknown experiment 'nope'"):
        experiments.get_experiment("nope")
    with pytest.raises(ConfigError, match="did you mean 'steps'"):
        experiments.run_experiment("fake", tmp_path, overrides=["step=2"])
    with pytest.raises(ConfigError, match="steps: expected an integer"):
        experiments.run_experiment("fake", tmp_path, overrides=["steps=many"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 1\n")
    with pytest.raises(ConfigError, match="bad.yaml: expected a mapping"):
        experiments.run_experiment("fake", tmp_path, bad)


def test_every_registered_experiment_declares_the_contract():
    for name in experiments.EXPERIMENTS:
        module = experiments.get_experiment(name)
        assert module.NAME == name
        assert module.DESCRIPTION
        module.Params()
        assert callable(module.run)
