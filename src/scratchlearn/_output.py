"""Writing a run's results so that the output folder is never half-written or mixed, and
nothing in it that scratchlearn did not make is ever changed.

Layout of an output folder ``DIR`` (``scratchlearn run --out DIR``)::

    DIR/report.html -> latest/report.html   the paths users open: fixed relative links,
    DIR/report.md   -> latest/report.md     made once, then left alone (also explorer.html
    DIR/task1       -> latest/task1         and plotly.min.js; one link per task with results)
    DIR/latest      -> runs/<generation>    the current generation
    DIR/runs/.scratchlearn-runs             marks runs/ as scratchlearn's
    DIR/runs/<UTC time>-<pid>/              a generation: every task folder and the report,
                                            and .scratchlearn-generation holding its name
    DIR/.lock                               locked (flock) by the run writing DIR; it holds
                                            a signature line, then that run's pid

**The guarantee.** At every instant, whatever stops the run (an error, SIGINT, SIGTERM,
SIGKILL), DIR holds for each task either its complete previous results or its complete new
ones, and ``report.html``/``report.md`` describe exactly the ``metrics.json`` files beside
them (each records the SHA-256 of every ``metrics.json`` it was built from). After a power
cut or an OS crash the same holds for what the disk kept: a generation's files and folders
are fsync'ed before it is made current, and DIR after, so ``latest`` never points at a
generation the disk has not fully kept, and a finished run survives.

**Ownership.** A run deletes, renames or replaces only what it can prove it made, never an
entry because of its name alone:

- ``runs/`` is ours when it holds ``.scratchlearn-runs`` with our signature (an empty
  ``runs/`` folder is taken over: it holds nothing to lose);
- a folder in an owned ``runs/`` is a generation of ours when its ``.scratchlearn-generation``
  file, written first when the folder is made, names it (``<name>``, or ``.<name>.partial``
  while it is written); an empty folder there with a generation's name is what a run killed
  between the two steps left, and is removed with ``rmdir`` (which removes empty folders only);
- a link in DIR is ours when it is a symbolic link with exactly our target: ``NAME ->
  latest/NAME`` for the layout's names, ``latest -> runs/<name>``, and temporary links
  ``.scratchlearn-tmp-* -> latest`` or ``-> runs/<name>``;
- ``.lock`` is ours when it is a regular file whose first line is our signature.

Everything else in DIR is never touched, files a user puts into an owned ``runs/`` included.
When a name the layout needs (``.lock``, ``runs``, ``latest``, the report files, the task
names) holds something else, the run is refused before computing anything
(:class:`OutputFolderError`: one line naming the path; the CLI's exit status 2). The layout
before generations (real ``task1/`` folders) is not migrated: it is refused the same way.

**How.** A run writes a complete new generation into a hidden staging folder
``runs/.<generation>.partial``: the tasks it ran, the tasks it did not run carried over from
the current generation (hard links, or copies where the file system has none), then the
report, built from exactly those files. It fsyncs them, renames the staging folder to
``runs/<generation>`` and makes it current in one atomic step: a new symlink, made under a
temporary name, is renamed over ``latest`` (``os.replace``, i.e. rename(2)). Every top-level
path resolves through ``latest``, so that one rename flips all tasks and the report at once.
The link of a task that has no results yet is made just before that rename: until it, the
link dangles, i.e. the task has no results, as the old report says.

**Leftovers.** Each run, under the lock and before computing anything, removes what killed
runs left, by the rules above (generations that are not current, temporary links, task links
that dangle); after its switch it removes the older generations, so a finished run leaves
exactly one.

**Concurrency.** A run takes an exclusive, non-blocking ``flock`` on ``DIR/.lock`` before it
computes anything; a second run into DIR gets :class:`FolderBusy` (the CLI's one-line "another
scratchlearn run is writing to DIR" and exit status 1) instead of failing half-way or mixing.
The lock goes with the process, however it ends; ``.lock`` itself is left in place.

**Not covered:** a reader who opens the report and, after a switch, its figures (they come
from the new run; resolve ``latest`` once for a fixed snapshot); file systems without
symlinks (refused before computing); a file system that acknowledges fsync without keeping
the data (some disks with volatile write caches, some network file systems).
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported when figures are written: --out is checked first
    from matplotlib.figure import Figure

LATEST = "latest"
RUNS = "runs"
LOCK = ".lock"
REPORTS = ("report.html", "report.md")
#: What the report writers put in a generation besides the task folders (``report`` and
#: ``report.explorer``); each gets a link in DIR.
TOP_FILES = (*REPORTS, "explorer.html", "plotly.min.js")
#: Prefix of the temporary links this module makes in DIR.
TMP_PREFIX = ".scratchlearn-tmp-"
#: Marks ``runs/`` as ours; its content is the signature.
RUNS_MARKER = ".scratchlearn-runs"
RUNS_SIGNATURE = b"scratchlearn runs 1\n"
#: Written first into each generation; names it.
GENERATION_MARKER = ".scratchlearn-generation"
GENERATION_HEADER = b"scratchlearn generation 1\n"  # then the generation's name
LOCK_SIGNATURE = b"scratchlearn lock 1\n"
_PARTIAL = ".partial"
_GENERATION_NAME = re.compile(r"\.?\d{8}T\d{6}\.\d{6}Z-\d+(?:\.partial)?")
_LATEST_TARGET = re.compile(re.escape(RUNS) + r"/([^/]+)")


def _jsonable(value):
    """``json`` hook for NumPy scalars and arrays."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def metrics_json(metrics: dict) -> str:
    """Deterministic JSON: sorted keys, fixed indentation, no NaN."""
    return json.dumps(metrics, default=_jsonable, indent=2, sort_keys=True, allow_nan=False) + "\n"


