"""The command-line program: outputs on disk, one-line errors, nothing half-written."""

import json
import subprocess
import sys

import matplotlib.pyplot as plt
import pytest

from scratchlearn import cli
from scratchlearn._output import write_task_outputs


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "scratchlearn", *args], capture_output=True, text=True, timeout=300
    )


def test_run_task1_writes_figures_and_metrics(tmp_path):
    assert cli.main(["run", "task1", "--out", str(tmp_path), "--quiet"]) == 0
    folder = tmp_path / "task1"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert {"k_sweep", "classification_report", "class_priors"} <= metrics.keys()
    assert [row["k"] for row in metrics["k_sweep"]][-1] == 900
    expected = {
        "train_scatter",
        "test_scatter",
        "predictions_k5",
        "k_sweep",
        "decision_regions",
        "density",
    } | {f"decision_regions_k{k:03d}" for k in [2**i for i in range(10)] + [900]}
    assert {p.stem for p in folder.glob("*.png")} == expected
    assert all(p.stat().st_size > 10_000 for p in folder.glob("*.png"))
    assert (folder / "classification_report.txt").exists()
    assert not list(tmp_path.glob(".*"))  # no staging folder left behind


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "nope"], "unknown task 'nope'"),
        (["run", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "required: command"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args, message):
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Usage: scratchlearn run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_out_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    result = run_cli("run", "task1", "--out", str(target))
    assert result.returncode == 2
    assert "is a file" in result.stderr
    assert target.read_text() == "keep me"


def test_failed_write_keeps_previous_outputs(tmp_path):
    good = plt.figure()
    write_task_outputs(tmp_path, "task1", {"old": 1}, {"fig": good})

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    broken = plt.figure()
    broken.savefig = disk_full
    with pytest.raises(OSError, match="disk full"):
        write_task_outputs(tmp_path, "task1", {"new": 2}, {"a": plt.figure(), "b": broken})
    assert json.loads((tmp_path / "task1" / "metrics.json").read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["task1"]


def test_run_errors_are_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    def failing(*args, **kwargs):
        raise OSError("Permission denied: 'results/task1'")

    monkeypatch.setattr(cli, "run_tasks", failing)
    assert cli.main(["run", "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("scratchlearn: error: could not write results: Permission denied")
    assert "choose another --out" in error
    assert len(error.strip().splitlines()) == 1


def test_run_writes_the_report_and_prints_its_path(tmp_path, monkeypatch, capsys):
    def no_tasks(tasks, out, *, quiet=False, seconds=None):
        seconds.update({name: 0.5 for name in tasks})
        return []

    monkeypatch.setattr(cli, "run_tasks", no_tasks)
    assert cli.main(["run", "--out", str(tmp_path), "--quiet"]) == 0
    output = capsys.readouterr().out
    assert f"wrote {tmp_path / 'report.html'}" in output
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<title>" in html and "Settings, versions and time" in html
    assert "Settings, versions and time" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*"))  # the temporary files were renamed into place


def test_report_that_cannot_be_written_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_tasks", lambda *args, **kwargs: [])
    (tmp_path / "report.html").mkdir()  # a folder where the page should go
    assert cli.main(["run", "--out", str(tmp_path), "--quiet"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("scratchlearn: error: ") and len(error.strip().splitlines()) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
