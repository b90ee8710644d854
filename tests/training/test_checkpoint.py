"""Checkpoints: complete, verified, atomic, and never unpickling code."""

import json

import pytest
import torch

from rnn_nlp.errors import CheckpointError
from rnn_nlp.tasks.lm import LMTask
from rnn_nlp.training import checkpoint as ckpt
from rnn_nlp.training import run_folder


@pytest.fixture
def saved(tmp_path, tiny_config):
    task = LMTask(tiny_config)
    model = task.build_model()
    path = ckpt.save_checkpoint(tmp_path / "ck", tiny_config, task.vocab_json(), model, {"step": 3})
    return path, task, model


def test_round_trip(saved):
    path, task, model = saved
    assert sorted(p.name for p in path.iterdir()) == sorted(
        ["config.yaml", "vocab.json", "model.safetensors", "trainer_state.pt", "meta.json"]
    )
    ckpt.verify(path)
    fresh = task.build_model()
    ckpt.load_model_weights(fresh, ckpt.load_weights(path), path)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    # tied weights are saved once and still tied after loading
    assert fresh.head.decoder.weight is fresh.backbone.embedding.weight
    assert ckpt.load_trainer_state(path) == {"step": 3}


def test_missing_file_is_named(saved):
    path, *_ = saved
    (path / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match="missing vocab.json"):
        ckpt.verify(path)


def test_truncated_weights_are_refused(saved):
    path, *_ = saved
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="model.safetensors: corrupted"):
        ckpt.verify(path)
    with pytest.raises(CheckpointError, match="unreadable weights"):
        ckpt.load_weights(path)


def test_newer_format_is_refused(saved):
    path, *_ = saved
    meta = json.loads((path / "meta.json").read_text())
    meta["format_version"] = ckpt.FORMAT_VERSION + 1
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="newer than this rnn_nlp supports"):
        ckpt.verify(path)


def test_trainer_state_never_unpickles_code(saved, tmp_path):
    path, *_ = saved

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, path / "trainer_state.pt")
    with pytest.raises(CheckpointError, match="unreadable trainer state"):
        ckpt.load_trainer_state(path)


def test_weights_of_another_model_are_refused(saved, corpus):
    from rnn_nlp.runs import build_config
    from tests.conftest import tiny_raw

    path, *_ = saved
    other = LMTask(build_config(tiny_raw(corpus, backbone={"hidden_size": 8, "emb_size": 8}))).build_model()
    with pytest.raises(CheckpointError, match="has shape"):
        ckpt.load_model_weights(other, ckpt.load_weights(path), path)


def test_failed_save_keeps_previous_checkpoint(saved, monkeypatch, tiny_config):
    path, task, model = saved
    before = (path / "model.safetensors").read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "save_file", disk_full)
    with pytest.raises(CheckpointError, match="No space left on device.*previous one is untouched"):
        ckpt.save_checkpoint(path, tiny_config, task.vocab_json(), model, {"step": 4})
    assert (path / "model.safetensors").read_bytes() == before
    ckpt.verify(path)
    assert not (path.parent / ".ck.tmp").exists()


@pytest.mark.parametrize("failure", [ValueError("the extras refused"), KeyboardInterrupt()])
def test_extras_that_raise_leave_no_temporary_folder(saved, tiny_config, failure):
    """An `extras` that fails (an ONNX export out of tolerance) or an interrupt: the error passes as it is, the
    previous checkpoint stays, and no hidden `.ck.tmp` holding the weights is left beside it."""
    path, task, model = saved
    before = (path / "model.safetensors").read_bytes()

    def extras(folder):
        raise failure

    with pytest.raises(type(failure)):
        ckpt.save_checkpoint(path, tiny_config, task.vocab_json(), model, extras=extras)
    assert not (path.parent / ".ck.tmp").exists()
    assert (path / "model.safetensors").read_bytes() == before
    ckpt.verify(path)


def test_crash_mid_swap_falls_back_to_previous(saved):
    path, *_ = saved
    path.rename(path.parent / ".ck.old")  # as if killed between the two renames
    assert run_folder.resolve(path) == path.parent / ".ck.old"
    ckpt.verify(path)
    assert ckpt.load_trainer_state(path) == {"step": 3}


def test_wrong_hash_is_refused(saved):
    """Same size, one byte changed: only the hash can tell."""
    path, *_ = saved
    data = bytearray((path / "vocab.json").read_bytes())
    data[-2] = ord("x") if data[-2] != ord("x") else ord("y")
    (path / "vocab.json").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="vocab.json: corrupted"):
        ckpt.verify(path)


@pytest.mark.parametrize("version", [0, -3, "one", None])
def test_unknown_or_garbled_format_is_refused(saved, version):
    path, *_ = saved
    meta = json.loads((path / "meta.json").read_text())
    meta["format_version"] = version
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unknown checkpoint format|unreadable"):
        ckpt.verify(path)


