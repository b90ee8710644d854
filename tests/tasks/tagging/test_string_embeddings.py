"""A tagger with contextual string embeddings, end to end on tiny corpora: a char LM run trained for a few
steps, a NER run reading it, its cache, a self-contained run folder, and `pretrained:` naming a char LM."""

import json
import logging
import shutil

import pytest
import torch

import rnn_nlp
from rnn_nlp.errors import ConfigError
from rnn_nlp.runs import build_config, load_run, train_run
from rnn_nlp.tasks.registry import get_task
from rnn_nlp.tasks.tagging.string_lm import shard_with_words
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training.run_folder import LAST, RUN_CONFIG
from tests.conftest import assert_ctrl_c_resume_matches, tiny_raw
from tests.tasks.tagging.data import tagging_raw, write_ner

CPU = torch.device("cpu")
SENTENCES = [["John", "Smith", "visited", "Paris", "."], ["Mary", "left", "Zürich"], ["Globex"]]


def write_char_text(ner_folder, folder):
    """The NER corpus's sentences as plain lines (train / valid / test): the char LM's text."""
    folder.mkdir(parents=True)
    for split in ("train", "valid", "test"):
        blocks = (ner_folder / f"{split}.txt").read_text(encoding="utf-8").split("\n\n")
        lines = [" ".join(row.split()[0] for row in b.splitlines() if row and not row.startswith("-DOCSTART-")) for b in blocks]
        (folder / f"{split}.txt").write_text("\n".join(line for line in lines if line) + "\n", encoding="utf-8")
    return folder


def char_lm_raw(text, direction="both"):
    return tiny_raw(
        text,
        data={"unit": "char"},
        backbone={"emb_size": 8, "hidden_size": 12, "layers": 1, "direction": direction},
        head={"tie_weights": False},
        trainer={"epochs": 1, "max_steps": 12, "bptt": 32, "batch_size": 8, "optimizer": "adam", "lr": 0.01},
    )


def flair_raw(data, char_lm, head=None, **sections):
    head = {"string_embeddings": str(char_lm), "encoder": "bilstm", "encoder_size": 8, "char_features": "none", **(head or {})}
    return tagging_raw("ner", data, head=head, **sections)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("flair")
    data = write_ner(root / "data", sizes=(100, 20, 20))
    train_run(build_config(char_lm_raw(write_char_text(data, root / "text"))), root / "charlm")
    trainer = train_run(build_config(flair_raw(data, root / "charlm", trainer={"epochs": 3})), root / "ner")
    return root, trainer


@pytest.mark.slow
def test_the_tagger_learns_with_a_frozen_char_lm_copied_into_its_run(runs):
    root, trainer = runs
    losses = [row["train_loss"] for row in trainer.history]
    assert losses[-1] < losses[0] * 0.7
    strings = trainer.model.head.strings
    assert strings is not None and strings.output_dim == 24  # 12 forward + 12 backward
    lm_weights = {k[len("backbone.") :]: v for k, v in ckpt.load_weights(root / "charlm").items() if k.startswith("backbone.")}
    for name, value in strings.lm.state_dict().items():
        assert torch.equal(value, lm_weights[name]), name  # frozen: as the char LM run has it, after training too
    saved = json.loads((root / "ner" / "best" / "vocab.json").read_text())["string_embeddings"]
    assert saved["chars"]["unit"] == "char" and saved["backbone"]["hidden_size"] == 12 and saved["lowercase"] is False


@pytest.mark.slow
def test_each_sentence_is_run_through_the_char_lm_once(runs):
    root, trainer = runs
    task = trainer.task
    seen = {p.words for split in ("train", "valid") for p in task.pieces(split)}
    cache = trainer.model.head.strings.cache
    assert cache.misses == len(seen) == len(cache.store)
    assert cache.hits > 2 * len(task.pieces("train"))  # epochs 2 and 3, and every evaluation after the first


@pytest.mark.slow
def test_the_run_predicts_the_same_once_loaded_without_the_char_lm(runs):
    root, trainer = runs
    expected = trainer.task.tag_tokens(trainer.model, SENTENCES, CPU)
    away = root / "charlm-away"
    shutil.move(root / "charlm", away)
    try:
        _, task, model = load_run(root / "ner" / LAST)
        assert task.tag_tokens(model, SENTENCES, CPU) == expected
        model = rnn_nlp.load(root / "ner" / LAST)
        assert model.predict("Ann Lee joined Globex.").tokens == ["Ann", "Lee", "joined", "Globex", "."]
        saved = model.save(root / "saved-model", overwrite=True)  # a slim folder carries the char LM too
        assert rnn_nlp.load(saved).tag_tokens(SENTENCES) == expected
    finally:
        shutil.move(away, root / "charlm")


