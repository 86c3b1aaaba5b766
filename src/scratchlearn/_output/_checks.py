"""``--out`` checked before anything is computed: usable, created, locked, and holding
nothing foreign under a name the layout needs. Each refusal is one
:class:`OutputFolderError` line naming the path (the CLI's exit status 2)."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from ._errors import OutputFolderError, advice, cause, foreign
from ._lock import take_lock
from ._proofs import (
    LATEST,
    LOCK,
    RUNS,
    is_empty_folder,
    is_our_latest,
    layout_names,
    lexists,
    link_target,
    owns_runs,
    temp_link,
)


def claim(raw: str, tasks: Sequence[str]) -> tuple[Path, int]:
    """Check ``--out`` (``raw`` as typed), create it and lock it; return it and the lock's
    descriptor.

    Raises :class:`OutputFolderError` when the folder cannot be used or holds something not
    ours under a name the layout needs (what was created here is removed again),
    :class:`FolderBusy` when another run holds it.
    """
    if raw == "":
        raise OutputFolderError("--out is empty; give a folder, e.g. --out results")
    path = Path(raw)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:  # too long, no permission, below a file, a loop
        why = _explain(error, path)
        raise OutputFolderError(f"cannot use --out {raw!r}: {why}; {advice(error)}") from None
    if mode is not None and not stat.S_ISDIR(mode):
        raise OutputFolderError(f"--out {raw!r} is a file, not a folder; choose another path")
    created = _make_folder(path, raw) if mode is None else []
    fd = made_lock = None
    try:
        # Creating the lock file is the probe that DIR can be written.
        fd, made_lock = take_lock(path, raw)
        try:
            os.unlink(temp_link(path, LATEST))
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            raise OutputFolderError(
                f"cannot use --out {raw!r}: its file system has no symbolic links "
                f"({cause(error)}); choose another --out"
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
                f"cannot write to --out {raw!r}: {cause(error)}; {advice(error)}"
            ) from None
        raise
    return path, fd


def _explain(error: OSError, path: Path) -> str:
    """``error``'s cause, and the file above ``path`` when that is what it is (ENOTDIR)."""
    above = _file_above(path) if error.errno == errno.ENOTDIR else None
    return cause(error) + (f" ({str(above)!r} is a file)" if above else "")


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
    target = link_target(existing)
    if target is not None and not existing.exists():
        return f"{str(existing)!r} is a symbolic link to {target!r}, which does not exist"
    return f"{str(existing)!r} exists, but its file system does not allow creating folders in it"


def _make_folder(path: Path, raw: str) -> list[Path]:
    """Create ``path`` and missing parents; return what was created (deepest last)."""
    missing: list[Path] = []
    created: list[Path] = []
    probe = path
    try:
        while not lexists(probe):
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
        why = _explain(error, path)  # ENOTDIR here: a file appeared since claim's stat
        if error.errno == errno.ENOENT:  # e.g. under /proc, or below a dangling link
            why += f" ({_why_missing(probe)})"
        raise OutputFolderError(f"cannot create --out {raw!r}: {why}; {advice(error)}") from None
    return created


def _check_names(path: Path, raw: str, tasks: Sequence[str]) -> None:
    """Refuse, before computing, anything not ours under a name the layout needs."""
    runs = path / RUNS
    if lexists(runs) and not (owns_runs(runs) or is_empty_folder(runs)):
        raise foreign(raw, runs)
    latest = path / LATEST
    if lexists(latest) and not is_our_latest(latest):
        raise foreign(raw, latest)
    for name in sorted(layout_names(tasks)):
        link = path / name
        if lexists(link) and link_target(link) != f"{LATEST}/{name}":
            raise foreign(raw, link)
