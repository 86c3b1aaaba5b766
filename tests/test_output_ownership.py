"""``--out`` belongs to the user: a run changes only what it can prove it made (issue 17).

The rules are in ``scratchlearn._output``'s docstring. Here: foreign trees, with random names
and the names of old leftovers, survive complete, failed and interrupted runs byte for byte;
foreign content under a name the layout needs is refused before computing; a run's own
leftovers are removed and their look-alikes are not; and the generation is fsync'ed before
the switch, the folder after it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import _fake_tasks as fake_tasks
import pytest

from scratchlearn import cli, report
from scratchlearn._output import ResultsFolder
from scratchlearn._output._proofs import generation_signature, layout_names, temp_link


@pytest.fixture
def fakes(monkeypatch):
    fake_tasks.install(monkeypatch, figures=False)


def run(capsys, *args: str) -> tuple[int, str]:
    status = cli.main(["run", *args, "--quiet"])
    return status, capsys.readouterr().err


def not_called(*args, **kwargs):
    raise AssertionError("the run started computing despite a foreign entry in --out")


# --- snapshots --------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root``: its type, permissions and bytes, or a link's target."""
    found = {}
    for folder, dirs, files in os.walk(root):  # links to folders are listed, not followed
        for name in dirs + files:
            path = Path(folder, name)
            info = os.lstat(path)
            rel = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                found[rel] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
            else:  # folders, FIFOs: type and permissions
                found[rel] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode))
    return found


LAYOUT = {"report.html", "report.md", "explorer.html", "plotly.min.js", "task1", "task2", "task3"}


def theirs(out: Path) -> dict[str, tuple]:
    """The snapshot of ``out`` without what a finished run of ours consists of: ``.lock``,
    ``latest``, ``runs/`` with its marker and the current generation, and the layout's links."""
    current = os.readlink(out / "latest").split("/")[-1]
    ours = {".lock", "latest", "runs", "runs/.scratchlearn-runs"}
    names = LAYOUT | {"fake_a", "fake_b"}
    return {
        rel: entry
        for rel, entry in snapshot(out).items()
        if rel not in ours
        and not (rel == f"runs/{current}" or rel.startswith(f"runs/{current}/"))
        and not (rel in names and entry == ("link", f"latest/{rel}"))
    }


def generations(out: Path) -> list[str]:
    """The folders in ``out/runs`` that a run made: their marker file names them."""
    found = []
    for entry in (out / "runs").iterdir():
        marker = entry / ".scratchlearn-generation"
        if not entry.is_symlink() and marker.is_file():
            if marker.read_bytes().split(b"\n")[1].decode() == entry.name:
                found.append(entry.name)
    return sorted(found)


# --- foreign trees ----------------------------------------------------------------------------

NAME_CHARS = "abcxyzABC0189._-+ ~é"
# Names like those today's main tidied or migrated (issue 17, item 1), and our own prefix.
LOOKALIKES = [
    ".backup-old-2023",
    ".report.html-abc",
    ".report.md-x1",
    ".task1-staging-x",
    ".fake_a-old-123",
    ".scratchlearn-tmp-99-latest",
    ".scratchlearn-tmp-",
    "20200101T000000.000000Z-1",
    ".20200101T000000.000000Z-1.partial",
]


def random_name(rng: random.Random, avoid: set[str]) -> str:
    while True:
        if rng.random() < 0.3:
            name = rng.choice(LOOKALIKES) + rng.choice(["", "", "-2", "x"])
        else:
            name = "".join(rng.choices(NAME_CHARS, k=rng.randint(1, 14)))
            name = ("." if rng.random() < 0.3 else "") + name
        if name not in avoid and name not in (".", "..") and "/" not in name:
            return name


def plant(rng: random.Random, folder: Path, avoid: set[str], depth: int = 0) -> None:
    """A random foreign tree in ``folder``: files, folders, symbolic links and FIFOs.

    Folders are never empty and links never point where ours do with our names, so no entry
    meets the module's proof of ownership.
    """
    for _ in range(rng.randint(3, 6)):
        path = folder / random_name(rng, avoid | set(os.listdir(folder)))
        kind = rng.choice(["file", "file", "folder", "link", "fifo"] if depth < 2 else ["file"])
        if kind == "file":
            path.write_bytes(rng.randbytes(rng.randint(0, 64)))
            path.chmod(rng.choice([0o600, 0o644, 0o640]))
        elif kind == "folder":
            path.mkdir()
            (path / "kept").write_bytes(rng.randbytes(8))
            plant(rng, path, set(), depth + 1)
        elif kind == "link":
            target = rng.choice(["../elsewhere", "latest/nothing", "runs", "x", "/tmp"])
            path.symlink_to(target)
        else:
            os.mkfifo(path)


