"""The CLI is all or nothing: under kills, injected failures and a concurrent run.

The guarantee (``scratchlearn._output``): at every instant ``--out`` holds, for each task,
its complete previous or its complete new results, and ``report.html``/``report.md`` record
the SHA-256 of exactly the ``metrics.json`` files beside them. The checks read the files only.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import _fake_tasks as fake_tasks
import pytest
from matplotlib.figure import Figure

from scratchlearn import _output, cli

META_HTML = re.compile(
    r'<meta name="scratchlearn-metrics-([^"]+)" content="sha256:([0-9a-f]{64})">'
)
META_MD = re.compile(r"<!-- scratchlearn-metrics-(\S+) sha256:([0-9a-f]{64}) -->")


# --- the property, from the files alone -------------------------------------------------------


def files_in(folder: Path) -> set[str]:
    """Every file under ``folder`` (a task folder, possibly reached through a link)."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_guarantee(
    out: Path, expected: dict[str, set[str]], required: set[str] | frozenset = frozenset()
) -> dict[str, str]:
    """Assert the guarantee for ``out``; return {task: SHA-256 of its metrics.json}.

    ``expected``: each task's files, from a completed run; ``required``: tasks that had
    complete results before, so must still have them (old or new).
    """
    digests = {}
    for entry in sorted(out.iterdir()):
        if entry.name.startswith(".") or not (entry / "metrics.json").is_file():
            continue
        json.loads((entry / "metrics.json").read_text(encoding="utf-8"))  # complete JSON
        assert files_in(entry) == expected[entry.name], f"{entry.name} is incomplete"
        digests[entry.name] = sha256(entry / "metrics.json")
    assert required <= digests.keys(), f"results of {required - digests.keys()} went missing"
    if digests or (out / "report.html").exists():
        html = (out / "report.html").read_text(encoding="utf-8")
        markdown = (out / "report.md").read_text(encoding="utf-8")
        assert html.rstrip().endswith("</html>")  # not cut short
        assert dict(META_HTML.findall(html)) == digests, "report.html describes other metrics"
        assert dict(META_MD.findall(markdown)) == digests, "report.md describes other metrics"
    return digests


def latest_target(out: Path) -> str | None:
    try:
        return os.readlink(out / "latest")
    except OSError:
        return None


def leftovers(out: Path) -> list[str]:
    """Anything a finished run should have removed: hidden entries, other generations."""
    found = [e.name for e in out.iterdir() if e.name.startswith(".") and e.name != ".lock"]
    keep = {Path(latest_target(out) or "").name, _output.RUNS_MARKER}
    runs = out / "runs"
    found += [f"runs/{n}" for n in os.listdir(runs) if n not in keep] if runs.is_dir() else []
    return sorted(found)


def generations(out: Path) -> list[str]:
    runs = out / "runs"
    return sorted(n for n in os.listdir(runs) if not n.startswith(".")) if runs.is_dir() else []


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --- real processes, killed ------------------------------------------------------------------

# scratchlearn's program with the fake tasks (``_fake_tasks``): fake_a computes for this long,
# asleep, then its figure, report and switch are written as for any task.
PROGRAM = Path(__file__).with_name("_fake_tasks.py")
COMPUTING_SECONDS = 0.5


def start(out: Path, *tasks: str) -> subprocess.Popen:
    started = out.parent / "started"  # where each run notes that it is computing
    started.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, PROGRAM, str(COMPUTING_SECONDS), started, "run", *tasks,
         "--out", out, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(process: subprocess.Popen, condition, timeout: float = 120) -> bool:
    """Poll ``condition`` until it holds; False if ``process`` ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if condition():
                return True
        except OSError:
            pass
        time.sleep(0.003)
    return False


def wait_for_lock(process: subprocess.Popen, out: Path) -> bool:
    """Until ``process`` holds the folder's lock."""
    return wait_until(
        process, lambda: (out / ".lock").read_text().splitlines()[-1] == str(process.pid)
    )


def wait_for_computing(process: subprocess.Popen, out: Path) -> bool:
    """Until ``process`` computes its task (the folder is then checked, locked and tidied)."""
    return wait_until(process, lambda: (out.parent / "started" / str(process.pid)).exists())


def wait_for_writing(process: subprocess.Popen, out: Path) -> bool:
    """Until ``process`` has begun writing its new generation (its own: a generation's name
    ends with its run's pid; one that a killed run left may still be there)."""
    mine = f"-{process.pid}.partial"
    return wait_until(process, lambda: any(n.endswith(mine) for n in os.listdir(out / "runs")))


# Signal, and when: a fraction of the time from the start of the computation to the switch
# (computing and writing), or from the first file written to the switch (figure, report,
# links), as measured on a complete run; past 1, the clean-up after the switch. Each signal
# comes early and late; a SIGKILL as the writing begins surely leaves a generation for the
# next run to remove.
KILLS = [
    (signal.SIGKILL, "computing", 0.1),
    (signal.SIGTERM, "computing", 0.4),
    (signal.SIGINT, "writing", 0.0),
    (signal.SIGKILL, "writing", 0.0),
    (signal.SIGTERM, "writing", 0.5),
    (signal.SIGINT, "writing", 0.9),
    (signal.SIGKILL, "writing", 1.0),
]
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}


