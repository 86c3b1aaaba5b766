"""`make mutation`: mutation testing of the core modules with mutmut, scored per file.

    python mutation/report.py [--jobs N] [--keep [--survivors [--sample N]]] [--report-only]
                              [PATH ...]

PATH: source files or folders among the modules in scope (default: all of them):
``src/scratchlearn/_math/``, ``neighbors/``, ``linear_model/``, ``optim.py`` and the search
kernel's modules ``_search/_order.py``, ``_topk.py`` and ``_exact.py``. The Dask back ends
(``src/scratchlearn/_dask/``) are out of scope: they run on a cluster, and their tests
start real worker processes, which a per-mutant fork cannot afford.

Two passes:

1. **mutmut** (configured in ``pyproject.toml``'s ``[tool.mutmut]``) copies the sources to
   ``mutants/``, mutates every function of the modules in scope, and runs, for each
   mutant, only the tests that call the mutated function.
2. **The compiled kernel** (``_search/_order.py``, ``_topk.py``, ``_exact.py``): Cython in
   pure Python mode, each compiled at install into an extension that Python prefers to the
   ``.py`` (mutmut's copy would run the extensions, not the mutants), and their functions
   carry ``@cython.*`` decorators, which mutmut leaves alone. So the kernel is mutated as
   plain Python: a copy of the package without the extensions and with the ``@cython.*``
   lines of the three modules removed goes to ``mutation/.kernel/``, where mutmut runs on
   it with ``SCRATCHLEARN_PURE_PYTHON_KERNEL=1`` (which lets the ``.py`` files run) and
   the small kernel tests (``KERNEL_TESTS``), which call the kernel directly.

Each file's score is killed / (mutants − listed equivalents); timeouts count as killed.
The known-equivalent mutants are listed in ``mutation/equivalent.txt``, one per line:

    <mutant id> <function hash> <why it cannot be told apart, or changes only speed>

The hash is mutmut's hash of the mutated function's source: when the function changes,
its mutants are renumbered, so the entry is reported as stale and must be checked again.
The same file lists the mutants left out of the score because only the Dask tests reach
them (the Dask paths are out of scope); a whole function can be given as a pattern,
``<module>.<function>__mutmut_*`` with ``*`` for the hash.

Exit status 1 when a file scores under ``THRESHOLD`` (90%), when a listed equivalent no
longer exists, has changed, or was killed, or when mutmut fails; 0 otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path("src/scratchlearn")
#: The compiled kernel's modules (Cython in pure Python mode), mutated as plain Python.
KERNELS = [PACKAGE / "_search" / f"{name}.py" for name in ("_order", "_topk", "_exact")]
SCOPE = [PACKAGE / "_math", PACKAGE / "neighbors", PACKAGE / "linear_model", PACKAGE / "optim.py",
         *KERNELS]
KERNEL_DIR = Path("mutation/.kernel")
KERNEL_TESTS = ["tests/test_kernel_topk.py", "tests/test_search_edge_cases.py"]
EQUIVALENTS = Path("mutation/equivalent.txt")
THRESHOLD = 90.0
#: mutmut as a module of this interpreter: works where its script is not on PATH (pip --target).
MUTMUT = [sys.executable, "-m", "mutmut"]

#: mutmut's exit codes, as its ``status_by_exit_code``; anything else is "suspicious".
STATUS = {
    1: "killed", 3: "killed", 0: "survived", 5: "no tests", 2: "interrupted", None: "not checked",
    33: "no tests", 34: "skipped", 35: "suspicious", 36: "timeout", 37: "type check",
    -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault",
    -9: "segfault", -6: "abort",  # -6: the test process aborted (a native crash)
}
#: Statuses that count as detected.
DETECTED = {"killed", "timeout", "segfault", "abort", "type check"}


# --- the runs -------------------------------------------------------------------------------


def module_of(path: Path) -> str:
    """src/scratchlearn/a/b.py → scratchlearn.a.b; a folder → its package."""
    parts = path.with_suffix("").parts if path.suffix == ".py" else path.parts
    return ".".join(parts[1:])


def in_scope(path: Path) -> bool:
    return any(path == s or s in path.parents for s in SCOPE)


def source_files(paths: list[Path]) -> list[Path]:
    """The .py files under ``paths`` (each in scope), sorted."""
    files = set()
    for path in paths:
        files |= {path} if path.suffix == ".py" else set(path.rglob("*.py"))
    return sorted(f for f in files if "__pycache__" not in f.parts)


def run_mutmut(cwd: Path, globs: list[str], jobs: int, log: Path, label: str) -> int:
    """``mutmut run`` in ``cwd``, its output to ``log``, a progress line every minute."""
    env = dict(os.environ)
    if cwd != ROOT:  # the staged kernel has no extension: let its .py run as plain Python
        env["SCRATCHLEARN_PURE_PYTHON_KERNEL"] = "1"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*MUTMUT, "run", "--max-children", str(jobs), *globs],
            cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
        done = threading.Event()

        def heartbeat():
            while not done.wait(60):
                counts = Counter(STATUS.get(code, "suspicious")
                                 for code, _, _ in collect(cwd / "mutants", None).values())
                print(f"  {label}: {sum(counts.values()) - counts['not checked']} checked, "
                      f"{counts['survived']} survived so far", flush=True)

        thread = threading.Thread(target=heartbeat, daemon=True)
        thread.start()
        try:
            code = process.wait()
        finally:
            done.set()
    if code != 0:
        print(f"mutmut failed in {cwd} (exit status {code}); the end of {log}:")
        print(log.read_text(errors="replace")[-3000:])
    return code


def stage_kernel(jobs: int, keep: bool, survivors_only: bool = False) -> int:
    """The kernel as plain Python in ``mutation/.kernel/``, and mutmut run there."""
    stage = ROOT / KERNEL_DIR
    if not keep and stage.exists():
        shutil.rmtree(stage)
    (stage / "tests").mkdir(parents=True, exist_ok=True)
    target = stage / PACKAGE
    if target.exists():
        shutil.rmtree(target)
    # Without the compiled extension, so that Python imports the (mutated) .py.
    shutil.copytree(ROOT / PACKAGE, target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    for module in KERNELS:
        kernel = (ROOT / module).read_text()
        plain = re.sub(r"^@cython\.\w+(\(.*\))?\n", "", kernel, flags=re.MULTILINE)
        if re.search(r"^\s*@", plain, flags=re.MULTILINE) or plain == kernel:
            print(f"{module}: its decorators are no longer one-line `@cython.*` lines; "
                  "update stage_kernel in mutation/report.py")
            return 2
        (target / module.relative_to(PACKAGE)).write_text(plain)
    # The tests' shared helpers (tests/_*.py) too: the kernel tests import them.
    helpers = [path.relative_to(ROOT) for path in sorted((ROOT / "tests").glob("_*.py"))]
    for test in ["tests/conftest.py", *helpers, *KERNEL_TESTS]:
        shutil.copy2(ROOT / test, stage / test)
    pyproject = (ROOT / "pyproject.toml").read_text()
    pytest_options = pyproject.split("[tool.pytest.ini_options]")[1].split("\n[")[0]
    main_config = tomllib.loads(pyproject)["tool"]["mutmut"]
    shared = "".join(f"{key} = {json.dumps(main_config[key])}\n" for key in
                     ("timeout_multiplier", "timeout_constant", "process_isolation")
                     if key in main_config)
    (stage / "pyproject.toml").write_text(
        "# Written by mutation/report.py: the kernel's functions as plain Python.\n"
        "[tool.mutmut]\n"
        'source_paths = ["src/"]\n'
        f"only_mutate = {json.dumps([module.as_posix() for module in KERNELS])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(KERNEL_TESTS)}\n"
        f"{shared}"
        "use_git_change_detection = false\n\n"
        f"[tool.pytest.ini_options]{pytest_options}"
    )
    # Re-test only survivors when there is an earlier kernel run; else run every mutant.
    survivors_only = survivors_only and (stage / "mutants").exists()
    names = survivors(KERNELS, stage / "mutants") if survivors_only else []
    if survivors_only and not names:
        print("No kernel survivors to re-test.")
        return 0
    return run_mutmut(stage, names, jobs, stage / "mutants" / "run.log", "kernel (plain Python)")


# --- the results ----------------------------------------------------------------------------


def collect(mutants: Path, files: list[Path] | None) -> dict[str, tuple]:
    """{mutant id: (exit code, source file, function hash)} from mutmut's ``.meta`` files."""
    results = {}
    if not mutants.exists():
        return results
    for meta in mutants.rglob("*.py.meta"):
        source = meta.relative_to(mutants).with_suffix("")  # drop .meta, keep .py
        if files is not None and source not in files:
            continue
        try:
            data = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):  # being written
            continue
        hashes = data.get("hash_by_function_name", {})
        for key, code in data.get("exit_code_by_key", {}).items():
            function = key.partition("__mutmut_")[0].rpartition(".")[2]
            results[key] = (code, source, hashes.get(function, "?"))
    return results


