"""Model files against what a hostile or careless user puts at the path.

``save`` replaces only a regular file (following a symbolic link to it) and leaves anything
else as it was; ``load`` reads only a regular file, without blocking on a FIFO; and a crafted
file cannot make ``load`` allocate more than a constant factor of its own size.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from scratchlearn import KNeighborsClassifier, load, save


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
    a character device: ``{name: path}``, with the reason each missing one was skipped."""
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
    try:  # the numbers of /dev/null: a harmless device if anything did write to it
        os.mknod(folder / "device", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        made["character device"] = folder / "device"
    except PermissionError as error:
        skipped["character device"] = f"mknod is not permitted here ({error})"
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


def test_load_refuses_what_is_not_a_regular_file(model, tmp_path):
    made, skipped = special_files(tmp_path)
    del made["FIFO"]  # in a subprocess above: opening one could block this process
    link = tmp_path / "link.npz"
    link.symlink_to("folder")
    made["folder"] = link  # checked through the link
    for kind, path in made.items():
        before = snapshot(path)
        with pytest.raises(ValueError, match="not a model file") as raised:
            load(path)
        assert str(path) in str(raised.value) and kind in str(raised.value)
        assert snapshot(path) == before
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