TOP_AVOID = LAYOUT | {"fake_a", "fake_b", "latest", "runs", ".lock"}


def issue_examples(out: Path) -> None:
    """The issue's own examples, besides the random names."""
    for rel, data in [
        (".backup-old-2023/f", b"x\n"),
        ("mine/metrics.json", b"{}\n"),
        (".report.html-abc", b"<html"),
        (".task1-staging-x/g", b"y\n"),
    ]:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_foreign_trees_survive_complete_failed_and_interrupted_runs(
    tmp_path, monkeypatch, capsys, fakes, seed
):
    rng = random.Random(seed)
    out = tmp_path / "out"
    out.mkdir()
    issue_examples(out)
    plant(rng, out, TOP_AVOID)
    before = snapshot(out)

    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    assert theirs(out) == before
    # User files inside the runs/ folder that is now ours, with names like ours.
    (out / "runs" / "exp1").mkdir()
    (out / "runs" / "exp1" / "data.csv").write_bytes(b"x\n")
    (out / "runs" / "notes.txt").write_bytes(b"mine")
    forged = out / "runs" / "20200101T000000.000000Z-7"  # its marker names another folder
    forged.mkdir()
    (forged / ".scratchlearn-generation").write_bytes(b"scratchlearn generation 1\nother\n")
    (out / "runs" / "20200101T000000.000000Z-8").symlink_to(generations(out)[0])  # ours, linked
    plant(rng, out / "runs", set())
    before = theirs(out)

    # Complete: fake_b is new, fake_a is carried over.
    assert run(capsys, "fake_b", "--out", str(out)) == (0, "")
    assert theirs(out) == before
    # Interrupted while the report is written (Ctrl-C), then failed on a disk error.
    with monkeypatch.context() as patch:
        patch.setattr(report, "write_report", _raises(KeyboardInterrupt()))
        status, err = run(capsys, "fake_a", "--out", str(out))
    assert status == 130 and "no results were changed" in err
    assert theirs(out) == before
    with monkeypatch.context() as patch:
        patch.setattr(os, "fsync", _raises(OSError(errno.EIO, os.strerror(errno.EIO))))
        status, err = run(capsys, "fake_a", "--out", str(out))
    assert status == 1 and "no results were changed" in err
    assert theirs(out) == before
    assert run(capsys, "fake_a", "fake_b", "--out", str(out)) == (0, "")
    assert theirs(out) == before
    assert len(generations(out)) == 1


def _raises(error: BaseException):
    def raiser(*args, **kwargs):
        raise error

    return raiser


