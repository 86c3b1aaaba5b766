"""The compiled search kernel's modules, and the one guard they share when run as plain
Python.

``_order`` (the (value, index) order: quickselect, sorting, insertion), ``_topk`` (the
running top-k) and ``_exact`` (exact float64 distances, the re-rank and the exact
fallback) do the per-entry work of the brute force that NumPy would do in several passes.
Each releases the GIL, so the search runs tiles on several Python threads at once.

They are Cython's "pure Python mode": plain Python whose annotations give the C types
(``floating`` is float32 or float64, ``T[:, :]`` a typed memoryview); ``_order.pxd``
declares what ``_topk`` and ``_exact`` cimport from ``_order``. ``setup.py`` compiles each
into an extension module of the same name, which Python imports in preference to the
``.py`` beside it: nothing compiles at run time, and a new process loads them in
milliseconds. The same files still run as plain Python (Cython's ``cython`` module stands
in for the compiler), all three together, which ``make mutation`` uses to mutate them.
Loaded as plain Python each refuses to run (:func:`refuse_plain_python`), with advice to
reinstall, unless the environment variable ``SCRATCHLEARN_PURE_PYTHON_KERNEL=1`` asks for
it: plain Python is thousands of times slower, so a missing extension should show, not
crawl.
"""

from __future__ import annotations

import os

#: Set to "1" to run the kernel's modules as plain Python where the extensions are missing.
PURE_PYTHON = "SCRATCHLEARN_PURE_PYTHON_KERNEL"


def refuse_plain_python(module: str) -> None:
    """Raise ImportError for kernel ``module`` loaded as plain Python, unless asked for."""
    if os.environ.get(PURE_PYTHON) != "1":
        raise ImportError(
            f"scratchlearn's compiled search kernel ({module}) is missing: this installation "
            "has only its Python source. Reinstall scratchlearn where a C compiler and "
            "Python's headers are available (pip install --force-reinstall --no-cache-dir "
            f"scratchlearn, or pip install -e . in a checkout); or set {PURE_PYTHON}=1 to run "
            "the kernel as plain Python, thousands of times slower (for testing)."
        )