def test_killed_runs_leave_complete_results(tmp_path):
    out = tmp_path / "results"
    first = start(out, "fake_a")
    assert wait_for_computing(first, out)
    computing = time.monotonic()
    assert wait_for_writing(first, out)
    writing = time.monotonic()
    assert wait_until(first, lambda: (out / "latest").is_symlink())  # the switch
    switch = time.monotonic()
    spans = {"computing": switch - computing, "writing": switch - writing}
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    expected = {"fake_a": files_in(out / "fake_a")}  # what a complete fake_a folder holds
    assert {"metrics.json", "line.png"} <= expected["fake_a"]
    check_guarantee(out, expected, {"fake_a"})

    left_by_kills, outcomes = [], []
    for signum, anchor, fraction in KILLS:
        before = latest_target(out)
        process = start(out, "fake_a")
        wait = wait_for_computing if anchor == "computing" else wait_for_writing
        if wait(process, out):
            time.sleep(fraction * spans[anchor])
            process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=300)
        check_guarantee(out, expected, {"fake_a"})
        switched = latest_target(out) != before
        outcomes.append((signum.name, anchor, fraction, process.returncode, switched))
        assert "Traceback" not in stderr, stderr
        if "done in" in stdout:  # it finished before the signal
            assert switched and process.returncode in (0, STATUS[signum]), stderr
            continue
        assert process.returncode == STATUS[signum], stderr
        if signum != signal.SIGKILL:
            # One line from scratchlearn (a task's own warnings, if any, may come before it).
            ours = [line for line in stderr.splitlines() if line.startswith("scratchlearn:")]
            assert len(ours) == 1 and stderr.rstrip().endswith(ours[0]), stderr
            message = ours[0]
            word = "interrupted" if signum == signal.SIGINT else "terminated"
            assert message.startswith(f"scratchlearn: {word}; ")
            if switched:
                assert f"this run's results are complete: {out} holds them" in message
            else:
                assert f"no results were changed: {out} still holds the previous run" in message
            # The handler ran the clean-up: no half-written generation is left.
            assert not [n for n in os.listdir(out / "runs") if n.endswith(".partial")]
        left_by_kills += leftovers(out)
    # The instants were spread: some runs were stopped before the switch, and SIGKILL left
    # something for the next run to clean (else this test would not test the clean-up).
    assert any(not switched for *_, switched in outcomes), outcomes
    assert left_by_kills, outcomes

    final = start(out, "fake_a")
    _, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stderr
    check_guarantee(out, expected, {"fake_a"})
    assert leftovers(out) == []
    assert len(generations(out)) == 1


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, capsys, fakes):
    out = tmp_path / "results"
    first = start(out, "fake_a")
    assert wait_for_lock(first, out)
    # The second run in this process: it starts in milliseconds, so it surely meets the first.
    status, stderr = run_main(capsys, "fake_a", "--out", str(out))
    still_running = first.poll() is None
    assert status == 1
    message = one_line(stderr)
    assert message.startswith("scratchlearn: error: another scratchlearn run is writing to")
    assert f"{out} (pid {first.pid})" in message  # where, and which process
    assert "wait for it or choose another --out" in message
    assert still_running, "the first run ended before the second was refused"
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    check_guarantee(out, {"fake_a": files_in(out / "fake_a")}, {"fake_a"})
    assert leftovers(out) == []


# --- in process: a failure injected at each step ---------------------------------------------


@pytest.fixture
def fakes(monkeypatch):
    fake_tasks.install(monkeypatch)


class Faults:
    """Counts the file-system steps of a run; raises ``error`` at step number ``at``: instead
    of the step, or, ``after`` it, as a signal that lands as the step returns."""

    STEPS = (
        (os, "replace"),
        (os, "rename"),
        (os, "symlink"),
        (os, "link"),
        (os, "mkdir"),
        (os, "fsync"),
        (os, "unlink"),
        (os, "rmdir"),
        (Path, "write_text"),
        (Figure, "savefig"),
    )

    def __init__(self, monkeypatch, at: int | None = None, error: BaseException | None = None,
                 after: bool = False):
        self.count, self.at, self.error, self.after, self.fired = 0, at, error, after, None
        for owner, name in self.STEPS:
            monkeypatch.setattr(owner, name, self._wrap(getattr(owner, name), name))

    def _wrap(self, real, name):
        def step(*args, **kwargs):
            self.count += 1
            if self.count != self.at:
                return real(*args, **kwargs)
            self.fired = name
            if self.after:
                try:
                    real(*args, **kwargs)
                except OSError:
                    pass  # the signal lands before the caller sees the step fail
            raise self.error

        return step


def run_main(capsys, *args: str) -> tuple[int, str]:
    try:
        status = cli.main(["run", *args, "--quiet"])
    except KeyboardInterrupt:  # must never escape main (it would end the test session)
        pytest.fail("KeyboardInterrupt escaped cli.main")
    return status, capsys.readouterr().err