def test_a_run_interrupted_by_sigint_leaves_foreign_files_as_they_were(tmp_path, capsys, fakes):
    # The issue's example: before this fix, the interrupted run had already deleted
    # runs/exp1 and .backup-old-2023 and turned mine/ into a link, yet said "no results
    # were changed".
    out = tmp_path / "out"
    out.mkdir()
    issue_examples(out)
    plant(random.Random(3), out, TOP_AVOID)
    assert run(capsys, "fake_b", "--out", str(out)) == (0, "")
    (out / "runs" / "exp1").mkdir()
    (out / "runs" / "exp1" / "data.csv").write_bytes(b"x\n")
    before, layout = theirs(out), snapshot(out)

    # A run in its own process, whose task fake_a computes until it is interrupted.
    started = tmp_path / "started"
    started.mkdir()
    process = subprocess.Popen(
        [sys.executable, fake_tasks.__file__, "120", started, "run", "fake_a", "--out", out,
         "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    computing = started / str(process.pid)
    while not computing.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the run went on after SIGINT: {process.communicate()}")
    assert process.returncode == 130, stderr
    assert stderr.startswith("scratchlearn: interrupted; no results were changed"), stderr
    assert theirs(out) == before
    del layout[".lock"]  # which now names the interrupted run
    assert {rel: e for rel, e in snapshot(out).items() if rel != ".lock"} == layout


# --- foreign content under a name the layout needs --------------------------------------------


def _file(path: Path) -> None:
    path.write_bytes(b"1234\n")  # also the lock file of scratchlearn before issue 17


def _folder(path: Path) -> None:
    (path / "exp1").mkdir(parents=True)
    (path / "exp1" / "data.csv").write_bytes(b"x\n")
    (path / "metrics.json").write_bytes(b"{}\n")  # a task folder of the layout before runs/


def _link(path: Path) -> None:
    path.symlink_to("latest/elsewhere")  # a link, but not with our target


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _empty_file(path: Path) -> None:
    path.write_bytes(b"")


def _wrong_marker(path: Path) -> None:
    path.mkdir()
    (path / ".scratchlearn-runs").write_bytes(b"scratchlearn runs 2\n")


NEEDED = [".lock", "runs", "latest", *sorted(LAYOUT), "fake_a"]
CASES = [(name, make) for name in NEEDED for make in (_file, _folder, _link, _fifo)]
CASES += [(".lock", _empty_file), ("runs", _wrong_marker)]


@pytest.fixture(scope="module")
def owned_layout(tmp_path_factory):
    """A folder as a complete run of fake_a leaves it (read-only: copy it)."""
    out = tmp_path_factory.mktemp("owned") / "out"
    with pytest.MonkeyPatch.context() as patch:
        fake_tasks.install(patch, figures=False)
        assert cli.main(["run", "fake_a", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("state", ["new", "owned"])
@pytest.mark.parametrize("name, make", CASES, ids=[f"{n}-{m.__name__[1:]}" for n, m in CASES])
def test_foreign_content_under_a_needed_name_is_refused_before_computing(
    tmp_path, monkeypatch, capsys, fakes, owned_layout, name, make, state
):
    out = tmp_path / "out"
    if state == "owned":
        shutil.copytree(owned_layout, out, symlinks=True)
        target = out / name
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
    else:
        out.mkdir()
    make(out / name)
    before = snapshot(out)
    monkeypatch.setattr(cli, "run_tasks", not_called)
    status, err = run(capsys, "fake_a", "--out", str(out))
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("scratchlearn: error: "), err
    assert repr(str(out / name)) in err and "move it away or choose another --out" in err
    assert f"--out {str(out)!r}" in err  # as typed
    assert snapshot(out) == before  # nothing changed, nothing created


def test_foreign_content_that_appears_during_a_run_is_kept_and_the_run_fails(
    tmp_path, monkeypatch, capsys, fakes
):
    # Another program makes `latest` while the run computes, after the checks passed.
    out = tmp_path / "out"

    def report_while_latest_appears(generation, **kwargs):
        (out / "latest").write_bytes(b"theirs")

    monkeypatch.setattr(report, "write_report", report_while_latest_appears)
    status, err = run(capsys, "fake_a", "--out", str(out))
    assert status == 1 and len(err.splitlines()) == 1, err
    assert os.strerror(errno.EEXIST) in err and str(out / "latest") in err, err
    assert "no results were written" in err
    assert (out / "latest").read_bytes() == b"theirs"
    assert generations(out) == []


def test_closing_twice_removes_the_unfinished_generation_and_unlocks(tmp_path, fakes):
    out = tmp_path / "out"
    folder = ResultsFolder.open(str(out), ["fake_a"])
    folder.write_task("fake_a", {"run": 1}, {})
    folder.close()
    folder.close()  # idempotent: as a finally clause and __exit__ may both call it
    assert os.listdir(out / "runs") == [".scratchlearn-runs"]
    ResultsFolder.open(str(out), ["fake_a"]).close()  # not busy: the lock was released


def test_marker_files_are_not_executable(tmp_path, capsys, fakes):
    out = tmp_path / "out"
    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    markers = [out / "runs" / ".scratchlearn-runs", out / "latest" / ".scratchlearn-generation"]
    for marker in markers:
        assert stat.S_IMODE(marker.stat().st_mode) & 0o111 == 0, marker


def test_an_empty_runs_folder_is_taken_over(tmp_path, capsys, fakes):
    out = tmp_path / "out"
    (out / "runs").mkdir(parents=True)
    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    assert len(generations(out)) == 1 and (out / "fake_a" / "metrics.json").is_file()


def test_every_name_the_layout_makes_is_checked(tmp_path, capsys, fakes):
    # What the writers actually put in a generation (tasks, report, explorer) is linked at
    # the top under a name that the checks cover, and nothing else appears there.
    out = tmp_path / "out"
    assert run(capsys, "fake_a", "fake_b", "--out", str(out)) == (0, "")
    generation = out / "latest"
    made = {name for name in os.listdir(generation) if not name.startswith(".")}
    assert made >= {"fake_a", "fake_b", "report.html", "report.md", "explorer.html"}
    assert made <= LAYOUT | {"fake_a", "fake_b"}
    assert layout_names(["fake_a"]) >= made
    top = set(os.listdir(out))
    assert top == made | {"latest", "runs", ".lock"}
    assert all(os.readlink(out / name) == f"latest/{name}" for name in made)


# --- our leftovers go, their look-alikes stay -------------------------------------------------


def test_a_killed_runs_leftovers_are_removed_and_look_alikes_are_not(tmp_path, capsys, fakes):
    out = tmp_path / "out"
    runs = out / "runs"
    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    # A run killed (SIGKILL) while writing: its staging generation, the link of a task new
    # there (dangling) and a temporary link stay behind; its lock goes with the process.
    killed = ResultsFolder.open(str(out), ["fake_b"])
    killed.write_task("fake_b", {"run": 1}, {})
    staging = killed.staging()
    killed._ensure_link("fake_b")
    tmp = temp_link(out, f"runs/{staging.name}")
    os.close(killed._lock_fd)
    killed._lock_fd = None
    empty = runs / ".20200101T000000.000000Z-5.partial"  # killed before it wrote its marker
    empty.mkdir()
    # Killed between creating its marker and writing it (empty), or midway through writing.
    cut = [runs / ".20200101T000000.000000Z-7.partial", runs / "20200101T000000.000000Z-8"]
    for folder, length in zip(cut, (0, 30), strict=True):
        folder.mkdir()
        signature = generation_signature(folder.name.removeprefix(".").removesuffix(".partial"))
        (folder / ".scratchlearn-generation").write_bytes(signature[:length])
    ours = [staging, out / "fake_b", tmp, empty, *cut]
    # Look-alikes: names or targets like ours, without our proof.
    (out / ".scratchlearn-tmp-1-latest").write_bytes(b"a file, not a link")
    (out / ".scratchlearn-tmp-2-latest").symlink_to("elsewhere")
    (out / "notes").symlink_to("latest/notes")  # not a name of the layout
    (runs / ".20200101T000000.000000Z-6.partial").mkdir()  # no marker, not empty
    (runs / ".20200101T000000.000000Z-6.partial" / "keep").write_bytes(b"k")
    (runs / "20200101T000000.000000Z-9" / ".scratchlearn-generation").mkdir(parents=True)
    # A marker that is no start of the signature its folder's name calls for, or not alone.
    for name, data in (("20200101T000000.000000Z-10", b"scratchlearn generation 1\nother"),
                       (".20200101T000000.000000Z-11.partial", b"")):
        (runs / name).mkdir()
        (runs / name / ".scratchlearn-generation").write_bytes(data)
    (runs / ".20200101T000000.000000Z-11.partial" / "keep").write_bytes(b"k")
    before = theirs(out)
    assert all(os.path.lexists(path) for path in ours)
    ours_rel = {path.relative_to(out).as_posix() for path in ours}

    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    assert not any(os.path.lexists(path) for path in ours)
    assert theirs(out) == {
        rel: entry
        for rel, entry in before.items()
        if not any(rel == path or rel.startswith(f"{path}/") for path in ours_rel)
    }


# --- durability: what a power cut keeps -------------------------------------------------------


def record_syncs(monkeypatch) -> list[tuple[str, str]]:
    """Record each fsync (the path of its descriptor), each rename and each removal (of a
    file or an empty folder, once done), in order."""
    log: list[tuple[str, str]] = []
    real = {name: getattr(os, name) for name in ("fsync", "rename", "replace", "unlink", "rmdir")}

    def fsync(fd):
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real["fsync"](fd)

    def renamer(name):
        def rename(src, dst, *args, **kwargs):
            log.append((name, f"{os.fspath(src)} -> {os.fspath(dst)}"))
            return real[name](src, dst, *args, **kwargs)

        return rename

    def remover(name):
        def remove(path, *args, dir_fd=None, **kwargs):
            folder = os.readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else ""
            real[name](path, *args, dir_fd=dir_fd, **kwargs)
            log.append(("remove", os.path.join(folder, os.fspath(path))))  # once it is gone

        return remove

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", renamer("rename"))
    monkeypatch.setattr(os, "replace", renamer("replace"))
    monkeypatch.setattr(os, "unlink", remover("unlink"))
    monkeypatch.setattr(os, "rmdir", remover("rmdir"))
    return log


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name descriptors")
@pytest.mark.parametrize("first", [True, False], ids=["new-folder", "rerun"])
def test_the_generation_is_synced_before_the_switch_and_the_folder_after(
    tmp_path, monkeypatch, capsys, fakes, first
):
    out = (tmp_path / "out").resolve()
    if not first:
        assert run(capsys, "fake_a", "fake_b", "--out", str(out)) == (0, "")
    old = generations(out) if not first else []
    log = record_syncs(monkeypatch)
    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    monkeypatch.undo()

    gen = out / "latest"
    final = gen.resolve()
    staging = final.parent / f".{final.name}.partial"
    synced = [path for op, path in log if op == "fsync"]
    steps = [op + " " + path for op, path in log]
    move = steps.index(f"rename {staging} -> {final}")
    switch = next(
        i for i, s in enumerate(steps) if s.startswith("replace") and s.endswith(f"-> {out}/latest")
    )
    # Every file and folder of the generation (carried-over fake_b included), before the move.
    tree = [staging] + [staging / p.relative_to(final) for p in final.rglob("*")]
    for path in tree:
        assert f"fsync {path}" in steps[:move], path
    assert synced.count(str(final.parent)) == 1  # runs/: the move, once
    assert move < steps.index(f"fsync {final.parent}") < switch
    # The folder after the switch; and before it only when this run made entries in it
    # (runs/ and the links of a new folder), so that the switch cannot outlive them.
    assert f"fsync {out}" in steps[switch + 1 :]
    assert synced.count(str(out)) == (2 if first else 1)
    assert len(synced) == len(set(synced)) + (1 if first else 0)  # nothing else twice
    # Older generations go only once the switch is durable.
    last_sync = len(steps) - 1 - steps[::-1].index(f"fsync {out}")
    for name in old:
        removals = [i for i, step in enumerate(steps)
                    if step.startswith(f"remove {out / 'runs' / name}")]
        assert removals and min(removals) > last_sync, name


def test_syncing_needs_no_write_access(tmp_path, monkeypatch, capsys, fakes):
    # Results the user made read-only are carried over (hard links: the same read-only
    # files) and synced: each descriptor given to fsync is opened for reading only, which
    # a user (root aside) may do on a file they cannot write.
    out = tmp_path / "out"
    assert run(capsys, "fake_a", "fake_b", "--out", str(out)) == (0, "")
    for path in (out / "fake_b").iterdir():
        path.chmod(0o444)
    real, modes = os.fsync, []

    def fsync(fd):
        modes.append(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE)
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    assert len(modes) > 5 and set(modes) == {os.O_RDONLY}
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o444 for path in (out / "fake_b").iterdir())


def test_a_folder_that_cannot_be_synced_is_tolerated_a_file_is_not(
    tmp_path, monkeypatch, capsys, fakes
):
    # Some file systems answer EINVAL to fsync on a folder: nothing more can be done there.
    real = os.fsync

    def fsync(fd, folders=True):
        if stat.S_ISDIR(os.fstat(fd).st_mode) == folders:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real(fd)

    out = tmp_path / "out"
    monkeypatch.setattr(os, "fsync", fsync)
    assert run(capsys, "fake_a", "--out", str(out)) == (0, "")
    monkeypatch.setattr(os, "fsync", lambda fd: fsync(fd, folders=False))
    status, err = run(capsys, "fake_a", "--out", str(out))
    assert status == 1 and os.strerror(errno.EINVAL) in err and "no results were changed" in err
