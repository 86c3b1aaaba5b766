"""The layout's names and the proofs that an entry of an output folder is ours.

Each proof is read from the disk (a marker file's first bytes, a link's exact target), never
inferred from a name alone; the rules are in the package docstring.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Sequence
from pathlib import Path

LATEST = "latest"
RUNS = "runs"
LOCK = ".lock"
REPORTS = ("report.html", "report.md")
#: What the report writers put in a generation besides the task folders (``report`` and
#: ``report.explorer``); each gets a link in DIR.
TOP_FILES = (*REPORTS, "explorer.html", "plotly.min.js")
#: Prefix of the temporary links this package makes in DIR.
TMP_PREFIX = ".scratchlearn-tmp-"
#: Marks ``runs/`` as ours; its content is the signature.
RUNS_MARKER = ".scratchlearn-runs"
RUNS_SIGNATURE = b"scratchlearn runs 1\n"
#: Written first into each generation; names it.
GENERATION_MARKER = ".scratchlearn-generation"
GENERATION_HEADER = b"scratchlearn generation 1\n"  # then the generation's name
#: The first line of an owned ``.lock``; the owner's pid follows.
LOCK_SIGNATURE = b"scratchlearn lock 1\n"
PARTIAL = ".partial"
GENERATION_NAME = re.compile(r"\.?\d{8}T\d{6}\.\d{6}Z-\d+(?:\.partial)?")
LATEST_TARGET = re.compile(re.escape(RUNS) + r"/([^/]+)")


# --- reading and making entries without following or replacing anything ----------------------


def lexists(path: Path) -> bool:
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False
    return True


def link_target(path: Path) -> str | None:
    """Where the symbolic link ``path`` points, or None if it is not a link."""
    try:
        return os.readlink(path)
    except OSError:
        return None


def read_marker(path: Path) -> bytes | None:
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


def write_new(path: Path, data: bytes) -> None:
    """Create the file ``path`` holding ``data``; never replaces anything (O_EXCL)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def is_empty_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode) and not os.listdir(path)
    except OSError:
        return False


def temp_link(folder: Path, target: str) -> Path:
    """A new symbolic link to ``target`` in ``folder``, under an unused temporary name."""
    while True:
        tmp = folder / f"{TMP_PREFIX}{secrets.token_hex(6)}"
        try:
            os.symlink(target, tmp)
        except FileExistsError:  # never replace what is there
            continue
        return tmp


# --- the proofs ------------------------------------------------------------------------------


def generation_signature(name: str) -> bytes:
    return GENERATION_HEADER + f"{name}\n".encode()


def generation_of(folder: Path) -> str | None:
    """The generation ``folder`` holds, if it is ours: its marker names it."""
    marker = read_marker(folder / GENERATION_MARKER)
    if marker is None or folder.is_symlink() or not marker.startswith(GENERATION_HEADER):
        return None
    name = marker[len(GENERATION_HEADER) :].decode("utf-8", "replace").removesuffix("\n")
    return name if folder.name in (name, f".{name}{PARTIAL}") else None


def marked_as_it_died(folder: Path) -> bool:
    """Whether ``folder`` (named as a generation) holds only a marker cut short: its run was
    killed between creating the marker (``O_EXCL``: so it is the run's own) and writing it,
    so the marker holds a start of the signature that the folder's name calls for.

    Raises ``OSError`` when ``folder`` cannot be listed (the caller leaves it alone)."""
    name = folder.name.removeprefix(".").removesuffix(PARTIAL)
    if folder.is_symlink() or os.listdir(folder) != [GENERATION_MARKER]:
        return False
    marker = read_marker(folder / GENERATION_MARKER)
    return marker is not None and generation_signature(name).startswith(marker)


def owns_runs(runs: Path) -> bool:
    return not runs.is_symlink() and read_marker(runs / RUNS_MARKER) == RUNS_SIGNATURE


def is_our_latest(latest: Path) -> bool:
    return LATEST_TARGET.fullmatch(link_target(latest) or "") is not None


def layout_names(tasks: Sequence[str]) -> frozenset[str]:
    """The names the layout links at the top of DIR: report files and every task's."""
    from .. import experiments  # read when called: tests add tasks

    return frozenset((*TOP_FILES, *experiments.TASK_NAMES, *tasks))
