"""The search kernel is compiled at install (issue 19: no start-up tax), and its source is
still the same algorithm as plain Python.

The kernel is three modules of ``_search`` (``_order``, ``_topk``, ``_exact``) in Cython's
pure Python mode: ``setup.py`` compiles each into an extension module of the same name,
which Python imports in preference to the ``.py``. Loaded as plain Python each refuses,
unless ``SCRATCHLEARN_PURE_PYTHON_KERNEL=1`` asks for it (``make mutation`` mutates them
that way); then they must give the same answers, bit for bit.
"""

import importlib.machinery
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from scratchlearn._search import _exact, _order, _topk, brute

COMPILED = {"_order": _order, "_topk": _topk, "_exact": _exact}
SOURCES = Path(brute.__file__).parent


def plain_python_kernel(monkeypatch, allow: bool = True) -> types.SimpleNamespace:
    """The kernel's three sources loaded as plain Python modules (beside the compiled ones),
    as the modules of a package of their own, so that their imports of each other find the
    plain ``_order`` rather than its extension."""
    if allow:
        monkeypatch.setenv("SCRATCHLEARN_PURE_PYTHON_KERNEL", "1")
    else:
        monkeypatch.delenv("SCRATCHLEARN_PURE_PYTHON_KERNEL", raising=False)
    package = types.ModuleType("scratchlearn_plain_kernel")
    package.__path__ = [str(SOURCES)]  # for the plain helper module (_compiled)
    monkeypatch.setitem(sys.modules, package.__name__, package)
    modules = {}
    for name in COMPILED:  # _order first: the others import it
        spec = importlib.util.spec_from_file_location(f"{package.__name__}.{name}",
                                                      SOURCES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        modules[name] = module
    return types.SimpleNamespace(**modules)


@pytest.mark.parametrize("name", list(COMPILED))
def test_the_kernel_in_use_is_the_compiled_extension(name):
    module, source = COMPILED[name], SOURCES / f"{name}.py"
    suffix = "".join(Path(module.__file__).suffixes)
    assert suffix in importlib.machinery.EXTENSION_SUFFIXES, module.__file__
    # An edit of the source (or of _order.pxd) without a rebuild would leave the old code
    # running.
    for edited in (source, SOURCES / "_order.pxd"):
        assert Path(module.__file__).stat().st_mtime >= edited.stat().st_mtime, (
            f"{module.__file__} is older than {edited}: rebuild it (make test, or pip install -e .)"
        )


def test_plain_python_refuses_without_being_asked(monkeypatch):
    with pytest.raises(ImportError, match=r"(?s)compiled search kernel.*[Rr]einstall.*"
                                          r"SCRATCHLEARN_PURE_PYTHON_KERNEL=1"):
        plain_python_kernel(monkeypatch, allow=False)


def test_plain_python_runs_plain_python(monkeypatch):
    # All three modules are their sources (none imports an extension in their place).
    plain = plain_python_kernel(monkeypatch)
    for name in COMPILED:
        assert getattr(plain, name).__file__ == str(SOURCES / f"{name}.py")
    assert plain._topk.keep_smallest is plain._order.keep_smallest  # a Python function


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
    monkeypatch.setattr(brute, "_topk", plain._topk)
    monkeypatch.setattr(brute, "_exact", plain._exact)
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
        for module in (_exact, plain._exact):
            out_d, out_i = np.zeros((5, 7)), np.zeros((5, 7), dtype=np.intp)
            module.exact_search_dense(Q, X, cosine, rows, out_d, out_i)
            outs.append((out_d, out_i))
        np.testing.assert_array_equal(outs[0][0], outs[1][0])
        np.testing.assert_array_equal(outs[0][1], outs[1][1])
    outs = []
    for module in (_exact, plain._exact):
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
from scratchlearn._search import _exact, _order, _topk
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    X = rng.normal(size=(300, 10)).astype(dtype)
    KNeighborsClassifier(3, algorithm="brute").fit(X, X[:, 0] > 0).predict(X[:20])
print(_order.__file__, _topk.__file__, _exact.__file__, "numba" in sys.modules)
"""
    before = sorted(p.name for p in SOURCES.rglob("*"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    *kernel_files, numba_loaded = out.stdout.split()
    assert len(kernel_files) == 3
    assert all(Path(file).suffix != ".py" for file in kernel_files), kernel_files
    assert numba_loaded == "False"
    after = sorted(p.name for p in SOURCES.rglob("*"))
    assert [name for name in after if name not in before and ".pyc" not in name] == []
