"""Model files against what a hostile or careless user puts at the path.

``save`` replaces only a regular file (following a symbolic link to it) and leaves anything
else as it was; ``load`` reads only a regular file, without blocking on a FIFO; and a crafted
file cannot make ``load`` allocate more than a constant factor of its own size.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import socket
import stat
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from scratchlearn import (
    KNeighborsClassifier,
    KNeighborsDensity,
    SoftmaxRegression,
    load,
    save,
)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    return KNeighborsClassifier(3).fit(rng.normal(size=(20, 2)), rng.integers(0, 2, 20))


def snapshot(path):
    """What the folder entry at ``path`` is (not following links), and a link's target."""
    info = os.lstat(path)
    fields = ("st_mode", "st_ino", "st_dev", "st_rdev", "st_size", "st_mtime_ns", "st_nlink")
    target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else None
    return {name: getattr(info, name) for name in fields}, target


def special_files(folder):
    """A FIFO, a folder (not empty), a Unix socket and, where mknod is permitted (root),
    a character and a block device: ``{kind: path}``, with why any missing one is."""
    made, skipped = {}, {}
    os.mkfifo(folder / "fifo")
    made["FIFO"] = folder / "fifo"
    (folder / "folder").mkdir()
    (folder / "folder" / "keep.txt").write_text("mine")
    made["folder"] = folder / "folder"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "socket"))
    listener.close()  # the socket file stays in the folder
    made["socket"] = folder / "socket"
    # The numbers of /dev/null and of the first loop device: harmless if anything did
    # write to the one or open the other.
    for kind, mode, numbers in (("character device", stat.S_IFCHR | 0o666, (1, 3)),
                                ("block device", stat.S_IFBLK | 0o600, (7, 0))):
        try:
            os.mknod(folder / kind.replace(" ", "-"), mode, os.makedev(*numbers))
            made[kind] = folder / kind.replace(" ", "-")
        except PermissionError as error:
            skipped[kind] = f"mknod is not permitted here ({error})"
    return made, skipped


def test_save_refuses_what_is_not_a_regular_file_and_leaves_it(model, tmp_path):
    made, skipped = special_files(tmp_path)
    # Each kind directly, and through a symbolic link (which must stay as it was too).
    for kind, path in list(made.items()):
        link = tmp_path / f"link-to-{path.name}"
        link.symlink_to(path.name)
        made[f"link to {kind}"] = link
    entries = sorted(os.listdir(tmp_path))
    for kind, path in made.items():
        before = snapshot(path), snapshot(os.path.realpath(path))
        with pytest.raises(ValueError, match="not a regular file") as raised:
            save(model, path)
        message = str(raised.value)
        assert str(path) in message, kind
        assert kind.removeprefix("link to ") in message, (kind, message)
        assert ("a link to" in message) == kind.startswith("link to"), message
        assert (snapshot(path), snapshot(os.path.realpath(path))) == before, kind
        assert sorted(os.listdir(tmp_path)) == entries, kind  # no temporary file left
    assert (tmp_path / "folder" / "keep.txt").read_text() == "mine"
    if skipped:
        pytest.skip("; ".join(f"{kind}: {why}" for kind, why in skipped.items()))


def test_save_through_a_link_replaces_its_target_and_keeps_the_link(model, tmp_path):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / "model.npz"
    target.write_bytes(b"old model")
    link = tmp_path / "model.npz"
    link.symlink_to(os.path.join("store", "model.npz"))  # a relative link, as ln -s makes
    chain = tmp_path / "latest.npz"
    chain.symlink_to("model.npz")  # a link to the link
    assert save(model, chain) == chain
    assert os.readlink(chain) == "model.npz"
    assert os.readlink(link) == os.path.join("store", "model.npz")
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "model.npz", "store"]
    assert os.listdir(tmp_path / "store") == ["model.npz"]  # the temporary file was there
    assert stat.S_ISREG(os.lstat(target).st_mode)
    np.testing.assert_array_equal(load(chain).predict([[0.0, 0.0]]), model.predict([[0.0, 0.0]]))


