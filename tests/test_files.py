"""Files written whole or not at all: a full disk or Ctrl-C leaves the old file and no temporary one."""

import errno

import pytest

from rnn_nlp import files
from rnn_nlp.metrics.confusion import plot_confusion


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_replace_text_lands_whole_and_a_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "eval-test.json"
    files.replace_text(path, "old\n")
    assert path.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["eval-test.json"]

    def half_then_full(self, text, encoding=None):
        with open(self, "w", encoding=encoding) as fh:
            fh.write(text[:2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(type(path), "write_text", half_then_full)
    with pytest.raises(OSError) as info:
        files.replace_text(path, "new text\n")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    monkeypatch.undo()
    assert path.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["eval-test.json"]


def test_an_interrupt_mid_write_removes_the_temporary_file(tmp_path):
    def interrupted(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.replace_file(tmp_path / "table.csv", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_a_confusion_plot_on_a_full_disk_leaves_no_file(tmp_path, monkeypatch):
    import matplotlib.figure

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, fname, **kw: (open(fname, "wb").write(b"\x89PNG"), _full_disk()))
    with pytest.raises(OSError) as info:
        plot_confusion([[3, 1], [0, 2]], ["neg", "pos"], tmp_path / "confusion-test.png")
    assert info.value.filename == str(tmp_path / "confusion-test.png")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    plot_confusion([[3, 1], [0, 2]], ["neg", "pos"], tmp_path / "confusion-test.png")
    assert (tmp_path / "confusion-test.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["confusion-test.png"]
