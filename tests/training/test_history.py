"""Metric files of a run folder (metrics.csv, steps.csv, curves.png): a full disk leaves no
temporary file behind and its error names the file (issue 15 item 11)."""

import csv
import errno

import matplotlib.figure
import matplotlib.pyplot as plt
import pytest

from rnn_nlp.training.history import append_csv, plot_curves, write_csv

EVALS = [{"epoch": 1, "step": 3, "train_loss": 2.0, "valid_loss": 2.1, "valid_ppl": 8.2}]
ROWS = [{"step": s, "train_loss": 2.5 - s / 10} for s in range(1, 200)]


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _left_over(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_a_full_disk_while_plotting_leaves_no_tmp_png_and_names_the_file(tmp_path, monkeypatch):
    def savefig(fig, path, **kwargs):  # some bytes reach the disk, then it is full
        with open(path, "wb") as fh:
            fh.write(b"\x89PNG" + b"\0" * 100)
            fh.flush()
            _disk_full()

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    (tmp_path / "curves.png").write_bytes(b"the previous plot")
    with pytest.raises(OSError) as info:
        plot_curves(EVALS, tmp_path / "curves.png", title="run (lm)")
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(tmp_path / "curves.png")
    assert _left_over(tmp_path) == []
    assert (tmp_path / "curves.png").read_bytes() == b"the previous plot"
    assert plt.get_fignums() == []  # the figure is closed all the same


def test_a_full_disk_while_writing_a_table_leaves_no_tmp_csv_and_names_the_file(tmp_path, monkeypatch):
    original = csv.DictWriter.writerows

    def writerows(self, rows):  # half the rows are written, then the disk is full
        original(self, rows[: len(rows) // 2])
        _disk_full()

    monkeypatch.setattr(csv.DictWriter, "writerows", writerows)
    with pytest.raises(OSError) as info:
        write_csv(ROWS, tmp_path / "metrics.csv")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "metrics.csv")
    assert _left_over(tmp_path) == [] and not (tmp_path / "metrics.csv").exists()


def test_an_append_on_a_full_disk_names_the_file(tmp_path, monkeypatch):
    write_csv(ROWS[:3], tmp_path / "steps.csv")
    monkeypatch.setattr(csv.DictWriter, "writerow", _disk_full)
    with pytest.raises(OSError) as info:
        append_csv(ROWS[:4], tmp_path / "steps.csv")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "steps.csv")


def test_an_interrupted_plot_leaves_no_tmp_png(tmp_path, monkeypatch):
    def savefig(fig, path, **kwargs):
        open(path, "wb").close()
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    with pytest.raises(KeyboardInterrupt):
        plot_curves(EVALS, tmp_path / "curves.png")
    assert _left_over(tmp_path) == []


def test_tables_and_plots_still_land_whole(tmp_path):
    write_csv(ROWS, tmp_path / "steps.csv")
    append_csv(ROWS + [{"step": 200, "train_loss": 0.5}], tmp_path / "steps.csv")
    with open(tmp_path / "steps.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(ROWS) + 1
    plot_curves(EVALS, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert _left_over(tmp_path) == []
