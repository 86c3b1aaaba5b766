"""The command-line program: outputs on disk, one-line errors, nothing half-written.

Kills, injected failures and concurrent runs are in ``test_cli_faults.py``.
"""

import errno
import gc
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import _fake_tasks as fake_tasks
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

import scratchlearn
from scratchlearn import cli
from scratchlearn._output import ResultsFolder, write_task_outputs
from scratchlearn.experiments import task2


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "scratchlearn", *args], capture_output=True, text=True, timeout=300
    )


def test_run_writes_figures_and_metrics(results_dir):
    # results_dir is what `scratchlearn run --out DIR --quiet` wrote (the session's results).
    folder = results_dir / "task1"
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
    assert [p.name for p in results_dir.glob(".*")] == [".lock"]  # no staging folder left
    assert generations(results_dir) == [os.readlink(results_dir / "latest").split("/")[-1]]
    for name in ("task1", "task2", "task3", "report.html"):
        assert (results_dir / name).is_symlink()
    assert "Saved models" not in (results_dir / "report.html").read_text(encoding="utf-8")


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
    assert len(result.stderr.strip().splitlines()) == 1
    assert target.read_text() == "keep me"


def generations(out):
    """The generation folders under ``out/runs`` (its marker file aside)."""
    return sorted(n for n in os.listdir(out / "runs") if not n.startswith("."))


def test_a_failed_task_write_leaves_nothing_and_never_replaces_a_folder(tmp_path):
    # A task folder is written once, into a run's own staging generation: a failure removes
    # it, and an existing folder of that name is never written into or replaced.
    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    broken = plt.figure()
    broken.savefig = disk_full
    with pytest.raises(OSError, match="disk full"):
        write_task_outputs(tmp_path, "task1", {"new": 2}, {"a": plt.figure(), "b": broken})
    assert list(tmp_path.iterdir()) == []
    assert plt.get_fignums() == []  # closed, written or not

    (tmp_path / "task1").mkdir()
    (tmp_path / "task1" / "metrics.json").write_text("mine")
    with pytest.raises(FileExistsError):
        write_task_outputs(tmp_path, "task1", {"new": 2}, {"fig": plt.figure()})
    assert [p.name for p in (tmp_path / "task1").iterdir()] == ["metrics.json"]
    assert (tmp_path / "task1" / "metrics.json").read_text() == "mine"