def read_equivalents(path: Path) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """{mutant id: (function hash, reason)}, and the malformed lines."""
    equivalents, bad = {}, []
    if not path.exists():
        return equivalents, bad
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or "__mutmut_" not in parts[0]:
            bad.append(f"{path}:{number}: expected '<mutant id> <function hash> <reason>'")
            continue
        if parts[0] in equivalents:
            bad.append(f"{path}:{number}: {parts[0]} is listed twice")
        equivalents[parts[0]] = (parts[1], parts[2])
    return equivalents, bad


def listed(key: str, equivalents: dict[str, tuple[str, str]]) -> str | None:
    """The entry of ``equivalents`` that lists mutant ``key`` (itself or a pattern)."""
    if key in equivalents:
        return key
    return next((e for e in equivalents if "*" in e and fnmatch.fnmatchcase(key, e)), None)


def report(files: list[Path], kernel: bool) -> int:
    results = collect(ROOT / "mutants", files)
    if kernel:
        results.update(collect(ROOT / KERNEL_DIR / "mutants", KERNELS))
    equivalents, problems = read_equivalents(ROOT / EQUIVALENTS)
    by_file: dict[Path, list[str]] = {}
    for key, (_, source, _) in results.items():
        by_file.setdefault(source, []).append(key)

    rows, survivors = [], []
    header = (f"{'file':<40} {'mutants':>7} {'killed':>7} {'(t/o)':>6} {'listed':>7} "
              f"{'left':>5} {'score':>7}")
    print()
    print(header)
    print("-" * len(header))
    failed = False
    for source in files:
        keys = sorted(by_file.get(source, []), key=natural)
        name = str(source.relative_to(PACKAGE)) + (" (plain Python)" if source in KERNELS
                                                    else "")
        if not keys:
            why = ("no functions" if source.name == "__init__.py"
                   else "not run (see above)" if source not in KERNELS or kernel
                   else "not run")
            print(f"{name:<40} {'-':>7}   {why}")
            continue
        status = {key: STATUS.get(results[key][0], "suspicious") for key in keys}
        killed = sum(s in DETECTED for s in status.values())
        entry = {k: listed(k, equivalents) for k in keys}
        equivalent = [k for k in keys if entry[k] and status[k] not in DETECTED]
        left = [k for k in keys if status[k] not in DETECTED and not entry[k]]
        unchecked = sum(s == "not checked" for s in status.values())
        counted = len(keys) - len(equivalent)
        score = 100.0 * killed / counted if counted else 100.0
        low = score < THRESHOLD
        failed |= low
        note = f"  ({unchecked} not checked)" if unchecked else ""
        timeouts = sum(s == "timeout" for s in status.values())
        print(f"{name:<40} {len(keys):>7} {killed:>7} {timeouts:>6} {len(equivalent):>7} "
              f"{len(left):>5} {score:>6.1f}%{'  < ' + str(THRESHOLD) + '%' if low else ''}"
              f"{note}")
        rows.append((len(keys), killed, timeouts, len(equivalent)))
        survivors += [(k, status[k], results[k][2]) for k in left if status[k] != "not checked"]
    if rows:
        total, killed, timeouts, equivalent = (sum(col) for col in zip(*rows, strict=True))
        print("-" * len(header))
        score = 100.0 * killed / max(1, total - equivalent)
        print(f"{'all':<40} {total:>7} {killed:>7} {timeouts:>6} {equivalent:>7} "
              f"{total - killed - equivalent:>5} {score:>6.1f}%")
        print("killed includes the timeouts (t/o): mutants whose tests ran 20 times longer "
              "than usual.")

    # Every listed equivalent of the files reported must still exist, unchanged, alive.
    reported_modules = {module_of(f) for f in files}
    for key, (digest, _) in sorted(equivalents.items(), key=lambda kv: natural(kv[0])):
        module = key.partition("__mutmut_")[0].rpartition(".")[0]
        if module not in reported_modules:
            continue
        if "*" in key:
            matched = [k for k in results if fnmatch.fnmatchcase(k, key)]
            if not matched:
                problems.append(f"{key}: matches no mutant any more; remove it")
            elif any(STATUS.get(results[k][0]) in DETECTED for k in matched):
                problems.append(f"{key}: a test now kills some of these; list the others "
                                "one by one")
            continue
        if key not in results:
            problems.append(f"{key}: listed as equivalent but no longer exists; remove it")
        elif results[key][2] != digest:
            problems.append(f"{key}: its function changed since it was listed as equivalent "
                            f"(hash {digest} → {results[key][2]}); check it again")
        elif STATUS.get(results[key][0]) in DETECTED:
            problems.append(f"{key}: listed as equivalent but a test kills it; remove it")

    if survivors:
        print(f"\nSurviving mutants ({len(survivors)}): see one with "
              "`.venv/bin/mutmut show <id>` (kernel: run it in mutation/.kernel). To list one "
              f"as equivalent, add its line to {EQUIVALENTS} with the reason:")
        for key, status, digest in survivors:
            print(f"  {key} {digest}  [{status}]")
    if problems:
        print("\nProblems with the equivalents list:")
        for problem in problems:
            print(f"  {problem}")
    n_listed = sum(1 for k in results if listed(k, equivalents))
    print(f"\nListed in {EQUIVALENTS} (equivalent, or reached only by the Dask tests): "
          f"{n_listed}")
    return 1 if failed or problems else 0