def test_file_without_a_hash_is_refused(saved):
    """A trainer_state.pt (or any file loading reads) slipped in without a hash is not trusted."""
    path, *_ = saved
    meta = json.loads((path / "meta.json").read_text())
    del meta["files"]["trainer_state.pt"]
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="lists no hash for trainer_state.pt"):
        ckpt.verify(path)


def test_truncated_trainer_state_and_garbage_meta_are_refused(saved):
    path, *_ = saved
    data = (path / "trainer_state.pt").read_bytes()
    (path / "trainer_state.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="trainer_state.pt: corrupted"):
        ckpt.verify(path)
    with pytest.raises(CheckpointError, match="unreadable trainer state"):
        ckpt.load_trainer_state(path)
    (path / "meta.json").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(CheckpointError, match="meta.json: unreadable"):
        ckpt.verify(path)


def test_pickled_code_never_runs(saved, tmp_path):
    """A trainer state whose unpickling would run code is refused before the code runs."""
    path, *_ = saved
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (marker.write_text, ("ran",))

    torch.save({"x": Evil()}, path / "trainer_state.pt")
    with pytest.raises(CheckpointError, match="unreadable trainer state"):
        ckpt.load_trainer_state(path)
    assert not marker.exists()


def test_swap_failure_restores_previous(saved, monkeypatch, tiny_config):
    path, task, model = saved
    before = (path / "model.safetensors").read_bytes()
    real_rename = ckpt.os.rename

    def rename(src, dst):
        if str(src).endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(ckpt.os, "rename", rename)
    with pytest.raises(CheckpointError, match="could not swap in checkpoint"):
        ckpt.save_checkpoint(path, tiny_config, task.vocab_json(), model, {"step": 4})
    monkeypatch.undo()
    assert (path / "model.safetensors").read_bytes() == before
    assert ckpt.load_trainer_state(path) == {"step": 3}


def _swap_during_read(monkeypatch, cfg, task, newer, path, remove_old: bool):
    """Swap in checkpoint `newer` at `path` just before the reader opens the weights (once)."""
    real, swapped = ckpt._read_file, []

    def read_file(name, dir_fd, folder):
        if name == ckpt.WEIGHTS and not swapped:
            swapped.append(name)
            if remove_old:
                ckpt.save_checkpoint(path, cfg, task.vocab_json(), newer, {"step": 4})
            else:  # caught between the rename of the new folder and the removal of the old one
                monkeypatch.setattr(ckpt.shutil, "rmtree", lambda *a, **k: None)
                ckpt.save_checkpoint(path, cfg, task.vocab_json(), newer, {"step": 4})
                monkeypatch.undo()
                monkeypatch.setattr(ckpt, "_read_file", read_file)
        return real(name, dir_fd, folder)

    monkeypatch.setattr(ckpt, "_read_file", read_file)
    return swapped


@pytest.mark.parametrize("remove_old", [True, False])
def test_a_reader_racing_a_swap_gets_one_whole_version(saved, tiny_config, monkeypatch, remove_old):
    path, task, model = saved
    newer = task.build_model()
    with torch.no_grad():
        for p in newer.parameters():
            p.add_(1.0)
    swapped = _swap_during_read(monkeypatch, tiny_config, task, newer, path, remove_old)
    checkpoint = ckpt.read_checkpoint(path)  # never "corrupted" nor "missing"
    assert swapped
    expected = newer if remove_old else model  # the old folder, gone: read again; still there: read through its handle
    weights = checkpoint.weights()
    for name, tensor in expected.state_dict().items():
        if name in weights:
            assert torch.equal(weights[name], tensor), name
    assert checkpoint.trainer_state() == {"step": 4 if remove_old else 3}


def test_a_checkpoint_read_whole_parses_what_it_read(saved):
    path, task, model = saved
    checkpoint = ckpt.read_checkpoint(path)
    (path / "vocab.json").write_text("{}")  # later changes on disk do not reach what was read
    assert checkpoint.vocab_json() == task.vocab_json()
    assert checkpoint.raw_config()["task"] == "lm"
    with pytest.raises(CheckpointError, match="vocab.json: corrupted"):
        ckpt.read_checkpoint(path)


def test_a_reader_whose_folder_is_emptied_before_it_lists_it_reads_the_new_version(saved, tiny_config, monkeypatch):
    path, task, model = saved
    newer = task.build_model()
    real, swapped = ckpt.os.listdir, []

    def listdir(where):
        if not swapped:  # the writer swaps in the next checkpoint and removes this one, after the reader opened it
            swapped.append(True)
            ckpt.save_checkpoint(path, tiny_config, task.vocab_json(), newer, {"step": 4})
        return real(where)

    monkeypatch.setattr(ckpt.os, "listdir", listdir)
    checkpoint = ckpt.read_checkpoint(path)
    assert swapped and checkpoint.trainer_state() == {"step": 4}
