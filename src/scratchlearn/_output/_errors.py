"""The errors an output folder raises, and the one-line messages and advice they carry."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


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


def cause(error: OSError) -> str:
    return error.strerror or str(error)


def _kind(path: Path) -> str:
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a file" if stat.S_ISREG(mode) else "a special file"


def foreign(raw: str, path: Path) -> OutputFolderError:
    """The refusal of ``path``: not ours, under a name the layout needs."""
    return OutputFolderError(
        f"--out {raw!r} holds {_kind(path)} {str(path)!r} that scratchlearn did not make, "
        "under a name it needs for its results; move it away or choose another --out"
    )
