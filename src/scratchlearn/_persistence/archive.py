"""Model files as archives: written whole or not at all, read with bounds checked first.

``write`` puts a temporary file beside the file it replaces, fsyncs it, renames it onto
it and fsyncs the folder. ``read`` opens only regular files (without blocking), refuses
anything that is not a zip archive by its first bytes, and reads each ``.npy`` member only
after its header's dtype and shape are checked against its zip entry, so no member holds
more elements than bytes; what a damaged archive raises becomes one ``ModelFileError``.
"""

from __future__ import annotations

import math
import os
import stat
import tokenize
import uuid
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .format import ModelFileError, plain_dtype

HEADER = "header"
MAX_HEADER_CHARS = 2**20
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

# What reading a damaged archive raises, each found by fuzzing (tests/test_persistence.py),
# wrapped into one ValueError that says the file is corrupted or truncated:
#   ValueError           numpy's checks of .npy headers and sizes (UnicodeDecodeError too);
#   zipfile.BadZipFile   bad signatures, CRC-32 mismatch, truncated headers;
#   EOFError             a member's data ends early (ZipExtFile);
#   OSError              a seek to an offset before the start of the file, from a damaged
#                        central directory (the file itself was opened before this point,
#                        so this is not a missing file or a permission problem);
#   NotImplementedError  zip features flagged in a damaged member (patched data, strong
#                        encryption); compression and plain encryption are refused first;
#   tokenize.TokenError  numpy's fallback parser for a damaged .npy header dict;
#   SyntaxError          numpy.dtype() of a damaged comma-separated "descr" in a .npy header
#                        (numpy parses its repeat counts with ast.literal_eval, not eval).
_DAMAGED = (
    ValueError,
    zipfile.BadZipFile,
    EOFError,
    OSError,
    NotImplementedError,
    tokenize.TokenError,
    SyntaxError,
)


def read(path: Path, where: str) -> tuple[str, dict[str, np.ndarray]]:
    """The header text and the arrays by member name of the model file at ``path``."""
    with _open_regular_file(path, where) as file:
        _check_signature(file, where)
        size = os.fstat(file.fileno()).st_size
        try:
            with np.load(file, allow_pickle=False) as npz:
                return _read_archive(npz, size, where)
        except ModelFileError:
            raise
        except _DAMAGED as error:
            raise ModelFileError(
                f"{where} is corrupted or truncated: {type(error).__name__}: {error}"
            ) from error


