"""The run lock: an exclusive ``flock`` on ``DIR/.lock``, a file that carries our signature."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from ._errors import FolderBusy, foreign
from ._proofs import LOCK, LOCK_SIGNATURE


def _lock_pid(record: bytes) -> int | None:
    lines = record.removeprefix(LOCK_SIGNATURE).split(b"\n")
    return int(lines[0]) if lines[0].isdigit() else None


def take_lock(path: Path, raw: str) -> tuple[int, bool]:
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
            raise foreign(raw, lock) from None
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
                raise foreign(raw, lock)
            os.pwrite(fd, record, 0)
            os.ftruncate(fd, len(record))
    except BaseException as error:
        os.close(fd)
        if made and not isinstance(error, FolderBusy):  # busy: the other run holds it now
            lock.unlink(missing_ok=True)
        raise
    return fd, made