@pytest.mark.slow
def test_pretrained_char_lm_becomes_the_string_embedder(runs, tmp_path, caplog):
    root, _ = runs
    raw = tagging_raw("ner", root / "data", trainer={"epochs": 1})
    raw["pretrained"] = str(root / "charlm")
    with caplog.at_level(logging.INFO):
        trainer = train_run(build_config(raw), tmp_path / "run")
    assert "is a character-level LM; the tagger uses it as its string embedder" in caplog.text
    assert trainer.cfg.pretrained is None and trainer.cfg.head.string_embeddings == str(root / "charlm")
    assert trainer.model.head.strings is not None
    saved = (tmp_path / "run" / RUN_CONFIG).read_text()
    assert f"string_embeddings: {root / 'charlm'}" in saved and "pretrained: null" in saved


@pytest.mark.slow
def test_string_embeddings_from_anything_but_a_char_lm_are_refused(runs, tmp_path):
    root, _ = runs
    with pytest.raises(ConfigError, match=r"head.string_embeddings: .* is not a character-level language model"):
        train_run(build_config(flair_raw(root / "data", root / "ner")), tmp_path / "a")
    with pytest.raises(ConfigError, match="head.string_embeddings"):
        train_run(build_config(flair_raw(root / "data", tmp_path / "nowhere")), tmp_path / "b")
    raw = flair_raw(root / "data", root / "charlm")
    raw["pretrained"] = str(root / "charlm-other")
    shutil.copytree(root / "charlm", root / "charlm-other", dirs_exist_ok=True)
    with pytest.raises(ConfigError, match="keep one of them"):
        train_run(build_config(raw), tmp_path / "c")


@pytest.mark.slow
def test_resume_mid_epoch_matches_an_uninterrupted_run(runs, tmp_path, monkeypatch):
    from rnn_nlp.tasks.tagging import NerTask

    root, _ = runs
    cfg = build_config(flair_raw(root / "data", root / "charlm", trainer={"epochs": 2}))
    assert_ctrl_c_resume_matches(cfg, NerTask, tmp_path, monkeypatch, stop_step=3)


def test_batches_carry_the_words_only_for_string_embeddings(tmp_path):
    data = write_ner(tmp_path / "data", sizes=(10, 4, 4))
    plain = get_task("ner")(build_config(tagging_raw("ner", data)))
    assert "words" not in plain.make_batch(plain.pieces("train")[:2], CPU)
    task = get_task("ner")(build_config(flair_raw(data, tmp_path / "not-read-here")))
    pieces = task.pieces("train")[:3]
    batch = task.make_batch(pieces, CPU)
    assert batch["words"] == [p.words for p in pieces] and batch["words"][0] == tuple(task.splits()["train"]["tokens"][0])


def test_bad_string_embedding_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match="head.string_embeddings_cache_mb"):
        build_config(flair_raw(tmp_path, tmp_path / "charlm", head={"string_embeddings_cache_mb": -1}))
    with pytest.raises(ConfigError, match="head.string_embeddings_cache_dtype"):
        build_config(flair_raw(tmp_path, tmp_path / "charlm", head={"string_embeddings_cache_dtype": "int8"}))


def test_a_process_gets_the_words_of_its_own_rows():
    batch = {"ids": torch.arange(5).unsqueeze(1), "words": [("a",), ("b",), ("c",), ("d",), ("e",)]}
    first, second = shard_with_words(batch, 0, 2), shard_with_words(batch, 1, 2)
    assert first["ids"].squeeze(1).tolist() == [0, 1, 2] and first["words"] == [("a",), ("b",), ("c",)]
    assert second["ids"].squeeze(1).tolist() == [3, 4] and second["words"] == [("d",), ("e",)]
    small = {"ids": torch.zeros(1, 2), "words": [("a",)]}
    assert shard_with_words(small, 1, 2)["words"] == [("a",)]  # too few rows: every rank takes the batch