def test_a_failed_task_write_reports_its_own_error_when_removing_the_folder_fails_too(
    tmp_path, monkeypatch
):
    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def io_error(*args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    broken = plt.figure()
    broken.savefig = disk_full
    monkeypatch.setattr(os, "rmdir", io_error)  # the clean-up fails as well
    with pytest.raises(OSError) as raised:
        write_task_outputs(tmp_path, "task1", {"new": 2}, {"fig": broken})
    assert raised.value.errno == errno.ENOSPC  # the cause, not the clean-up's error


def test_figures_are_the_same_bytes_whatever_the_matplotlib_version(tmp_path, monkeypatch):
    def written(version: str) -> bytes:
        monkeypatch.setattr(matplotlib, "__version__", version)
        figure = plt.figure(figsize=(1, 1), dpi=20)
        figure.add_subplot().plot([0, 1], [0, 1])
        folder = write_task_outputs(tmp_path / version, "task1", {}, {"fig": figure})
        return (folder / "fig.png").read_bytes()

    assert written("3.8.0") == written("9.9.9")


def test_run_prints_each_task_folder_it_wrote(tmp_path, monkeypatch, capsys):
    fake_tasks.install(monkeypatch, figures=False)
    out = tmp_path / "results"
    assert cli.main(["run", "fake_a", "fake_b", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out.splitlines()
    for task in ("fake_a", "fake_b"):
        assert f"wrote {out / task}" in printed
        assert (out / task / "metrics.json").is_file()


def test_run_errors_are_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    def failing(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "results/task1")

    monkeypatch.setattr(cli, "run_tasks", failing)
    assert cli.main(["run", "--out", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(
        f"scratchlearn: error: could not write results: {os.strerror(errno.EACCES)} "
        "(results/task1); "
    )
    assert f"no results were written to {tmp_path}" in error
    assert "choose a folder you can write to with --out" in error
    assert "free some space" not in error
    assert len(error.strip().splitlines()) == 1


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    tmp_path, monkeypatch, capsys, debug
):
    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(cli, "run_tasks", broken)
    assert cli.main(["run", "--out", str(tmp_path), *(["--debug"] if debug else [])]) == 1
    error = capsys.readouterr().err
    last = error.strip().splitlines()[-1]
    assert last.startswith("scratchlearn: error: RuntimeError: boom second line; ")
    assert ("Traceback" in error) == debug
    if not debug:
        assert len(error.strip().splitlines()) == 1 and "--debug" in last


def test_run_writes_the_report_and_prints_its_path(tmp_path, monkeypatch, capsys):
    def no_tasks(tasks, results, *, quiet=False, seconds=None, save_models=False):
        seconds.update({name: 0.5 for name in tasks})
        return []

    monkeypatch.setattr(cli, "run_tasks", no_tasks)
    assert cli.main(["run", "--out", str(tmp_path), "--quiet"]) == 0
    output = capsys.readouterr().out
    assert f"wrote {tmp_path / 'report.html'}" in output
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<title>" in html and "Settings, versions and time" in html
    assert "Settings, versions and time" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.glob(".*")] == [".lock"]  # temporary files renamed


def test_a_folder_where_the_report_goes_is_refused_before_computing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_tasks", not_called)
    (tmp_path / "report.html").mkdir()  # a folder where the page should go
    (tmp_path / "report.html" / "mine.txt").write_text("keep me")
    assert cli.main(["run", "--out", str(tmp_path), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"scratchlearn: error: --out {str(tmp_path)!r} holds a folder ")
    assert repr(str(tmp_path / "report.html")) in error and "move it away" in error
    assert len(error.strip().splitlines()) == 1
    assert (tmp_path / "report.html" / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]  # no lock file left


def not_called(*args, **kwargs):
    raise AssertionError("the run started computing despite a bad --out")


def tree(root):
    return sorted((str(p), p.is_dir()) for p in root.rglob("*"))


# Each case: how to make the bad --out under tmp_path, and what its one line must say.
def _empty(tmp):
    return "", "--out is empty; give a folder, e.g. --out results"


def _file(tmp):
    (tmp / "notes.txt").write_text("keep me")
    return str(tmp / "notes.txt"), f"--out {str(tmp / 'notes.txt')!r} is a file, not a folder"


def _below_a_file(tmp):
    (tmp / "notes.txt").write_text("keep me")
    return (
        str(tmp / "notes.txt" / "new" / "results"),
        f"{os.strerror(errno.ENOTDIR)} ({str(tmp / 'notes.txt')!r} is a file); "
        "choose another --out",
    )


def _name_too_long(tmp):
    return (
        str(tmp / "new" / ("x" * 256)),
        f"{os.strerror(errno.ENAMETOOLONG)}; choose a shorter --out",
    )


def _path_too_long(tmp):
    return (
        str(tmp.joinpath(*["d" * 200] * 25)),
        f"{os.strerror(errno.ENAMETOOLONG)}; choose a shorter --out",
    )


def _where_folders_cannot_be_made(tmp):
    """/proc exists, yet refuses mkdir with ENOENT, for root too (issue 17, item 9)."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc here")
    return (
        "/proc/scratchlearn-results",
        f"{os.strerror(errno.ENOENT)} ('/proc' exists, but its file system does not allow "
        "creating folders in it); choose another --out",
    )


def _dangling_link(tmp):
    (tmp / "results").symlink_to(tmp / "gone")
    return (
        str(tmp / "results"),
        f"({str(tmp / 'results')!r} is a symbolic link to {str(tmp / 'gone')!r}, which does not "
        "exist); choose another --out",
    )


def _below_a_dangling_link(tmp):
    (tmp / "results").symlink_to(tmp / "gone")
    return (
        str(tmp / "results" / "new"),
        f"({str(tmp / 'results')!r} is a symbolic link to {str(tmp / 'gone')!r}",
    )


def _skip_unless_permissions_hold(tmp):
    """Root (CAP_DAC_OVERRIDE) may write anywhere: then there is no such case to test."""
    probe = tmp / "probe"
    probe.mkdir(mode=0o555)
    try:
        (probe / "file").touch()
    except PermissionError:
        return
    finally:
        probe.chmod(0o755)
        shutil.rmtree(probe)
    pytest.skip("permissions are not enforced for this user (root)")


def _below_a_folder_without_permission(tmp):
    _skip_unless_permissions_hold(tmp)
    (tmp / "locked").mkdir(mode=0o000)
    return (
        str(tmp / "locked" / "results"),
        f"{os.strerror(errno.EACCES)}; choose a folder you can write to with --out",
    )


def _unwritable(tmp):
    _skip_unless_permissions_hold(tmp)
    (tmp / "read-only").mkdir(mode=0o555)
    return (
        str(tmp / "read-only"),
        f"{os.strerror(errno.EACCES)}; choose a folder you can write to with --out",
    )


BAD_OUTS = [
    _empty,
    _file,
    _below_a_file,
    _name_too_long,
    _path_too_long,
    _where_folders_cannot_be_made,
    _dangling_link,
    _below_a_dangling_link,
    _below_a_folder_without_permission,  # skipped where root ignores permissions
    _unwritable,
]


@pytest.mark.parametrize("make", BAD_OUTS)
def test_bad_out_is_refused_in_one_line_before_computing(tmp_path, monkeypatch, capsys, make):
    monkeypatch.chdir(tmp_path)  # so an empty --out could only write here
    out, says = make(tmp_path)
    monkeypatch.setattr(cli, "run_tasks", not_called)
    before = tree(tmp_path)
    started = time.monotonic()
    status = cli.main(["run", "--out", out, "--quiet"])
    elapsed = time.monotonic() - started
    error = capsys.readouterr().err
    try:
        assert status == 2
        assert elapsed < 1.0
        assert error.startswith("scratchlearn: error: ") and says in error, error
        assert error.count("\n") == 1 and error.endswith("\n")
        assert tree(tmp_path) == before  # nothing created, nothing left behind
    finally:
        for folder in ("locked", "read-only"):
            if (tmp_path / folder).exists():
                (tmp_path / folder).chmod(0o755)


# Runs the CLI on a bad --out, then reports what it had imported by then.
_IMPORTS_PROBE = """
import sys
from scratchlearn.cli import main
status = main(["run", "--out", sys.argv[1]])
print(",".join(name for name in ("sklearn", "scipy", "matplotlib", "numba") if name in sys.modules))
sys.exit(status)
"""


@pytest.mark.parametrize("make", [_empty, _below_a_file, _name_too_long])
def test_bad_out_as_a_real_process(tmp_path, make):
    out, says = make(tmp_path)
    before = tree(tmp_path)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _IMPORTS_PROBE, out],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # Within a second: the answer comes before scikit-learn, SciPy, matplotlib or numba load
    # (about 1.3 s of imports here). A loose wall-time bound on top, for a loaded machine.
    assert result.stdout.strip() == ""
    assert elapsed < 10.0
    assert tree(tmp_path) == before


def test_save_models_writes_models_that_load_and_predict_the_same(tmp_path, monkeypatch, capsys):
    captured = {}
    real_run = task2.run

    def spy(config):
        results = real_run(config)
        captured.update(results)
        return results

    monkeypatch.setattr(task2, "run", spy)
    out = tmp_path / "results"
    assert cli.main(["run", "task2", "--out", str(out), "--quiet", "--save-models"]) == 0
    models = captured["models"]
    assert models
    folder = out / "task2" / "models"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.npz" for n in models)
    X = np.vstack([captured["data"]["X_test"], captured["data"]["X_train"]])
    for name, model in models.items():
        loaded = scratchlearn.load(folder / f"{name}.npz")
        assert type(loaded) is type(model)
        for method in ("predict", "decision_function", "predict_proba"):
            if hasattr(model, method):
                np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    # The report says where the models are and how to load one, with a path that works.
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "Saved models" in markdown
    paths = re.findall(r'`scratchlearn\.load\("([^"]+)"\)`', markdown)
    assert paths and all((out / path).is_file() for path in paths)
    assert "`task2/models/`" in markdown


# --- the report is built strictly ------------------------------------------------------------


def snapshot(out) -> dict[str, bytes]:
    """Every file a user reaches from ``out`` (through its links), and where ``latest`` points."""
    files = {}
    for entry in sorted(out.iterdir()):
        if entry.name.startswith(".") or entry.name in ("runs", "latest"):
            continue
        for path in sorted(entry.rglob("*")) if entry.is_dir() else [entry]:
            if path.is_file():
                files[path.relative_to(out).as_posix()] = path.read_bytes()
    return files | {"latest ->": os.readlink(out / "latest").encode()}


@pytest.mark.parametrize(
    "error, debug",
    [(TypeError("unsupported operand"), False), (KeyError("k5"), True)],
    ids=["TypeError", "KeyError-debug"],
)
def test_a_bug_in_report_code_fails_the_run_and_keeps_the_previous_results(
    tmp_path, monkeypatch, capsys, results_dir, task2_results, error, debug
):
    from scratchlearn import report
    from scratchlearn.experiments import TASKS
    from scratchlearn.plotting import FIGURES

    out = tmp_path / "results"
    shutil.copytree(results_dir, out, symlinks=True)  # a complete previous run of every task
    before = snapshot(out)
    assert {"task1/metrics.json", "task2/metrics.json", "report.html"} <= before.keys()

    def broken_section(*args, **kwargs):
        raise error

    monkeypatch.setitem(report.SECTIONS, "task2", broken_section)
    # The session's task2 results, without figures: only the report matters here.
    monkeypatch.setattr(TASKS["task2"], "run", lambda config: task2_results)
    monkeypatch.setitem(FIGURES, "task2", lambda results: {})
    args = ["run", "task2", "--out", str(out), "--quiet", *(["--debug"] if debug else [])]
    assert cli.main(args) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    message = lines[-1]
    assert message.startswith("scratchlearn: error: could not write the report: the task2 "
                              f"section failed: {type(error).__name__}: {error}")
    assert "rerun it: scratchlearn run task2" in message  # the way out
    assert f"no results were changed: {out} still holds the previous run" in message
    if debug:  # the traceback reaches into the section builder, then the same line
        assert "Traceback" in captured.err and "in broken_section" in captured.err
    else:
        assert len(lines) == 1 and message.endswith("(--debug shows where).")
    assert "wrote" not in captured.out
    # Nothing changed: the same files, the same generation, no half-written one left.
    assert snapshot(out) == before
    assert generations(out) == [os.readlink(out / "latest").split("/")[-1]]
    assert [p.name for p in out.glob(".*")] == [".lock"]
    for page in ("report.html", "report.md"):
        assert "could not be built" not in (out / page).read_text(encoding="utf-8")


# --- signals -----------------------------------------------------------------------------------


def _sentinel_int(signum, frame):  # handlers a host program had installed
    pass


def _sentinel_term(signum, frame):
    pass


def test_the_program_returns_with_sigint_and_sigterm_ignored(tmp_path, monkeypatch, capsys):
    # As the program (main() reads sys.argv) the run is over when main returns: a signal
    # while Python exits must neither print a traceback nor kill the finished run.
    monkeypatch.setattr(cli, "run_tasks", lambda *args, **kwargs: [])
    monkeypatch.setattr(sys, "argv", ["scratchlearn", "run", "--out", str(tmp_path), "--quiet"])
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert cli.main() == 0
        gc.collect()  # nothing main left behind may give the handlers back later
        found = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    capsys.readouterr()
    assert found == {signal.SIGINT: signal.SIG_IGN, signal.SIGTERM: signal.SIG_IGN}


@pytest.mark.parametrize("outcome", ["done", "refused", "failed"])
def test_main_with_argv_restores_the_signal_handlers_it_found(
    tmp_path, monkeypatch, capsys, outcome
):
    # main(argv) is what a host program calls: it must give back SIGINT and SIGTERM as it
    # found them, however the run ends (main(None), the program, leaves them ignored).
    during = {}

    def no_tasks(tasks, results, *, quiet=False, seconds=None, save_models=False):
        during.update({s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)})
        if outcome == "failed":
            raise RuntimeError("boom")
        return []

    real_close = ResultsFolder.close

    def close(self):
        during["close"] = signal.getsignal(signal.SIGINT)  # a second Ctrl-C must wait
        real_close(self)

    monkeypatch.setattr(cli, "run_tasks", no_tasks)
    monkeypatch.setattr(ResultsFolder, "close", close)
    out = "" if outcome == "refused" else str(tmp_path / "out")
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, _sentinel_int)
        signal.signal(signal.SIGTERM, _sentinel_term)
        status = cli.main(["run", "--out", out, "--quiet"])
        found = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
    capsys.readouterr()
    assert status == {"done": 0, "refused": 2, "failed": 1}[outcome]
    assert found == {signal.SIGINT: _sentinel_int, signal.SIGTERM: _sentinel_term}
    if outcome != "refused":  # while it ran, SIGTERM unwound like Ctrl-C
        assert during[signal.SIGTERM] is not _sentinel_term
        assert during["close"] == signal.SIG_IGN