# --- small file-system helpers ---------------------------------------------------------------


def _lexists(path: Path) -> bool:
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


def _link_target(path: Path) -> str | None:
    """Where the symbolic link ``path`` points, or None if it is not a link."""
    try:
        return os.readlink(path)
    except OSError:
        return None


def _read_marker(path: Path) -> bytes | None:
    """The start of ``path`` if it is a regular file (links are not followed), else None."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        # O_NONBLOCK: a FIFO swapped in after the lstat must not block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, 256)
    finally:
        os.close(fd)


def _write_new(path: Path, data: bytes) -> None:
    """Create the file ``path`` holding ``data``; never replaces anything (O_EXCL)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _generation_signature(name: str) -> bytes:
    return GENERATION_HEADER + f"{name}\n".encode()


def _generation_of(folder: Path) -> str | None:
    """The generation ``folder`` holds, if it is ours: its marker names it (module docstring)."""
    marker = _read_marker(folder / GENERATION_MARKER)
    if marker is None or folder.is_symlink() or not marker.startswith(GENERATION_HEADER):
        return None
    name = marker[len(GENERATION_HEADER) :].decode("utf-8", "replace").removesuffix("\n")
    return name if folder.name in (name, f".{name}{_PARTIAL}") else None


def _owns_runs(runs: Path) -> bool:
    return not runs.is_symlink() and _read_marker(runs / RUNS_MARKER) == RUNS_SIGNATURE


def _is_empty_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and not os.listdir(path)
    except OSError:
        return False


