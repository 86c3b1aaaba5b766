"""No module of scratchlearn imports a private scikit-learn name.

scikit-learn moves and renames what lives in its ``_``-prefixed modules, and its
``_``-prefixed functions (``sklearn.utils.validation._check_sample_weight``, ...), without
a deprecation cycle, so one release can break an import that the last one allowed. Every
``import`` and ``from ... import`` of ``sklearn`` in ``src/scratchlearn`` is read from the
syntax tree, and any module path or imported name with a part starting with ``_`` fails
the test, listed by file and line. String forms (``importlib.import_module("sklearn._x")``)
are looked for in the source text as well.
"""

import ast
import re
from pathlib import Path

import scratchlearn

SOURCES = Path(scratchlearn.__file__).parent
#: "sklearn." followed by a dotted path with a part that starts with "_", inside a string.
PRIVATE_IN_TEXT = re.compile(r"""["']sklearn(\.\w+)*\._\w*""")


def private_sklearn_imports(source: str) -> list[tuple[int, str]]:
    """(line, what) for each import of a private scikit-learn module or name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "sklearn" and any(part.startswith("_") for part in parts):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "sklearn":
                continue
            private_module = any(part.startswith("_") for part in parts)
            for alias in node.names:
                if private_module or alias.name.startswith("_"):
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
    for number, line in enumerate(source.splitlines(), start=1):
        if PRIVATE_IN_TEXT.search(line):
            found.append((number, line.strip()))
    return found


def test_the_detector_finds_every_form():
    source = (
        "import sklearn.utils._param_validation\n"
        "from sklearn.utils.validation import _check_sample_weight, check_array\n"
        "from sklearn.utils._tags import Tags\n"
        "from sklearn.utils import check_random_state\n"
        "import sklearn\n"
        "from . import _kernel\n"
        "mod = importlib.import_module('sklearn.neighbors._base')\n"
    )
    assert [line for line, _ in private_sklearn_imports(source)] == [1, 2, 3, 7]


def test_no_module_imports_a_private_sklearn_name():
    modules = sorted(SOURCES.rglob("*.py"))
    assert len(modules) > 20  # the package was found
    offenders = [
        f"{path.relative_to(SOURCES.parent)}:{line}: {what}"
        for path in modules
        for line, what in private_sklearn_imports(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, "private scikit-learn imports:\n" + "\n".join(offenders)
