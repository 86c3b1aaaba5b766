"""Writing a run's results so that the output folder is never half-written or mixed.

Layout of an output folder ``DIR`` (``scratchlearn run --out DIR``)::

    DIR/report.html -> latest/report.html   the paths users open: fixed relative links,
    DIR/report.md   -> latest/report.md     made once, then left alone
    DIR/task1       -> latest/task1         (one per task that has results)
    DIR/latest      -> runs/<generation>    the current generation
    DIR/runs/<UTC time>-<pid>/              a generation: every task folder and the report
    DIR/.lock                               locked (flock) by the run writing DIR; its pid

**The guarantee.** At every instant, whatever stops the run (an error, SIGINT, SIGTERM,
SIGKILL), DIR holds for each task either its complete previous results or its complete new
ones, and ``report.html``/``report.md`` describe exactly the ``metrics.json`` files beside
them (each records the SHA-256 of every ``metrics.json`` it was built from).

**How.** A run writes a complete new generation into a hidden staging folder
``runs/.<generation>.partial``: the tasks it ran, the tasks it did not run carried over from
the current generation (hard links, or copies where the file system has none), then the
report, built from exactly those files. It renames the staging folder to
``runs/<generation>`` and makes it current in one atomic step: a new symlink, made under a
temporary name, is renamed over ``latest`` (``os.replace``, i.e. rename(2)). Every top-level
path resolves through ``latest``, so that one rename flips all tasks and the report at once.
The link of a task that has no results yet is made just before that rename: until it, the
link dangles, i.e. the task has no results, as the old report says.

**Leftovers.** Each run, under the lock and before computing anything, removes what killed
runs left (staging generations, generations that are not current, temporary links, the old
layout's ``.taskN-staging-*``/``.taskN-old-*`` folders); after its switch it removes the
older generations, so a finished run leaves exactly one.

**Concurrency.** A run takes an exclusive, non-blocking ``flock`` on ``DIR/.lock`` before it
computes anything; a second run into DIR gets :class:`FolderBusy` (the CLI's one-line "another
scratchlearn run is writing to DIR" and exit status 1) instead of failing half-way or mixing.
The lock goes with the process, however it ends; ``.lock`` itself is never removed.

**Migration** from the layout before generations (real ``task1/`` folders and report files in
DIR): the first run, before computing, hard-links DIR's current contents into a generation,
makes it current, then replaces each real folder or file by its link. Contents are identical
before and after each step, so a reader sees no change. Replacing a file by a link is atomic
(rename(2)); replacing a folder is atomic where Linux's ``renameat2(RENAME_EXCHANGE)`` works
(ext4, xfs, btrfs, tmpfs, ...). Elsewhere it takes two renames and, between them, for a few
microseconds, that one task folder is missing; a kill there leaves it under
``.scratchlearn-tmp-*`` and the next run restores the link from ``latest``, which holds the
same files.

**Not covered:** a power cut or an OS crash (files are not fsync'ed, so a generation made
current just before one may hold empty files); a reader who opens the report and, after a
switch, its figures (they come from the new run; resolve ``latest`` once for a fixed
snapshot); file systems without symlinks (refused before computing).
"""

from __future__ import annotations

import ctypes
import datetime
import errno
import json
import os
import re
import shutil
import stat
import tempfile
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
#: Prefix of every temporary name this module makes in DIR; the next run removes them.
TMP_PREFIX = ".scratchlearn-tmp-"
# Leftovers a killed run may leave in DIR: ours, and those of the layout before generations
# (``.task1-staging-*``/``.task1-old-*`` folders, ``.report.html-*`` temporary files).
_LEFTOVER = re.compile(
    r"^(?:" + re.escape(TMP_PREFIX) + r".*|\.\w+-(?:staging|old)-\w+|\.report\.(?:html|md)-\w+)$"
)
_PARTIAL = ".partial"


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