def test_save_through_a_dangling_link_creates_its_target(model, tmp_path):
    """As ``open(link, "w")`` would: the link is kept and now points to the model."""
    link = tmp_path / "model.npz"
    link.symlink_to("made-later.npz")
    save(model, link)
    assert os.readlink(link) == "made-later.npz"
    assert stat.S_ISREG(os.lstat(tmp_path / "made-later.npz").st_mode)
    assert type(load(link)) is KNeighborsClassifier


@pytest.mark.parametrize("through_link", [False, True])
def test_save_fsyncs_the_file_before_the_rename_and_its_folder_after(
    model, tmp_path, monkeypatch, through_link
):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        mode = os.fstat(descriptor).st_mode
        calls.append(("fsync", "folder" if stat.S_ISDIR(mode) else "file"))
        real_fsync(descriptor)

    def replace(source, destination):
        calls.append(("replace", os.path.dirname(destination)))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    (tmp_path / "store").mkdir()
    if through_link:
        (tmp_path / "model.npz").symlink_to(os.path.join("store", "model.npz"))
        save(model, tmp_path / "model.npz")
    else:
        save(model, tmp_path / "store" / "model.npz")
    # The folder synced is the one the rename changed (a link's target's).
    assert calls == [("fsync", "file"), ("replace", str(tmp_path / "store")),
                     ("fsync", "folder")]


# --- load: only a regular file, and never blocking --------------------------------------


def run_python(code: str, *args, timeout: float = 30) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter; a hang fails the test instead of blocking it."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


LOAD_ONE = """
    import sys, time
    from scratchlearn import load
    start = time.monotonic()
    try:
        load(sys.argv[1])
    except ValueError as error:
        print(f"ValueError after {time.monotonic() - start:.3f} s: {error}")
"""


def test_load_of_a_fifo_returns_a_value_error_at_once(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    done = run_python(LOAD_ONE, tmp_path / "fifo")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ValueError after 0.0"), done.stdout  # under 100 ms
    assert "is a FIFO (named pipe), not a model file" in done.stdout
    assert str(tmp_path / "fifo") in done.stdout


def test_load_refuses_what_is_not_a_regular_file(model, tmp_path, monkeypatch):
    made, skipped = special_files(tmp_path)
    del made["FIFO"]  # in a subprocess above: opening one could block this process
    link = tmp_path / "link.npz"
    link.symlink_to("folder")
    made["folder"] = link  # checked through the link
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *args: opened.append(path) or real_open(
        path, *args))
    for kind, path in made.items():
        before = snapshot(path)
        with pytest.raises(ValueError, match="not a model file") as raised:
            load(path)
        assert str(path) in str(raised.value) and kind in str(raised.value)
        assert snapshot(path) == before
    assert opened == []  # each refused before it was opened
    monkeypatch.undo()
    # A link to a model file is a model file.
    save(model, tmp_path / "model.npz")
    link.unlink()
    link.symlink_to("model.npz")
    assert type(load(link)) is KNeighborsClassifier
    if skipped:
        pytest.skip("; ".join(f"{kind}: {why}" for kind, why in skipped.items()))


