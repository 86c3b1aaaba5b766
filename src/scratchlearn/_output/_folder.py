"""The output folder's transaction: one run's generation, written, made durable, switched in
by one rename, and the leftovers of killed runs removed (rules in the package docstring)."""

from __future__ import annotations

import contextlib
import datetime
import errno
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._checks import claim
from ._durable import fsync, fsync_tree
from ._proofs import (
    GENERATION_MARKER,
    GENERATION_NAME,
    LATEST,
    LATEST_TARGET,
    PARTIAL,
    RUNS,
    RUNS_MARKER,
    RUNS_SIGNATURE,
    TMP_PREFIX,
    generation_of,
    generation_signature,
    is_our_latest,
    layout_names,
    lexists,
    link_target,
    marked_as_it_died,
    owns_runs,
    temp_link,
    write_new,
)
from ._task import write_task_outputs

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _generation_name() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return f"{now:%Y%m%dT%H%M%S.%fZ}-{os.getpid()}"


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link ``src`` to ``dst`` (results are never changed in place); copy if we can't."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _carry(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)


def _remove_generation(folder: Path) -> None:
    """Remove a generation of ours, its marker last: one that a killed run left half removed
    still carries the proof that it is ours, so the next run removes the rest."""
    for entry in folder.iterdir():
        if entry.name == GENERATION_MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    (folder / GENERATION_MARKER).unlink(missing_ok=True)
    folder.rmdir()


class ResultsFolder:
    """An output folder (see the package docstring), locked for one run.

    Use :meth:`open`; then :meth:`write_task` for each task, :meth:`commit` once, and
    :meth:`close` in every case (it removes an uncommitted generation and unlocks).
    """

    def __init__(self, path: Path, lock_fd: int, tasks: Sequence[str] = ()):
        self.path = path
        self._lock_fd: int | None = lock_fd
        self._staging: Path | None = None
        self._name = _generation_name()
        self._names = layout_names(tasks)
        self._dir_changed = False  # an entry made in DIR that no fsync of DIR has covered
        self.committed = False
        self.previous = self.current()

    @classmethod
    def open(cls, raw: str, tasks: Sequence[str] = ()) -> ResultsFolder:
        """Check ``--out`` (``raw`` as typed), create it, lock it, tidy it.

        Raises :class:`OutputFolderError` when the folder cannot be used or holds something
        not ours under a name the layout needs (nothing is changed), :class:`FolderBusy` when
        another run holds it, ``OSError`` when tidying fails.
        """
        path, fd = claim(raw, tasks)
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
        # Ask the disk, not ``committed``: a signal may land between the switch and the flag,
        # or between the generation's rename and the note of its new name (so try both).
        if self._staging is not None and self.current() != self._name:
            for folder in (self._staging, self.generation):
                with contextlib.suppress(OSError):  # not there, or the next run removes it
                    _remove_generation(folder)
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
        match = LATEST_TARGET.fullmatch(link_target(self.path / LATEST) or "")
        if match is None or not owns_runs(self.path / RUNS):
            return None
        name = match.group(1)
        return name if generation_of(self.path / RUNS / name) == name else None

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
            staging = self.path / RUNS / f".{self._name}{PARTIAL}"
            # Noted before the mkdir, so that close() removes it even when a signal lands as
            # the mkdir returns (the name is this run's own: its time and pid).
            self._staging = staging
            os.mkdir(staging)
            write_new(staging / GENERATION_MARKER, generation_signature(self._name))
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
                    if not lexists(staging / entry.name):
                        _carry(entry, staging / entry.name)
        write_report(staging)
        fsync_tree(staging)  # before anything can point at it
        final = self.generation
        os.rename(staging, final)
        self._staging = final
        fsync(final.parent, folder=True)  # the rename, and a new runs/'s marker
        for name in sorted(os.listdir(final)):
            if name in self._names:
                self._ensure_link(name)  # dangles until the switch for a task new here
        if self._dir_changed:  # runs/ or links made here must not be lost while latest is kept
            fsync(self.path, folder=True)
        self._point_latest_at(final.name)  # the switch
        self.committed = True
        fsync(self.path, folder=True)  # the switch survives a power cut from here on
        self._remove_generations(keep=final.name)
        return final

    def _own_runs(self) -> None:
        """Make ``runs/``, or mark the empty one found by the checks, as ours."""
        runs = self.path / RUNS
        if not lexists(runs):
            os.mkdir(runs)
            self._dir_changed = True
        if not owns_runs(runs):
            write_new(runs / RUNS_MARKER, RUNS_SIGNATURE)  # O_EXCL: never over anything
            fsync(runs / RUNS_MARKER)  # durable before any generation relies on it

    # Links.

    def _point_latest_at(self, name: str) -> None:
        latest = self.path / LATEST
        if lexists(latest) and not is_our_latest(latest):  # appeared since the check
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(latest))
        tmp = temp_link(self.path, f"{RUNS}/{name}")
        try:
            os.replace(tmp, latest)  # atomic: readers see the old or the new target
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _ensure_link(self, name: str) -> None:
        """Make ``DIR/name`` the link ``latest/name``; never replaces anything."""
        link, target = self.path / name, f"{LATEST}/{name}"
        if link_target(link) != target:
            os.symlink(target, link)  # FileExistsError if something appeared since the check
            self._dir_changed = True

    # Tidying, under the lock.

    def _tidy(self) -> None:
        """Remove what killed runs left, by the rules of the package docstring."""
        for entry in self.path.iterdir():
            target = link_target(entry)
            if target is None:
                continue
            if entry.name.startswith(TMP_PREFIX):
                if target == LATEST or LATEST_TARGET.fullmatch(target):
                    entry.unlink()
            elif entry.name in self._names and target == f"{LATEST}/{entry.name}":
                if not entry.exists():  # a task link made by a run killed before its switch
                    entry.unlink()
        self._remove_generations(keep=self.current())

    def _remove_generations(self, keep: str | None) -> None:
        runs = self.path / RUNS
        if not owns_runs(runs):
            return
        for entry in runs.iterdir():
            try:
                if entry.name != keep and generation_of(entry) is not None:
                    _remove_generation(entry)
                elif GENERATION_NAME.fullmatch(entry.name):
                    if marked_as_it_died(entry):
                        (entry / GENERATION_MARKER).unlink()
                    os.rmdir(entry)  # if empty: made by a run killed before its marker
            except OSError:
                pass  # the next run tries again; the current generation is intact