def _temp_link(folder: Path, target: str) -> Path:
    """A new symbolic link to ``target`` in ``folder``, under an unused temporary name."""
    while True:
        tmp = folder / f"{TMP_PREFIX}{secrets.token_hex(6)}"
        try:
            os.symlink(target, tmp)
        except FileExistsError:  # never replace what is there
            continue
        return tmp


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` to ``dst`` (results are never changed in place); copy if we can't."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)


# --- durability: what a power cut keeps -------------------------------------------------------


def _fsync(path: Path | str, folder: bool = False) -> None:
    """Flush ``path``'s data (a file) or entries (a folder) to the disk."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if folder else 0))
    try:
        os.fsync(fd)
    except OSError as error:
        if not (folder and error.errno == errno.EINVAL):  # some file systems can't sync folders
            raise
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then every folder, deepest first, ``root`` last."""
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):  # a link's entry is its folder's, synced below
                _fsync(path)
        _fsync(folder, folder=True)


# --- one task folder -------------------------------------------------------------------------


def write_task_outputs(
    out_dir: Path,
    task: str,
    metrics: dict,
    figures: dict[str, Figure],
    texts: dict[str, str] | None = None,
    models: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``metrics.json``, one PNG per figure, the text files and, with ``models``, one
    ``models/<name>.npz`` per fitted estimator (:func:`scratchlearn.save`) to a new folder
    ``out_dir/task``.

    The folder must not exist (``FileExistsError``): it is written inside a run's own staging
    generation, which nobody reads until it is complete. On failure the folder is removed.
    Returns the task folder. Figures are closed once written.
    """
    import matplotlib.pyplot as plt

    folder = Path(out_dir) / task
    made = False
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
        made = True
        (folder / "metrics.json").write_text(metrics_json(metrics), encoding="utf-8")
        for name, text in (texts or {}).items():
            (folder / name).write_text(text, encoding="utf-8")
        for stem, figure in figures.items():
            # Fixed metadata so the same run gives the same bytes.
            figure.savefig(folder / f"{stem}.png", metadata={"Software": None})
            plt.close(figure)
        if models:
            from . import save  # the safe .npz format; imported late: it is optional here

            (folder / "models").mkdir()
            for name, estimator in models.items():
                save(estimator, folder / "models" / f"{name}.npz")
    except BaseException:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        for figure in figures.values():
            plt.close(figure)
        raise
    return folder


# --- the output folder -----------------------------------------------------------------------


class OutputFolderError(Exception):
    """``--out`` cannot be used; the message says why and what to do (CLI exit status 2)."""


class FolderBusy(Exception):
    """Another process holds the folder's lock (CLI exit status 1)."""

    def __init__(self, folder: Path, pid: int | None):
        self.folder, self.pid = folder, pid
        owner = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"another scratchlearn run is writing to {folder} ({owner}); "
            "wait for it or choose another --out"
        )


def advice(error: OSError) -> str:
    """What to do about a failed write, by its cause."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space or choose another --out"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "choose a folder you can write to with --out"
    if error.errno == errno.ENAMETOOLONG:
        return "choose a shorter --out"
    return "choose another --out"


def _cause(error: OSError) -> str:
    return error.strerror or str(error)


def _file_above(path: Path) -> Path | None:
    """The ancestor of ``path`` that exists and is not a folder, if any."""
    for parent in reversed(path.parents):
        try:
            if not parent.is_dir() and parent.exists():
                return parent
        except OSError:
            return None
    return None


def _why_missing(existing: Path) -> str:
    """Why a folder cannot be created in ``existing`` although it is there (ENOENT)."""
    target = _link_target(existing)
    if target is not None and not existing.exists():
        return f"{str(existing)!r} is a symbolic link to {target!r}, which does not exist"
    return f"{str(existing)!r} exists, but its file system does not allow creating folders in it"


def _make_folder(path: Path, raw: str) -> list[Path]:
    """Create ``path`` and missing parents; return what was created (deepest last)."""
    missing: list[Path] = []
    created: list[Path] = []
    probe = path
    try:
        while not _lexists(probe):
            missing.append(probe)
            if probe.parent == probe:
                break
            probe = probe.parent
        if not missing:  # it exists, yet stat found nothing: a link to a missing folder
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
        for folder in reversed(missing):
            os.mkdir(folder)
            created.append(folder)
    except OSError as error:
        for folder in reversed(created):  # leave nothing behind
            os.rmdir(folder)
        cause = _cause(error)
        if error.errno == errno.ENOTDIR:
            above = _file_above(path)
            cause += f" ({str(above)!r} is a file)" if above else ""
        elif error.errno == errno.ENOENT:  # e.g. under /proc, or below a dangling link
            cause += f" ({_why_missing(probe)})"
        raise OutputFolderError(f"cannot create --out {raw!r}: {cause}; {advice(error)}") from None
    return created


def _generation_name() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return f"{now:%Y%m%dT%H%M%S.%fZ}-{os.getpid()}"


def _kind(path: Path) -> str:
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a file" if stat.S_ISREG(mode) else "a special file"


def _foreign(raw: str, path: Path) -> OutputFolderError:
    return OutputFolderError(
        f"--out {raw!r} holds {_kind(path)} {str(path)!r} that scratchlearn did not make, "
        "under a name it needs for its results; move it away or choose another --out"
    )


def _lock_pid(record: bytes) -> int | None:
    lines = record.removeprefix(LOCK_SIGNATURE).split(b"\n")
    return int(lines[0]) if lines[0].isdigit() else None


def _take_lock(path: Path, raw: str) -> tuple[int, bool]:
    """Lock ``DIR/.lock`` (made here or ours); return its descriptor and whether it was made.

    Raises :class:`FolderBusy` when another run holds it, :class:`OutputFolderError` when
    ``.lock`` is not ours.
    """
    import fcntl

    lock = path / LOCK
    record = LOCK_SIGNATURE + f"{os.getpid()}\n".encode()
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        made = True
    except FileExistsError:
        made = False
        if not stat.S_ISREG(os.lstat(lock).st_mode):  # a folder, a link, a FIFO, a device, ...
            raise _foreign(raw, lock) from None
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if made:  # signed at once, so another run that opens it an instant later knows it
            os.write(fd, record)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(path, _lock_pid(os.pread(fd, 256, 0))) from None
        if not made:
            found = os.pread(fd, 256, 0)
            for _ in range(25):  # a run that created it an instant ago is about to sign it
                if found:
                    break
                time.sleep(0.01)
                found = os.pread(fd, 256, 0)
            if not found.startswith(LOCK_SIGNATURE):
                raise _foreign(raw, lock)
            os.pwrite(fd, record, 0)
            os.ftruncate(fd, len(record))
    except BaseException as error:
        os.close(fd)
        if made and not isinstance(error, FolderBusy):  # busy: the other run holds it now
            lock.unlink(missing_ok=True)
        raise
    return fd, made


class ResultsFolder:
    """An output folder (see the module docstring), locked for one run.

    Use :meth:`open`; then :meth:`write_task` for each task, :meth:`commit` once, and
    :meth:`close` in every case (it removes an uncommitted generation and unlocks).
    """

    def __init__(self, path: Path, lock_fd: int, tasks: Sequence[str] = ()):
        self.path = path
        self._lock_fd: int | None = lock_fd
        self._staging: Path | None = None
        self._name = _generation_name()
        self._names = _layout_names(tasks)
        self._dir_changed = False  # an entry made in DIR that no fsync of DIR has covered
        self.committed = False
        self.previous = self.current()

    # The lock and the checks, before anything is computed.

    @classmethod
    def open(cls, raw: str, tasks: Sequence[str] = ()) -> ResultsFolder:
        """Check ``--out`` (``raw`` as typed), create it, lock it, tidy it.

        Raises :class:`OutputFolderError` when the folder cannot be used or holds something
        not ours under a name the layout needs (nothing is changed), :class:`FolderBusy` when
        another run holds it, ``OSError`` when tidying fails.
        """
        if raw == "":
            raise OutputFolderError("--out is empty; give a folder, e.g. --out results")
        path = Path(raw)
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            mode = None
        except OSError as error:  # too long, no permission, below a file, a loop
            cause = _cause(error)
            if error.errno == errno.ENOTDIR and (above := _file_above(path)):
                cause += f" ({str(above)!r} is a file)"
            raise OutputFolderError(f"cannot use --out {raw!r}: {cause}; {advice(error)}") from None
        if mode is not None and not stat.S_ISDIR(mode):
            raise OutputFolderError(f"--out {raw!r} is a file, not a folder; choose another path")
        created = _make_folder(path, raw) if mode is None else []
        fd = made_lock = None
        try:
            # Creating the lock file is the probe that DIR can be written.
            fd, made_lock = _take_lock(path, raw)
            try:
                os.unlink(_temp_link(path, LATEST))
            except OSError as error:
                if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                raise OutputFolderError(
                    f"cannot use --out {raw!r}: its file system has no symbolic links "
                    f"({_cause(error)}); choose another --out"
                ) from None
            _check_names(path, raw, tasks)
        except BaseException as error:
            if fd is not None:
                os.close(fd)
                if made_lock:
                    (path / LOCK).unlink(missing_ok=True)
            for folder in reversed(created):
                shutil.rmtree(folder, ignore_errors=True)
            if isinstance(error, OSError):
                raise OutputFolderError(
                    f"cannot write to --out {raw!r}: {_cause(error)}; {advice(error)}"
                ) from None
            raise
        folder = cls(path, fd, tasks)
        try:
            folder._tidy()
            folder._own_runs()
        except BaseException:
            folder.close()
            raise
        return folder

    def close(self) -> None:
        """Remove this run's generation unless it is current, and unlock. Idempotent."""
        # Ask the disk, not ``committed``: a signal may land between the switch and the flag.
        if self._staging is not None and self.current() != self._name:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> ResultsFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # State, read from the disk (the truth after an interruption).

    def current(self) -> str | None:
        """Name of the current generation, or None."""
        match = _LATEST_TARGET.fullmatch(_link_target(self.path / LATEST) or "")
        if match is None or not _owns_runs(self.path / RUNS):
            return None
        name = match.group(1)
        return name if _generation_of(self.path / RUNS / name) == name else None

    @property
    def switched(self) -> bool:
        """Whether this run's generation is the current one."""
        return self.current() == self._name

    @property
    def generation(self) -> Path:
        """Where this run's generation lives once committed."""
        return self.path / RUNS / self._name

    # Writing.

    def staging(self) -> Path:
        """This run's generation while it is written (created on first use)."""
        if self._staging is None:
            staging = self.path / RUNS / f".{self._name}{_PARTIAL}"
            os.mkdir(staging)
            self._staging = staging  # close() removes it from here on
            _write_new(staging / GENERATION_MARKER, _generation_signature(self._name))
        return self._staging

    def write_task(
        self,
        task: str,
        metrics: dict,
        figures: dict[str, Figure],
        texts: dict[str, str] | None = None,
        models: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write one task into this run's generation; return the path users will open."""
        write_task_outputs(self.staging(), task, metrics, figures, texts, models)
        return self.path / task

    def commit(self, write_report: Callable[[Path], object]) -> Path:
        """Complete the generation (carry over the tasks not rerun, then ``write_report`` into
        it), make it durable, and make it current in one rename. Returns the generation."""
        staging = self.staging()
        current = self.current()
        if current is not None:
            for entry in sorted((self.path / RUNS / current).iterdir()):
                if entry.name in self._names and entry.is_dir() and not entry.is_symlink():
                    if not _lexists(staging / entry.name):
                        _carry(entry, staging / entry.name)
        write_report(staging)
        _fsync_tree(staging)  # before anything can point at it
        final = self.generation
        os.rename(staging, final)
        self._staging = final
        _fsync(final.parent, folder=True)  # the rename, and a new runs/'s marker
        for name in sorted(os.listdir(final)):
            if name in self._names:
                self._ensure_link(name)  # dangles until the switch for a task new here
        if self._dir_changed:  # runs/ or links made here must not be lost while latest is kept
            _fsync(self.path, folder=True)
        self._point_latest_at(final.name)  # the switch
        self.committed = True
        _fsync(self.path, folder=True)  # the switch survives a power cut from here on
        self._remove_generations(keep=final.name)
        return final

    def _own_runs(self) -> None:
        """Make ``runs/``, or mark the empty one found by the checks, as ours."""
        runs = self.path / RUNS
        if not _lexists(runs):
            os.mkdir(runs)
            self._dir_changed = True
        if not _owns_runs(runs):
            _write_new(runs / RUNS_MARKER, RUNS_SIGNATURE)  # O_EXCL: never over anything
            _fsync(runs / RUNS_MARKER)  # durable before any generation relies on it

    # Links.

    def _point_latest_at(self, name: str) -> None:
        latest = self.path / LATEST
        if _lexists(latest) and not _is_our_latest(latest):  # appeared since the check
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(latest))
        tmp = _temp_link(self.path, f"{RUNS}/{name}")
        try:
            os.replace(tmp, latest)  # atomic: readers see the old or the new target
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _ensure_link(self, name: str) -> None:
        """Make ``DIR/name`` the link ``latest/name``; never replaces anything."""
        link, target = self.path / name, f"{LATEST}/{name}"
        if _link_target(link) != target:
            os.symlink(target, link)  # FileExistsError if something appeared since the check
            self._dir_changed = True

    # Tidying, under the lock.

    def _tidy(self) -> None:
        """Remove what killed runs left, by the rules of the module docstring."""
        for entry in self.path.iterdir():
            target = _link_target(entry)
            if target is None:
                continue
            if entry.name.startswith(TMP_PREFIX):
                if target == LATEST or _LATEST_TARGET.fullmatch(target):
                    entry.unlink()
            elif entry.name in self._names and target == f"{LATEST}/{entry.name}":
                if not entry.exists():  # a task link made by a run killed before its switch
                    entry.unlink()
        self._remove_generations(keep=self.current())

    def _remove_generations(self, keep: str | None) -> None:
        runs = self.path / RUNS
        if not _owns_runs(runs):
            return
        for entry in runs.iterdir():
            try:
                if entry.name != keep and _generation_of(entry) is not None:
                    shutil.rmtree(entry)
                elif _GENERATION_NAME.fullmatch(entry.name):
                    os.rmdir(entry)  # if empty: made by a run killed before its marker
            except OSError:
                pass  # the next run tries again; the current generation is intact


def _layout_names(tasks: Sequence[str]) -> frozenset[str]:
    """The names the layout links at the top of DIR: report files and every task's."""
    from . import experiments  # read when called: tests add tasks

    return frozenset((*TOP_FILES, *experiments.TASK_NAMES, *tasks))


def _is_our_latest(latest: Path) -> bool:
    return _LATEST_TARGET.fullmatch(_link_target(latest) or "") is not None


def _check_names(path: Path, raw: str, tasks: Sequence[str]) -> None:
    """Refuse, before computing, anything not ours under a name the layout needs."""
    runs = path / RUNS
    if _lexists(runs) and not (_owns_runs(runs) or _is_empty_folder(runs)):
        raise _foreign(raw, runs)
    latest = path / LATEST
    if _lexists(latest) and not _is_our_latest(latest):
        raise _foreign(raw, latest)
    for name in sorted(_layout_names(tasks)):
        link = path / name
        if _lexists(link) and _link_target(link) != f"{LATEST}/{name}":
            raise _foreign(raw, link)
