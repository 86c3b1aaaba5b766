"""The package builds into a wheel with no deprecation warning from the build backend,
and the wheel holds the compiled search kernel.

setuptools announces removals (like the ``project.license`` table, unsupported after
2027-02-18) as warnings during the build, months ahead. Building here makes the next one
fail a test the day it appears, rather than a fresh install the day it takes effect. The
build compiles the kernel's modules (``_search/_order.py``, ``_topk.py``, ``_exact.py``) with
Cython (``setup.py``), as every install does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_builds_without_deprecation_warnings(tmp_path: Path) -> None:
    # Build from a copy so the checkout gets no build/ or egg-info folders.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    # Without the extension built in place: the wheel must get the one its build compiles.
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))

    # Unoptimised (setup.py's SCRATCHLEARN_KERNEL_CFLAGS): what this test checks is that the
    # build works and warns of nothing; -O3 would take most of its time. FMA stays off.
    quick = {**os.environ, "SCRATCHLEARN_KERNEL_CFLAGS": "-O0 -ffp-contract=off"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose",
         "--disable-pip-version-check", "--wheel-dir", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
        env=quick,
    )
    output = build.stdout + build.stderr
    assert build.returncode == 0, output[-4000:]
    warnings = [line for line in output.splitlines() if re.search("deprecat", line, re.I)]
    assert not warnings, "the build warns of a deprecation:\n" + "\n".join(warnings)

    (wheel,) = (tmp_path / "dist").glob("scratchlearn-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
        assert "License-Expression: MIT" in text
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())
        assert "numba" not in text  # nothing compiles at run time
        # The compiled kernel, and its sources beside it (plain Python on request).
        for name in ("_order", "_topk", "_exact"):
            module = f"scratchlearn/_search/{name}"
            kernel = [n for n in archive.namelist() if n.startswith(f"{module}.")]
            assert f"{module}.py" in kernel
            assert any(n.endswith((".so", ".pyd")) for n in kernel), kernel
