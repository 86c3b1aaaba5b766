"""The search kernel is compiled at install (issue 19: no start-up tax), and its source is
still the same algorithm as plain Python.

``_search/_kernel.py`` is Cython in pure Python mode: ``setup.py`` compiles it into an
extension module of the same name, which Python imports in preference to the ``.py``.
Loaded as plain Python it refuses, unless ``SCRATCHLEARN_PURE_PYTHON_KERNEL=1`` asks for
it (``make mutation`` mutates it that way); then it must give the same answers, bit for bit.
"""

import importlib.machinery
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from scratchlearn._search import _kernel, brute

SOURCE = Path(_kernel.__file__).with_name("_kernel.py")


def plain_python_kernel(monkeypatch, allow: bool = True):
    """The kernel's source loaded as a plain Python module (beside the compiled one)."""
    if allow:
        monkeypatch.setenv("SCRATCHLEARN_PURE_PYTHON_KERNEL", "1")
    else:
        monkeypatch.delenv("SCRATCHLEARN_PURE_PYTHON_KERNEL", raising=False)
    spec = importlib.util.spec_from_file_location("scratchlearn_plain_kernel", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_kernel_in_use_is_the_compiled_extension():
    suffix = "".join(Path(_kernel.__file__).suffixes)
    assert suffix in importlib.machinery.EXTENSION_SUFFIXES, _kernel.__file__
    # An edit of the source without a rebuild would leave the old kernel running.
    assert Path(_kernel.__file__).stat().st_mtime >= SOURCE.stat().st_mtime, (
        f"{_kernel.__file__} is older than {SOURCE}: rebuild it (pip install -e ., or make)"
    )


def test_plain_python_refuses_without_being_asked(monkeypatch):
    with pytest.raises(ImportError, match=r"(?s)compiled search kernel.*[Rr]einstall.*"
                                          r"SCRATCHLEARN_PURE_PYTHON_KERNEL=1"):
        plain_python_kernel(monkeypatch, allow=False)


def searches():
    """Small searches through every kernel function: dense float64 and float32, float64
    queries on float32 data, cosine, CSR, an exact metric, and rows forced to the exact
    fallback by ties."""
    rng = np.random.default_rng(5)
    X, Q = rng.normal(size=(150, 6)), rng.normal(size=(12, 6))
    X32, Q32 = X.astype(np.float32), Q.astype(np.float32)
    Xs = sp.csr_matrix(X * (rng.uniform(size=X.shape) < 0.5))
    Qs = sp.csr_matrix(Q * (rng.uniform(size=Q.shape) < 0.5))
    grid = rng.integers(0, 3, size=(150, 2)).astype(float)  # ties everywhere
    return [
        (Q, X, {}), (Q32, X32, {}), (Q, X32, {}), (Q32, X32, {"metric": "cosine"}),
        (Qs, Xs, {}), (Qs.astype(np.float32), Xs.astype(np.float32), {}),
        (Q, X, {"metric": "manhattan"}), (grid[:10], grid, {}),
    ]


@pytest.mark.parametrize("k", [1, 4, 40])
def test_plain_python_gives_the_same_answers_bit_for_bit(monkeypatch, k):
    plain = plain_python_kernel(monkeypatch)
    expected = [brute.brute_kneighbors(Q, X, k, **kw) for Q, X, kw in searches()]
    monkeypatch.setattr(brute, "_kernel", plain)
    for (Q, X, kw), (distances, indices) in zip(searches(), expected, strict=True):
        got_d, got_i = brute.brute_kneighbors(Q, X, k, **kw)
        np.testing.assert_array_equal(got_i, indices, err_msg=str(kw))
        np.testing.assert_array_equal(got_d, distances, err_msg=str(kw))


def test_exact_searches_agree_bit_for_bit(monkeypatch):
    # The fallback functions directly, on float32 and float64 and mixed CSR index types.
    plain = plain_python_kernel(monkeypatch)
    rng = np.random.default_rng(6)
    Q, X = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(60, 4))
    rows = np.array([0, 3, 4])
    Qs, Xs = sp.csr_matrix(Q), sp.csr_matrix(X)
    Xs.indices, Xs.indptr = Xs.indices.astype(np.int64), Xs.indptr.astype(np.int64)
    for cosine in (False, True):
        outs = []
        for module in (_kernel, plain):
            out_d, out_i = np.zeros((5, 7)), np.zeros((5, 7), dtype=np.intp)
            module.exact_search_dense(Q, X, cosine, rows, out_d, out_i)
            outs.append((out_d, out_i))
        np.testing.assert_array_equal(outs[0][0], outs[1][0])
        np.testing.assert_array_equal(outs[0][1], outs[1][1])
    outs = []
    for module in (_kernel, plain):
        out_d, out_i = np.zeros((5, 7)), np.zeros((5, 7), dtype=np.intp)
        module.exact_search_csr(Qs.data, Qs.indices, Qs.indptr, Xs.data, Xs.indices,
                                Xs.indptr, 60, rows, out_d, out_i)
        outs.append((out_d, out_i))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_a_fresh_process_predicts_without_compiling_anything():
    # The first predictions of a new process (float64 and float32) load the extension: no
    # JIT compiler is imported, nothing is written beside the package.
    code = """
import sys
import numpy as np
from scratchlearn import KNeighborsClassifier
from scratchlearn._search import _kernel
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    X = rng.normal(size=(300, 10)).astype(dtype)
    KNeighborsClassifier(3, algorithm="brute").fit(X, X[:, 0] > 0).predict(X[:20])
print(_kernel.__file__, "numba" in sys.modules)
"""
    before = sorted(p.name for p in SOURCE.parent.rglob("*"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    kernel_file, numba_loaded = out.stdout.split()
    assert Path(kernel_file).suffix != ".py"
    assert numba_loaded == "False"
    after = sorted(p.name for p in SOURCE.parent.rglob("*"))
    assert [name for name in after if name not in before and ".pyc" not in name] == []
