"""Builds the compiled search kernel at install; everything else is in pyproject.toml.

``src/scratchlearn/_search/_kernel.py`` is Cython in pure Python mode: cythonize compiles
it into an extension module of the same name, which Python imports in preference to the
``.py`` (the ``.py`` is installed too: it is the source, and runs as plain Python where
asked, see its docstring). ``pip install -e .`` builds the extension in place, beside it.
"""

import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

# -O3 vectorises the top-k's compare loops. -ffp-contract=off keeps every a·b + c two
# roundings (no fused multiply-add), so distances are the same bits on every CPU. No
# -march: the module must run on any CPU of its platform. (MSVC neither contracts nor
# takes these flags.)
FLAGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off"]

KERNEL = Extension(
    "scratchlearn._search._kernel",
    ["src/scratchlearn/_search/_kernel.py"],
    extra_compile_args=FLAGS,
)

setup(ext_modules=cythonize([KERNEL], build_dir="build/cython"))  # the C stays out of src/
