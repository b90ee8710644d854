"""Config: strict YAML <-> dataclasses, dotted overrides, errors that name the key."""

import pytest
import yaml

from rnn_nlp.config import (
    BackboneConfig,
    RunConfig,
    apply_overrides,
    from_dict,
    to_dict,
)
from rnn_nlp.errors import ConfigError
from rnn_nlp.nn.heads.lm import LMHeadConfig
from rnn_nlp.runs import build_config, load_config


def test_defaults_and_round_trip():
    cfg = build_config({"task": "lm"})
    assert isinstance(cfg, RunConfig)
    assert isinstance(cfg.head, LMHeadConfig)
    again = build_config(yaml.safe_load(yaml.safe_dump(to_dict(cfg))))
    assert to_dict(again) == to_dict(cfg)


def test_unknown_key_names_key_and_suggests():
    with pytest.raises(ConfigError, match=r"unknown key 'trainer.lrr'.*did you mean 'lr'"):
        build_config({"trainer": {"lrr": 1.0}})


def test_unknown_top_level_key():
    with pytest.raises(ConfigError, match="unknown key 'trainr'"):
        build_config({"trainr": {}})


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"trainer": {"lr": "fast"}}, "trainer.lr"),
        ({"trainer": {"epochs": 2.5}}, "trainer.epochs"),
        ({"trainer": {"progress": "yes"}}, "trainer.progress"),
        ({"backbone": {"rnn": "transformer"}}, "backbone.rnn"),
        ({"head": {"cutoffs": [1, "x"]}}, "head.cutoffs[1]"),
        ({"backbone": {"layers": 0}}, "backbone.layers"),
        ({"backbone": {"output_dropout": 1.5}}, "backbone.output_dropout"),
        ({"trainer": "fast"}, "trainer"),
    ],
)
def test_wrong_values_name_their_key(raw, key):
    with pytest.raises(ConfigError) as err:
        build_config(raw)
    assert key in str(err.value)


def test_unknown_rnn_kind_lists_choices():
    with pytest.raises(ConfigError, match="'lstm', 'gru', 'elman_tanh', 'elman_relu'"):
        from_dict(BackboneConfig, {"rnn": "lstmm"}, "backbone")


def test_ints_widen_to_floats_but_bools_are_not_numbers():
    cfg = build_config({"trainer": {"lr": 1}})
    assert cfg.trainer.lr == 1.0 and isinstance(cfg.trainer.lr, float)
    with pytest.raises(ConfigError, match="trainer.lr"):
        build_config({"trainer": {"lr": True}})


def test_overrides_parse_yaml_values():
    raw = apply_overrides({}, ["trainer.lr=0.5", "backbone.rnn=gru", "head.cutoffs=[10, 20]", "trainer.max_steps=null"])
    cfg = build_config(raw)
    assert cfg.trainer.lr == 0.5
    assert cfg.backbone.rnn == "gru"
    assert cfg.head.cutoffs == [10, 20]
    assert cfg.trainer.max_steps is None


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["trainer.lr"])
    with pytest.raises(ConfigError, match="'trainer.lr' is not a section"):
        apply_overrides({"trainer": {"lr": 1.0}}, ["trainer.lr.x=1"])


def test_load_config_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("trainer:\n  lr: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(path)
    path.write_text("trainer:\n  bptt: -3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: trainer.bptt must be positive"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_unknown_task():
    with pytest.raises(ConfigError, match="unknown task 'parse'"):
        build_config({"task": "parse"})


@pytest.mark.parametrize(
    "path",
    [
        "configs/lm-ptb.yaml",
        "configs/lm-ptb-awd.yaml",
        "configs/lm-ptb-bidirectional.yaml",
        "configs/sentiment-rt.yaml",
        "configs/sentiment-rt-glove.yaml",
        "configs/sentiment-rt-fast.yaml",
        "configs/topic-bbc.yaml",
    ],
)
def test_shipped_recipes_validate(path):
    from pathlib import Path

    cfg = load_config(Path(__file__).parent.parent / path)
    assert cfg.task == ("classify" if "lm-" not in path else "lm")


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("task: lm\ntrainer:\n  lr: 1.0\nbackbone:\n  layers: 1\ntrainer:\n  lr: 2.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"twice.yaml: not valid YAML: duplicate key 'trainer' \(first on line 2, again on line 6\)"):
        load_config(path)
    path.write_text("task: lm\ntrainer:\n  lr: 1.0\n  lr: 2.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key 'lr'"):
        load_config(path)


def test_exponent_numbers_are_numbers_in_files_and_overrides(tmp_path):
    path = tmp_path / "lr.yaml"
    path.write_text("task: lm\ntrainer:\n  lr: 1e-3\n  min_lr: 0\n  optimizer: adam\n", encoding="utf-8")
    assert load_config(path).trainer.lr == 0.001
    assert load_config(path, ["trainer.lr=2E-4", "trainer.weight_decay=1e-6"]).trainer.lr == pytest.approx(2e-4)
    assert apply_overrides({}, ["data.name=1e3x"]) == {"data": {"name": "1e3x"}}  # not a number: stays a string
    with pytest.raises(ConfigError, match="data.name: expected a string, got 1000.0"):
        load_config(path, ["data.name=1e3"])


@pytest.mark.parametrize("override", ["backbone.hidden_size=10000000", "backbone.emb_size=1000000000", "backbone.layers=1000000"])
def test_impossible_sizes_are_refused_up_front_naming_the_keys(override):
    key = override.split("=")[0]
    with pytest.raises(ConfigError, match=rf"{key}=\d+.*parameters \([\d,]+ GiB of float32 weights"):
        build_config(apply_overrides({"task": "lm"}, [override]))


def test_the_parameter_count_matches_the_built_backbone():
    from rnn_nlp.nn.backbone import Backbone
    from rnn_nlp.validation import backbone_parameters

    for raw in (
        {"rnn": "lstm", "layers": 3, "direction": "both", "top_size": 40},
        {"rnn": "gru", "layers": 1},
        {"rnn": "elman_tanh", "layers": 2},
    ):
        cfg = build_config({"task": "lm", "backbone": {"emb_size": 24, "hidden_size": 32, **raw}})
        built = sum(p.numel() for p in Backbone(cfg.backbone, 50, 0).parameters())
        assert backbone_parameters(cfg.backbone, vocab_size=50) == built, raw