# --- renames ---------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically (Linux renameat2); False where that is not supported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    path_arg = ctypes.c_char_p
    renameat2.argtypes = [ctypes.c_int, path_arg, ctypes.c_int, path_arg, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _replace_dir(new: Path, old: Path, aside: Path) -> None:
    """Put folder ``new`` where folder ``old`` is, atomically where the system allows.

    Afterwards ``aside`` holds the old folder, for the caller to remove.
    """
    if _exchange(new, old):
        os.rename(new, aside)  # ``new`` now names the old folder
    else:  # two renames: between them ``old`` is missing (see the module docstring)
        os.rename(old, aside)
        os.rename(new, old)


def _remove(path: Path) -> None:
    """Remove a file, link or folder tree; missing is fine."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path)
    except FileNotFoundError:
        pass


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` to ``dst`` (results are never changed in place); copy if we can't."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(src), str(dst))


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
    ``models/<name>.npz`` per fitted estimator (:func:`scratchlearn.save`) to ``out_dir/task``.

    The folder is written under a temporary name, then renamed into place (swapped with an
    existing one atomically where Linux allows), so it is never seen half-written. Returns
    the task folder. Figures are closed once written.
    """
    import matplotlib.pyplot as plt

    staging = None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        final = out_dir / task
        staging = Path(tempfile.mkdtemp(prefix=f".{task}-staging-", dir=out_dir))
        staging.chmod(0o755)  # mkdtemp makes it private; the results are for everyone to read
        (staging / "metrics.json").write_text(metrics_json(metrics), encoding="utf-8")
        for name, text in (texts or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
        for stem, figure in figures.items():
            # Fixed metadata so the same run gives the same bytes.
            figure.savefig(staging / f"{stem}.png", metadata={"Software": None})
            plt.close(figure)
        if models:
            from . import save  # the safe .npz format; imported late: it is optional here

            (staging / "models").mkdir()
            for name, estimator in models.items():
                save(estimator, staging / "models" / f"{name}.npz")
        if final.exists():
            aside = out_dir / f".{task}-old-{os.getpid()}"
            _replace_dir(staging, final, aside)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            staging.rename(final)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for figure in figures.values():
            plt.close(figure)
        raise
    return final


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


def _lexists(path: Path) -> bool:
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


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
        raise OutputFolderError(f"cannot create --out {raw!r}: {cause}; {advice(error)}") from None
    return created


def _generation_name() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return f"{now:%Y%m%dT%H%M%S.%fZ}-{os.getpid()}"


class ResultsFolder:
    """An output folder (see the module docstring), locked for one run.

    Use :meth:`open`; then :meth:`write_task` for each task, :meth:`commit` once, and
    :meth:`close` in every case (it removes an uncommitted generation and unlocks).
    """

    def __init__(self, path: Path, lock_fd: int):
        self.path = path
        self._lock_fd: int | None = lock_fd
        self._staging: Path | None = None
        self._name = _generation_name()
        self.committed = False
        self.previous = self.current()

    # The lock and the checks, before anything is computed.

    @classmethod
    def open(cls, raw: str, tasks: Sequence[str] = ()) -> ResultsFolder:
        """Check ``--out`` (``raw`` as typed), create it, lock it, tidy it.

        Raises :class:`OutputFolderError` when the folder cannot be used (nothing is left
        behind), :class:`FolderBusy` when another run holds it, ``OSError`` when tidying fails.
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
        lock_path = path / LOCK
        made_lock = not _lexists(lock_path)
        fd = None
        try:
            # Creating and writing the lock file is the probe that DIR can be written.
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.read(fd, 32).decode("ascii", "replace").strip()
                os.close(fd)
                fd = None
                raise FolderBusy(path, int(owner) if owner.isdigit() else None) from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            probe = path / f"{TMP_PREFIX}{os.getpid()}-probe"
            probe.unlink(missing_ok=True)
            try:
                os.symlink(LATEST, probe)
            except OSError as error:
                if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                raise OutputFolderError(
                    f"cannot use --out {raw!r}: its file system has no symbolic links "
                    f"({_cause(error)}); choose another --out"
                ) from None
            probe.unlink()
            _check_in_the_way(path, raw, tasks)
        except BaseException as error:
            if fd is not None:
                os.close(fd)
                if made_lock:
                    lock_path.unlink(missing_ok=True)
            for folder in reversed(created):
                shutil.rmtree(folder, ignore_errors=True)
            if isinstance(error, OSError):
                raise OutputFolderError(
                    f"cannot write to --out {raw!r}: {_cause(error)}; {advice(error)}"
                ) from None
            raise
        folder = cls(path, fd)
        try:
            folder._tidy()
            folder._adopt_old_layout()
        except BaseException:
            folder.close()
            raise
        return folder

    def close(self) -> None:
        """Remove this run's generation unless it is current, and unlock. Idempotent."""
        # Ask the disk, not ``committed``: a signal may land between the switch and the flag.
        if self._staging is not None and self.current() != self._staging.name:
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
        try:
            target = os.readlink(self.path / LATEST)
        except OSError:
            return None
        name = Path(target).name
        return name if (self.path / RUNS / name).is_dir() else None

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
            runs = self.path / RUNS
            runs.mkdir(exist_ok=True)
            staging = runs / f".{self._name}{_PARTIAL}"
            staging.mkdir()
            self._staging = staging
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
        it) and make it current in one rename. Returns the generation folder."""
        staging = self.staging()
        current = self.current()
        if current is not None:
            for entry in sorted((self.path / RUNS / current).iterdir()):
                if entry.is_dir() and not (staging / entry.name).exists():
                    _carry(entry, staging / entry.name)
        write_report(staging)
        final = self.generation
        os.rename(staging, final)
        self._staging = final
        for entry in sorted(final.iterdir()):
            self._ensure_link(entry.name)  # dangles until the switch for a task new here
        self._point_latest_at(final.name)  # the switch
        self.committed = True
        self._remove_generations(keep=final.name)
        return final

    # Links.

    def _tmp(self, what: str) -> Path:
        tmp = self.path / f"{TMP_PREFIX}{os.getpid()}-{what}"
        _remove(tmp)
        return tmp

    def _point_latest_at(self, name: str) -> None:
        tmp = self._tmp(LATEST)
        os.symlink(f"{RUNS}/{name}", tmp)
        os.replace(tmp, self.path / LATEST)  # atomic: readers see the old or the new target

    def _ensure_link(self, name: str) -> None:
        """Make ``DIR/name`` the link ``latest/name``, replacing a real file or folder."""
        link, target = self.path / name, f"{LATEST}/{name}"
        if link.is_symlink() and os.readlink(link) == target:
            return
        tmp = self._tmp(f"link-{name}")
        os.symlink(target, tmp)
        if link.is_dir() and not link.is_symlink():
            aside = self._tmp(f"old-{name}")
            _replace_dir(tmp, link, aside)
            _remove(aside)
        else:
            os.replace(tmp, link)

    # Tidying, under the lock.

    def _tidy(self) -> None:
        """Remove what killed runs left; see the module docstring."""
        for entry in self.path.iterdir():
            if _LEFTOVER.match(entry.name):
                _remove(entry)
            elif entry.is_symlink() and os.readlink(entry).startswith(f"{LATEST}/"):
                if not entry.exists():  # a task link made by a run killed before its switch
                    entry.unlink()
        self._remove_generations(keep=self.current())

    def _remove_generations(self, keep: str | None) -> None:
        runs = self.path / RUNS
        if not runs.is_dir():
            return
        for entry in runs.iterdir():
            if entry.name != keep:
                try:
                    _remove(entry)
                except OSError:
                    pass  # the next run tries again; the current generation is intact

    def _adopt_old_layout(self) -> None:
        """Move real task folders and report files into a generation (module docstring)."""
        real = [
            entry
            for entry in sorted(self.path.iterdir())
            if not entry.is_symlink()
            and (
                (entry.name in REPORTS and entry.is_file())
                or (
                    entry.is_dir()
                    and not entry.name.startswith(".")
                    and entry.name not in (RUNS, LATEST)
                    and (entry / "metrics.json").is_file()
                )
            )
        ]
        current = self.current()
        if current is not None:
            for name in os.listdir(self.path / RUNS / current):
                if not _lexists(self.path / name):  # e.g. lost by a kill mid-migration
                    self._ensure_link(name)
        if not real:
            return
        runs = self.path / RUNS
        runs.mkdir(exist_ok=True)
        name = _generation_name()
        staging = runs / f".{name}{_PARTIAL}"
        try:
            staging.mkdir()
            for entry in real:
                _carry(entry, staging / entry.name)
            if current is not None:
                for entry in (runs / current).iterdir():
                    if not (staging / entry.name).exists():
                        _carry(entry, staging / entry.name)
            os.rename(staging, runs / name)
            for entry in sorted((runs / name).iterdir()):
                if not (self.path / entry.name).exists():
                    self._ensure_link(entry.name)
            self._point_latest_at(name)
        except BaseException:
            if self.current() != name:  # not switched: nothing refers to it
                for leftover in (staging, runs / name):
                    shutil.rmtree(leftover, ignore_errors=True)
            raise
        for entry in real:
            self._ensure_link(entry.name)
        self._remove_generations(keep=name)
        self.previous = name


def _check_in_the_way(path: Path, raw: str, tasks: Sequence[str]) -> None:
    """Refuse, before computing, names in DIR that this run would have to replace."""

    def refuse(name: str, what: str) -> None:
        raise OutputFolderError(
            f"--out {raw!r} holds {what} {name!r} where this run keeps its results; "
            "move it away or choose another --out"
        )

    for name in (LATEST, *REPORTS, *tasks):
        entry = path / name
        if entry.is_symlink() or not _lexists(entry):
            continue
        if name in REPORTS and entry.is_file():
            continue
        if name in tasks and entry.is_dir() and (entry / "metrics.json").is_file():
            continue  # an old-layout task folder: migrated
        refuse(name, "a folder" if entry.is_dir() else "a file")
    runs = path / RUNS
    if _lexists(runs) and (runs.is_symlink() or not runs.is_dir()):
        refuse(RUNS, "a file")