def new_layout(out: Path) -> None:
    assert cli.main(["run", "fake_a", "fake_b", "--out", str(out), "--quiet"]) == 0


def test_a_failure_at_any_step_keeps_the_guarantee(tmp_path, monkeypatch, capsys, fakes):
    start_state = tmp_path / "start"
    new_layout(start_state)
    capsys.readouterr()

    def fresh() -> Path:
        folder = tmp_path / "out"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(start_state, folder, symlinks=True)
        return folder

    out = fresh()
    with monkeypatch.context() as patch:  # a run without failure: how many steps it takes
        counter = Faults(patch)
        status, _ = run_main(capsys, "fake_a", "--out", str(out))
    assert status == 0
    expected = {name: files_in(out / name) for name in ("fake_a", "fake_b")}
    assert counter.count > 10

    # A failing step, and Ctrl-C before a step or as it returns (before the code that
    # follows it has noted what it made).
    errors = [(OSError(errno.EIO, os.strerror(errno.EIO)), False), (KeyboardInterrupt(), False),
              (KeyboardInterrupt(), True)]
    harmless = 0
    for at, (error, after) in itertools.product(range(1, counter.count + 1), errors):
        out = fresh()
        before = {name: sha256(out / name / "metrics.json") for name in expected}
        with monkeypatch.context() as patch:
            faults = Faults(patch, at, error, after)
            status, stderr = run_main(capsys, "fake_a", "--out", str(out))
        when = "after" if after else "at"
        where = f"{when} step {at} ({faults.fired}), {error!r}: exit {status}, {stderr!r}"
        assert faults.fired, where
        after = check_guarantee(out, expected, set(before))
        assert after["fake_b"] == before["fake_b"], where  # carried over, never touched
        switched = after["fake_a"] != before["fake_a"]
        if status == 0:  # a tolerated failure: mkdir(exist_ok=True), a hard link (then a copy)
            assert switched and not stderr and isinstance(error, OSError), where
            harmless += 1
        else:
            message = one_line(stderr)
            if isinstance(error, KeyboardInterrupt):
                assert status == 130, where
                assert message.startswith("scratchlearn: interrupted; "), where
            else:
                assert status in (1, 2), where
                assert os.strerror(errno.EIO) in message, where
                assert "free some space" not in message, where
            if switched:
                assert f"this run's results are complete: {out} holds them" in message, where
            elif status != 2:  # 2: refused before anything was computed
                assert "no results were changed" in message, where
        if not switched:  # the failed run removed its own generation
            current = [Path(latest_target(out)).name] if latest_target(out) else []
            assert generations(out) == current, where
        # and left nothing half-written
        assert not [n for n in os.listdir(out / "runs") if n.endswith(".partial")], where

        # The next run cleans up whatever the failed one left.
        status, stderr = run_main(capsys, "fake_a", "--out", str(out))
        assert status == 0, (where, stderr)
        check_guarantee(out, expected, set(before))
        assert leftovers(out) == [], where
        assert all((out / name).is_symlink() for name in (*expected, "report.html", "report.md"))
    assert harmless < counter.count // 2  # most steps matter, and their failure was seen


# --- a write error names its cause ------------------------------------------------------------


def test_an_error_while_preparing_the_folder_names_its_cause(tmp_path, monkeypatch, capsys,
                                                            fakes):
    out = tmp_path / "results"
    out.mkdir()

    def fails(path, *args, **kwargs):  # making runs/, after the checks passed
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(os, "mkdir", fails)
    status, stderr = run_main(capsys, "fake_a", "--out", str(out))
    message = one_line(stderr)
    assert status == 1
    assert message.startswith(f"scratchlearn: error: could not prepare {out}: "
                              f"{os.strerror(errno.ENOSPC)}; ")
    assert "no results were changed" in message and "free some space" in message
    assert os.listdir(out) == [".lock"]


@pytest.mark.parametrize(
    "code, advice",
    [
        (errno.EROFS, "choose a folder you can write to with --out"),
        (errno.ENOSPC, "free some space or choose another --out"),
        (errno.EIO, "choose another --out"),
    ],
)
def test_a_write_error_names_its_cause(tmp_path, monkeypatch, capsys, fakes, code, advice):
    out = tmp_path / "results"
    new_layout(out)
    expected = {name: files_in(out / name) for name in ("fake_a", "fake_b")}
    before = check_guarantee(out, expected)

    def fails(self, path, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(Figure, "savefig", fails)
    status, stderr = run_main(capsys, "fake_a", "--out", str(out))
    message = one_line(stderr)
    assert status == 1
    assert message.startswith(f"scratchlearn: error: could not write results: {os.strerror(code)}")
    assert message.endswith(f"; {advice}.")
    assert ("free some space" in message) == (code == errno.ENOSPC)
    assert f"no results were changed: {out} still holds the previous run" in message
    assert check_guarantee(out, expected) == before
    assert leftovers(out) == []