def _open_regular_file(path: Path, where: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (a link to one included).

    Anything else (a folder, a device, a FIFO, a socket) is refused before it is opened.
    The open itself does not block (``O_NONBLOCK``: a FIFO put there since the check is
    opened at once, not when a writer comes), and what was opened is checked again.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ModelFileError(f"{where} is {_file_kind(mode)}, not a model file (a regular file).")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise ModelFileError(
                f"{where} is {_file_kind(mode)}, not a model file (a regular file)."
            )
        return os.fdopen(descriptor, "rb")  # O_NONBLOCK does not change regular files
    except BaseException:
        os.close(descriptor)
        raise


def _check_signature(file, where: str) -> None:
    """Refuse anything that is not a zip archive before parsing it, naming what it is."""
    start = file.read(8)
    file.seek(0)
    if start.startswith(b"PK\x03\x04"):
        return
    if not start:
        raise ModelFileError(f"{where} is empty, not a scratchlearn model file.")
    if start.startswith(b"\x80") and len(start) > 1 and 2 <= start[1] <= 5:
        raise ModelFileError(
            f"{where} is a pickle, not a scratchlearn model file. scratchlearn.load never "
            "unpickles, since unpickling runs code the file chooses; open a pickle with "
            "pickle.load only if you trust where it came from, and save it again with "
            "scratchlearn.save."
        )
    if start.startswith(b"\x93NUMPY"):
        raise ModelFileError(f"{where} is a NumPy .npy array, not a scratchlearn model file.")
    if start.startswith(b"PK\x05\x06"):
        raise ModelFileError(f"{where} is an empty zip archive, not a scratchlearn model file.")
    raise ModelFileError(
        f"{where} is not a scratchlearn model file: it is not a zip/.npz archive (it starts "
        f"with {start!r}). Pickles and joblib files are refused: loading them runs code."
    )


def _read_archive(npz, size: int, where: str) -> tuple[str, dict[str, np.ndarray]]:
    """The header text and the arrays by member name, each member checked before it is read."""
    infos = npz.zip.infolist()
    names = [info.filename for info in infos]
    if f"{HEADER}.npy" not in names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise ModelFileError(
            f"{where} is a zip archive but not a scratchlearn model file: it has no "
            f"{HEADER}.npy member (members: {shown or 'none'})."
        )
    if len(set(names)) != len(names):
        raise ModelFileError(f"{where} is corrupted: a member name appears twice.")
    if sum(info.compress_size for info in infos) > size:
        raise ModelFileError(f"{where} is truncated: its members add up to more than the file.")
    arrays = {}
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise ModelFileError(f"{where} holds {info.filename!r}, which is not an array.")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ModelFileError(
                f"{where}: member {info.filename!r} is compressed or encrypted; "
                "scratchlearn.save writes neither."
            )
        if info.file_size != info.compress_size:
            raise ModelFileError(f"{where} is corrupted: member {info.filename!r} sizes differ.")
        name = info.filename[: -len(".npy")]
        arrays[name] = _read_member(npz, info, name, where)
    header = arrays.pop(HEADER)
    if header.shape != () or header.dtype.kind != "U":
        raise ModelFileError(f"{where}: {HEADER}.npy is not a string; not a model file.")
    return str(header[()]), arrays


def _read_member(npz, info: zipfile.ZipInfo, name: str, where: str) -> np.ndarray:
    """One member, after its .npy header's dtype and size are checked against the zip."""
    with npz.zip.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ModelFileError(f"{where}: member {name!r} has .npy version {version}.")
        offset = member.tell()
    if dtype.hasobject:
        raise ModelFileError(
            f"{where}: member {name!r} is an object array (Python objects, which only "
            "unpickling could read, and unpickling runs code); model files never hold one."
        )
    if not plain_dtype(dtype):
        raise ModelFileError(f"{where}: member {name!r} has unsupported dtype {dtype}.")
    if dtype.itemsize == 0:
        # Its size would say nothing of its length: a <U0 member of 10⁹ empty strings has
        # no bytes, but turning it into objects (or comparing them) allocates gigabytes.
        raise ModelFileError(
            f"{where}: member {name!r} has dtype {dtype}, of zero bytes per element (save "
            "writes strings as <U1 or longer)."
        )
    if any(size < 0 for size in shape):
        raise ModelFileError(f"{where}: member {name!r} has a negative shape {shape}.")
    if name == HEADER and dtype.itemsize > 4 * MAX_HEADER_CHARS:
        raise ModelFileError(f"{where}: the header is larger than {MAX_HEADER_CHARS} characters.")
    if offset + math.prod(shape) * dtype.itemsize != info.file_size:
        raise ModelFileError(
            f"{where} is corrupted: member {name!r} declares shape {shape} of {dtype}, which "
            f"does not match its {info.file_size} bytes."
        )
    # The member just checked (npz[name] could pick another: "a.npy" for "a.npy.npy").
    with npz.zip.open(info) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def write(path: Path, members: dict[str, np.ndarray]) -> None:
    """Write the .npz to a temporary file beside the file ``path`` names (``path``, or the
    target of a link), fsync it, rename it onto that file, and fsync its folder."""
    path = _file_to_replace(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(descriptor, "wb") as file:
            with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
                for name, array in members.items():
                    info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
                    info.external_attr = 0o644 << 16
                    with archive.open(info, "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _file_to_replace(path: Path) -> Path:
    """The regular file that saving to ``path`` replaces or creates: ``path`` itself, or the
    file a symbolic link there points to (a dangling link's target is created, as ``open``
    creates it). Anything else that exists is refused before anything is written."""
    target = Path(os.path.realpath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target
    if not stat.S_ISREG(mode):
        through = f" (a link to {str(target)!r})" if os.path.islink(path) else ""
        raise ModelFileError(
            f"scratchlearn.save: {str(path)!r}{through} is {_file_kind(mode)}, not a regular "
            "file; save writes a new file or replaces a regular one, so it has left this one "
            "as it was. Choose a file name."
        )
    return target


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems do not sync folders; the file itself is synced
    finally:
        os.close(descriptor)


def _file_kind(mode: int) -> str:
    """What a file that is not a regular file is, for messages ("a FIFO (named pipe)")."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((kind for test, kind in kinds if test(mode)), "a special file")
