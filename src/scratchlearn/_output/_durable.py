"""What a power cut keeps: fsync of a file, a folder, and a whole generation."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def fsync(path: Path | str, folder: bool = False) -> None:
    """Flush ``path``'s data (a file) or entries (a folder) to the disk."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if folder else 0))
    try:
        os.fsync(fd)
    except OSError as error:
        if not (folder and error.errno == errno.EINVAL):  # some file systems can't sync folders
            raise
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every file under ``root``, then every folder, deepest first, ``root`` last."""
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):  # a link's entry is its folder's, synced below
                fsync(path)
        fsync(folder, folder=True)