def survivors(files: list[Path], mutants: Path = ROOT / "mutants") -> list[str]:
    """The ids of the last run's mutants of ``files`` that survived, timed out (a slow
    survivor can time out on a busy machine) or were not tested yet (new or changed
    functions), and are not listed."""
    equivalents, _ = read_equivalents(ROOT / EQUIVALENTS)
    return sorted(
        key for key, (code, _, _) in collect(mutants, files).items()
        if STATUS.get(code, "suspicious") not in DETECTED - {"timeout"}
        and not listed(key, equivalents)
    )


def sample_unchecked(names: list[str], files: list[Path], size: int) -> list[str]:
    """``names`` with its never-tested mutants cut down to a random ``size`` of them (seeded,
    so a rerun picks the same ones); survivors and timeouts are always kept."""
    unchecked = {key for key, (code, _, _) in collect(ROOT / "mutants", files).items()
                 if code is None}
    fresh = sorted((n for n in names if n in unchecked), key=natural)
    rng = random.Random(0)
    chosen = set(rng.sample(fresh, min(size, len(fresh))))
    print(f"Sampling {len(chosen)} of the {len(fresh)} mutants not tested yet; the score of a "
          "file with mutants left untested is an estimate (its row says how many)")
    return [n for n in names if n not in unchecked or n in chosen]


