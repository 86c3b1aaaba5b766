"""Builds the compiled search kernel at install; everything else is in pyproject.toml.

The kernel is three modules of ``src/scratchlearn/_search/`` in Cython's pure Python mode:
``_order.py`` (with ``_order.pxd``, which the other two cimport), ``_topk.py`` and
``_exact.py``. cythonize compiles each into an extension module of the same name, which
Python imports in preference to the ``.py`` (the ``.py`` is installed too: it is the
source, and runs as plain Python where asked, see ``_search/_compiled.py``).
``pip install -e .`` builds the extensions in place, beside them.
"""

import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# -O3 vectorises the top-k's compare loops. -ffp-contract=off keeps every a·b + c two
# roundings (no fused multiply-add), so distances are the same bits on every CPU. No
# -march: the module must run on any CPU of its platform. (MSVC neither contracts nor
# takes these flags.)
FLAGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]
# SCRATCHLEARN_KERNEL_CFLAGS replaces them, for a build that only has to work, not run fast
# (tests/test_build.py: -O3 takes 35 s of the 45 s its wheel build costs).
if "SCRATCHLEARN_KERNEL_CFLAGS" in os.environ:
    FLAGS = os.environ["SCRATCHLEARN_KERNEL_CFLAGS"].split()
SEARCH = "src/scratchlearn/_search"

KERNEL = [
    Extension(
        f"scratchlearn._search.{name}",
        [f"{SEARCH}/{name}.py"],
        # _order.pxd is read by all three: a change to it rebuilds them (and ships in sdists)
        depends=[f"{SEARCH}/_order.pxd"],
        extra_compile_args=FLAGS,
    )
    for name in ("_order", "_topk", "_exact")
]

setup(ext_modules=cythonize(KERNEL, build_dir="build/cython"))  # the C stays out of src/