def test_load_checks_what_it_opened_without_blocking(tmp_path):
    """A FIFO swapped in after the path was checked (os.stat made to say "regular file")
    is opened without blocking and refused from its descriptor."""
    os.mkfifo(tmp_path / "fifo")
    done = run_python(
        """
        import os, stat, sys, time
        from scratchlearn import load
        real_stat = os.stat
        def regular(path, *args, **kwargs):
            result = list(real_stat(path, *args, **kwargs))
            result[0] = stat.S_IFREG | 0o644
            return os.stat_result(result)
        os.stat = regular  # after the imports, which stat their files
        start = time.monotonic()
        try:
            load(sys.argv[1])
        except ValueError as error:
            print(f"ValueError after {time.monotonic() - start:.3f} s: {error}")
    """,
        tmp_path / "fifo",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ValueError after 0.0"), done.stdout
    assert "is a FIFO (named pipe), not a model file" in done.stdout


# --- load: every allocation bounded by the file's size ----------------------------------


def members_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def npy_header(descr: str, shape: tuple) -> bytes:
    """A .npy member that declares ``shape`` of ``descr`` and holds no data."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    text = text.ljust(117) + b"\n"
    return np.lib.format.magic(1, 0) + len(text).to_bytes(2, "little") + text


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def craft(source, path, header: dict, members: dict):
    """A copy of the model file ``source`` with header fields set (``{"a.b": value}``) and
    members replaced (``{name: .npy bytes}``; None removes one), as a valid zip."""
    members_now = members_of(source)
    text = json.loads(str(np.lib.format.read_array(io.BytesIO(members_now["header.npy"]))))
    for key, value in header.items():
        *parents, last = key.split(".")
        node = text
        for part in parents:
            node = node[part]
        node[last] = value
    members_now["header.npy"] = npy_bytes(np.array(json.dumps(text)))
    for name, data in members.items():
        members_now.pop(f"{name}.npy", None)
        if data is not None:
            members_now[f"{name}.npy"] = data
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members_now.items():
            archive.writestr(name, data)
    return path


#: The valid files ``crafted_files`` makes the others from.
WARM_UP = ("dense.npz", "sparse.npz", "linear.npz")
#: A billion empty strings: no bytes in the file, 8 GB as an object array.
EMPTY_STRINGS = npy_header("<U0", (10**9,))


def crafted_files(folder) -> dict[str, pathlib.Path]:
    """Files whose members (one per kind of member slot) or header values would make a
    careless load allocate far more than the file holds; and two valid models whose load
    builds large derived objects (an object array of strings, a KD-tree)."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    y = np.array(["ant", "bee", "cat"], dtype=object)[rng.integers(0, 3, 30)]
    dense = save(KNeighborsDensity(3).fit(X, y), folder / "dense.npz")  # object labels
    sparse = save(KNeighborsClassifier(3).fit(sp.csr_matrix(X.to_numpy()), y.astype(str)),
                  folder / "sparse.npz")
    linear = save(SoftmaxRegression(tol=1e3).fit(X, y), folder / "linear.npz")
    cases = {
        # kind "array": codes, and labels (whose sortedness check compares neighbours).
        "array _y": (dense, {}, {"_y": EMPTY_STRINGS}),
        "array classes_": (dense, {"attributes.classes_.kind": "array"},
                           {"classes_": EMPTY_STRINGS}),
        "array coef_": (linear, {}, {"coef_": EMPTY_STRINGS}),
        "numpy_scalar 1-D": (dense, {"attributes.n_samples_fit_": {
            "kind": "numpy_scalar", "member": "n_samples_fit_"}},
            {"n_samples_fit_": EMPTY_STRINGS}),
        "numpy_scalar 0-D": (dense, {"attributes.n_samples_fit_": {
            "kind": "numpy_scalar", "member": "n_samples_fit_"}},
            {"n_samples_fit_": npy_header("<U0", ())}),
        "str_object_array classes_": (dense, {}, {"classes_": EMPTY_STRINGS}),
        "str_object_array feature_names_in_": (dense, {}, {"feature_names_in_": EMPTY_STRINGS}),
        "str_object_array 2-D": (dense, {}, {"classes_": npy_header("<U0", (10**5, 10**5))}),
        **{f"csr {part}": (sparse, {}, {f"_fit_X.{part}": EMPTY_STRINGS})
           for part in ("data", "indices", "indptr")},
        "header 0-D": (dense, {}, {"header": npy_header("<U0", ())}),
        "header 1-D": (dense, {}, {"header": EMPTY_STRINGS}),
        # Header values that size something.
        "csr shape rows": (sparse, {"attributes._fit_X.shape": [10**12, 2]}, {}),
        "csr shape columns": (sparse, {"attributes._fit_X.shape": [30, 10**12],
                                       "attributes.n_features_in_.value": 10**12}, {}),
        "n_samples_fit_": (dense, {"attributes.n_samples_fit_.value": 10**12}, {}),
        "n_neighbors": (dense, {"params.n_neighbors": 10**12}, {}),
        "n_jobs": (dense, {"params.n_jobs": 10**12}, {}),
        "max_iter and batch_size": (linear, {"params.max_iter": 10**12,
                                             "params.batch_size": 10**12}, {}),
        # The most memory per byte an object conversion takes: 250,000 labels of one CJK
        # character (1 MB as <U1; 21 MB as str objects, not cached as Latin-1 ones are),
        # converted before they are found unsorted.
        "str_object_array CJK labels": (dense, {}, {"classes_": npy_bytes(
            np.array([chr(0x4E00 + i % 20000) for i in range(250_000)]))}),
    }
    files = {name: craft(source, folder / f"crafted-{i}.npz", header, members)
             for i, (name, (source, header, members)) in enumerate(cases.items())}
    # 200,000 float32 training points in 1-D: a KD-tree and float64 norms rebuilt on load.
    X_big = rng.normal(size=(200_000, 1)).astype(np.float32)
    files["valid KD-tree"] = save(KNeighborsDensity(5, algorithm="kd_tree").fit(X_big),
                                  folder / "tree.npz")
    return files


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc")
def test_crafted_files_cannot_make_load_allocate(tmp_path):
    """Each crafted file is refused (ValueError) or loads, in one subprocess whose peak
    resident memory (VmHWM, reset after warm-up loads) grows by less than 100 MB while it
    loads them all; its address space is capped 1 GiB above its size then, so a careless
    load fails with MemoryError instead of taking the machine's memory."""
    files = crafted_files(tmp_path)
    done = run_python("""
        import json, resource, sys
        from scratchlearn import load
        paths = json.loads(sys.argv[1])
        for path in paths.pop("warm-up"):  # imports, compiled code, thread pools
            load(path)
        def status(field):
            with open("/proc/self/status") as lines:
                return next(int(line.split()[1]) for line in lines if line.startswith(field))
        resource.setrlimit(resource.RLIMIT_AS,
                           ((status("VmSize") + 2**20) * 1024, resource.RLIM_INFINITY))
        # The peak so far (the imports', and the forked parent's, which ru_maxrss keeps)
        # is forgotten: VmHWM is the peak from here.
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        before = status("VmHWM")
        outcomes = {}
        for name, path in paths.items():
            try:
                outcomes[name] = type(load(path)).__name__
            except ValueError as error:
                outcomes[name] = f"ValueError: {error}"
            except MemoryError as error:
                outcomes[name] = f"MemoryError: {error}"
        growth = status("VmHWM") - before
        print(json.dumps({"outcomes": outcomes, "rss_growth_kib": growth}))
    """, json.dumps({"warm-up": [str(tmp_path / name) for name in WARM_UP],
                     **{name: str(path) for name, path in files.items()}}), timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # Valid models (a CSR matrix may have 10¹² columns; n_jobs and the solver's settings
    # are not used by load) load; everything else is refused.
    loads = {"valid KD-tree": "KNeighborsDensity", "csr shape columns": "KNeighborsClassifier",
             "n_jobs": "KNeighborsDensity", "max_iter and batch_size": "SoftmaxRegression"}
    for name, outcome in report["outcomes"].items():
        assert outcome == loads.get(name, "ValueError") or (
            name not in loads and outcome.startswith("ValueError: scratchlearn.load")
        ), (name, outcome)
    for name in ("array _y", "str_object_array classes_", "csr data", "header 1-D"):
        assert "zero bytes per element" in report["outcomes"][name], name
    assert report["rss_growth_kib"] < 100 * 1024, report