def natural(key: str):
    """Sort mutant ids with their numbers in numeric order."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="source files or folders in scope")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once")
    parser.add_argument("--keep", action="store_true",
                        help="keep mutants/ from the last run: without paths, only new or "
                        "changed functions are tested again")
    parser.add_argument("--survivors", action="store_true",
                        help="with --keep: test only the mutants that survived, timed out "
                        "or are new since the last run, and are not listed (after adding "
                        "tests or changing code)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="with --keep --survivors: test only a random N (seeded) of the "
                        "mutants never tested yet, for an estimate when a full run is too slow")
    parser.add_argument("--report-only", action="store_true",
                        help="print the scores of the last run without running anything")
    args = parser.parse_args(argv)
    if args.survivors and not args.keep:
        parser.error("--survivors needs --keep (the last run's results)")
    if args.sample is not None and not args.survivors:
        parser.error("--sample needs --keep --survivors (it samples the untested mutants)")
    os.chdir(ROOT)

    paths = [Path(os.path.normpath(p)) for p in args.paths] or SCOPE
    outside = [p for p in paths if not in_scope(p) or not p.exists()]
    if outside:
        print(f"Not a module in scope: {', '.join(map(str, outside))}. In scope: "
              f"{', '.join(map(str, SCOPE))}")
        return 2
    files = source_files(paths)
    kernel = any(module in files for module in KERNELS)
    started = time.monotonic()
    if not args.report_only:
        main_files = [f for f in files if f not in KERNELS and f.name != "__init__.py"]
        if main_files:
            if not args.keep and Path("mutants").exists():
                shutil.rmtree("mutants")
            # No names: every mutant (mutmut keeps earlier results only with --keep); with
            # paths, the mutants of those modules, always re-tested.
            globs = [] if not args.paths else [f"{module_of(f)}.*" for f in main_files]
            if args.survivors:
                globs = survivors(main_files)
                if args.sample is not None:
                    globs = sample_unchecked(globs, main_files, args.sample)
                if not globs:
                    print("No survivors to re-test.")
            print(f"mutmut: {len(main_files)} modules, {args.jobs} at a time; its output goes "
                  "to mutants/run.log")
            if (not args.survivors or globs) and run_mutmut(
                ROOT, globs, args.jobs, ROOT / "mutants" / "run.log", "mutmut"
            ):
                return 1
        if kernel:
            print("mutmut: the kernel as plain Python, in mutation/.kernel/")
            if stage_kernel(args.jobs, args.keep, args.survivors):
                return 1
    status = report(files, kernel)
    if not args.report_only:
        minutes, seconds = divmod(int(time.monotonic() - started), 60)
        print(f"Run time: {minutes} min {seconds} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
