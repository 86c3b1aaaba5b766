"""`make mutation`: mutation testing of the whole package with mutmut, a seeded sample of
each module's mutants, scored per file.

    python mutation/report.py [--sample N] [--seed S] [--jobs N] [--report-only] [PATH ...]

PATH: source files or folders under ``src/scratchlearn/`` (default: the whole package).

Every module is in scope, the Dask back ends, the output folder, model files, the CLI and
the experiments included. There is no list of accepted survivors: a mutant that survives is
a missing test or redundant code to delete; a true tuning knob is marked on its line with
``# pragma: no mutate`` and the reason.

For each module, ``--sample N`` of its mutants (all of them in a module that has fewer) are
drawn with a seed made of ``--seed`` and the module's path, so a rerun on unchanged code
tests the same mutants. Three steps:

1. mutmut (configured in ``pyproject.toml``'s ``[tool.mutmut]``) copies the sources to
   ``mutants/`` and mutates every function; this script reads the mutants' names there and
   draws the sample.
2. ``mutmut run`` on the sample: it first runs the selected tests once to learn which tests
   call which function, then, for each mutant, the tests that reach its function. The Dask
   tests' shared cluster then runs its workers as threads of the test process
   (``SCRATCHLEARN_TEST_CLUSTER=threads``, see ``tests/conftest.py``), so the mutant under
   test is the one the workers run and mutmut sees the tests that reach Dask code.
3. The compiled kernel (``_search/_order.py``, ``_topk.py``, ``_exact.py``): Cython in pure
   Python mode, compiled at install into extensions that Python prefers to the ``.py``, with
   ``@cython.*`` decorators that mutmut leaves alone. It is mutated as plain Python in
   ``mutation/.kernel/`` (a copy of the package without the extensions and without those
   decorator lines), run with ``SCRATCHLEARN_PURE_PYTHON_KERNEL=1`` and the kernel tests
   (``KERNEL_TESTS``), which call it directly.

Tests state behaviour, not wording: a mutant that only rewrites the prose of a string
(letters and spaces: a message, a label, a help text) is shown apart as "wording" and not
scored. A message replaced by ``None``, or a changed value inside an f-string, is scored.

Each file's score is detected / sampled; timeouts (a test ran 20 times longer than usual)
count as detected, a mutant that no test reaches ("no tests") as survived. Exit status 1
when the score over all files is under ``THRESHOLD`` or mutmut fails; 0 otherwise. Every
survivor is printed with the command that shows its change.
"""

from __future__ import annotations

import argparse
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
KERNEL_DIR = Path("mutation/.kernel")
KERNEL_TESTS = ["tests/test_kernel_topk.py", "tests/test_search_edge_cases.py"]
THRESHOLD = 90.0
#: Mutants drawn per module: 2 keep a run of the package within 30 minutes on two cores (23 on
#: 2026-12-07, 12 of them mutmut's two passes over the tests; 6 per module took 61 minutes).
SAMPLE = 2
#: mutmut as a module of this interpreter: works where its script is not on PATH (pip --target).
MUTMUT = [sys.executable, "-m", "mutmut"]
#: mutmut's own first step (sources copied to mutants/ and mutated), without running tests;
#: mutmut has no command for it (internal API, pinned by the mutation extra: mutmut < 4).
GENERATE = """
import sys
from mutmut.__main__ import create_mutants
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths

set_mutant_under_test("mutant_generation")
copy_src_dir()
copy_also_copy_files()
setup_source_paths()
create_mutants(int(sys.argv[1]))
"""

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


def source_files(paths: list[Path]) -> list[Path]:
    """The .py files under ``paths``, sorted."""
    files = set()
    for path in paths:
        files |= {path} if path.suffix == ".py" else set(path.rglob("*.py"))
    return sorted(f for f in files if "__pycache__" not in f.parts)


def environment(cwd: Path) -> dict[str, str]:
    env = dict(os.environ, SCRATCHLEARN_TEST_CLUSTER="threads")
    if cwd != ROOT:  # the staged kernel has no extension: let its .py run as plain Python
        env["SCRATCHLEARN_PURE_PYTHON_KERNEL"] = "1"
    return env


def draw(cwd: Path, files: list[Path], size: int, seed: int, jobs: int) -> list[str]:
    """Generate the mutants in ``cwd/mutants`` and draw ``size`` of each file's (seeded)."""
    shutil.rmtree(cwd / "mutants", ignore_errors=True)
    made = subprocess.run([sys.executable, "-c", GENERATE, str(jobs)], cwd=cwd,
                          env=environment(cwd), capture_output=True, text=True)
    if made.returncode != 0:
        print(f"mutmut could not generate the mutants in {cwd}:\n{made.stderr[-3000:]}")
        return []
    names = []
    for source, keys in sorted(mutants_by_file(cwd / "mutants", files).items()):
        rng = random.Random(f"{seed}:{source.as_posix()}")
        names += rng.sample(sorted(keys, key=natural), min(size, len(keys)))
    return sorted(names, key=natural)


def run_mutmut(cwd: Path, names: list[str], jobs: int, label: str) -> int:
    """``mutmut run`` of ``names`` in ``cwd``, its output to mutants/run.log, a progress line
    every minute."""
    log = cwd / "mutants" / "run.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*MUTMUT, "run", "--max-children", str(jobs), *names],
            cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=environment(cwd),
        )
        done = threading.Event()

        def heartbeat():
            while not done.wait(60):
                codes = [collect(cwd / "mutants").get(name, (None,))[0] for name in names]
                counts = Counter(STATUS.get(code, "suspicious") for code in codes)
                print(f"  {label}: {len(names) - counts['not checked']} of {len(names)} "
                      f"checked, {counts['survived'] + counts['no tests']} survived so far",
                      flush=True)

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


def stage_kernel() -> Path | None:
    """The package in ``mutation/.kernel/``, its kernel as plain Python, with its tests."""
    stage = ROOT / KERNEL_DIR
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "tests").mkdir(parents=True)
    target = stage / PACKAGE
    # Without the compiled extension, so that Python imports the (mutated) .py.
    shutil.copytree(ROOT / PACKAGE, target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    for module in KERNELS:
        kernel = (ROOT / module).read_text()
        plain = re.sub(r"^@cython\.\w+(\(.*\))?\n", "", kernel, flags=re.MULTILINE)
        if re.search(r"^\s*@", plain, flags=re.MULTILINE) or plain == kernel:
            print(f"{module}: its decorators are no longer one-line `@cython.*` lines; "
                  "update stage_kernel in mutation/report.py")
            return None
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
    return stage


# --- the results ----------------------------------------------------------------------------


def collect(mutants: Path) -> dict[str, tuple[int | None, Path]]:
    """{mutant id: (exit code, source file)} from mutmut's ``.meta`` files."""
    results = {}
    for meta in mutants.rglob("*.py.meta") if mutants.exists() else ():
        source = meta.relative_to(mutants).with_suffix("")  # drop .meta, keep .py
        try:
            data = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):  # being written
            continue
        for key, code in data.get("exit_code_by_key", {}).items():
            results[key] = (code, source)
    return results


def is_wording(key: str, source: Path, cwd: Path = ROOT) -> bool:
    """Whether mutant ``key`` of ``source`` changes only the prose inside string literals.

    Both the original and the mutated function are parsed (mutmut's line index) and every
    literal piece of text that holds a letter and a space is replaced by one placeholder; the
    mutant is wording when the two then read the same.
    """
    import libcst as cst  # mutmut's own dependency
    from mutmut.mutation.diff_apply import read_functions_from_index

    class Blank(cst.CSTTransformer):
        def leave_SimpleString(self, original, updated):
            return updated.with_changes(value='"…"') if prose(updated.value) else updated

        def leave_FormattedStringText(self, original, updated):
            return updated.with_changes(value="…") if prose(updated.value) else updated

    def prose(text: str) -> bool:
        return " " in text and any(ch.isalpha() for ch in text)

    here = os.getcwd()
    try:
        os.chdir(cwd)  # mutmut reads mutants/<source>
        functions = read_functions_from_index(key, source)
    except (OSError, ValueError):
        return False
    finally:
        os.chdir(here)
    if functions is None:
        return False
    original, mutant = (cst.Module([f.visit(Blank())]).code for f in functions)
    return original == mutant


def mutants_by_file(mutants: Path, files: list[Path]) -> dict[Path, list[str]]:
    by_file: dict[Path, list[str]] = {}
    for key, (_, source) in collect(mutants).items():
        if source in files:
            by_file.setdefault(source, []).append(key)
    return by_file


def report(sampled: dict[Path, list[str]]) -> int:
    """Print each file's score; 1 when the overall score is under THRESHOLD."""
    results = collect(ROOT / "mutants")
    results.update(collect(ROOT / KERNEL_DIR / "mutants"))
    header = (f"{'file':<42} {'sampled':>7} {'wording':>7} {'killed':>7} {'(t/o)':>6} "
              f"{'left':>5} {'score':>7}")
    print(f"\n{header}\n{'-' * len(header)}")
    totals, survivors, wording = Counter(), [], []
    for source, keys in sorted(sampled.items()):
        status = {key: STATUS.get(results.get(key, (None,))[0], "suspicious") for key in keys}
        for key in keys:
            if status[key] in ("survived", "no tests") and is_wording(
                    key, source, ROOT / KERNEL_DIR if source in KERNELS else ROOT):
                status[key] = "wording"
                wording.append(key)
        detected = sum(s in DETECTED for s in status.values())
        timeouts = sum(s == "timeout" for s in status.values())
        unchecked = sum(s == "not checked" for s in status.values())
        worded = sum(s == "wording" for s in status.values())
        left = [k for k in keys if status[k] not in DETECTED | {"not checked", "wording"}]
        checked = len(keys) - unchecked - worded
        score = 100.0 * detected / checked if checked else 100.0
        name = str(source.relative_to(PACKAGE)) + (" (plain Python)" if source in KERNELS else "")
        note = f"  ({unchecked} not checked)" if unchecked else ""
        print(f"{name:<42} {len(keys):>7} {worded:>7} {detected:>7} {timeouts:>6} {len(left):>5} "
              f"{score:>6.1f}%{note}")
        totals.update(sampled=len(keys), scored=checked, wording=worded, detected=detected,
                      timeouts=timeouts)
        survivors += [(k, status[k], source) for k in left]
    score = 100.0 * totals["detected"] / max(1, totals["scored"])
    print(f"{'-' * len(header)}\n{'all':<42} {totals['sampled']:>7} {totals['wording']:>7} "
          f"{totals['detected']:>7} {totals['timeouts']:>6} {len(survivors):>5} {score:>6.1f}%")
    if wording:
        print(f"\nWording only ({len(wording)}, not scored): " + ", ".join(wording))
    if survivors:
        print(f"\nSurviving mutants ({len(survivors)}): each is a missing test or redundant "
              "code. See one with `.venv/bin/mutmut show <id>` (kernel: in mutation/.kernel).")
        for key, status, _ in survivors:
            print(f"  {key}  [{status}]")
    print(f"\nScore over all files: {score:.1f}% (threshold {THRESHOLD}%)")
    return 1 if score < THRESHOLD else 0


def natural(key: str):
    """Sort mutant ids with their numbers in numeric order."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="source files or folders under src/scratchlearn (default: all)")
    parser.add_argument("--sample", type=int, default=SAMPLE, metavar="N",
                        help=f"mutants drawn per file (default {SAMPLE})")
    parser.add_argument("--seed", type=int, default=0, help="the draw's seed (default 0)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once")
    parser.add_argument("--report-only", action="store_true",
                        help="print the scores of the last run without running anything")
    args = parser.parse_args(argv)
    if args.sample < 1:
        parser.error(f"--sample must be at least 1, got {args.sample}")
    os.chdir(ROOT)
    paths = [Path(os.path.normpath(p)) for p in args.paths] or [PACKAGE]
    outside = [p for p in paths if PACKAGE not in (p, *p.parents) or not p.exists()]
    if outside:
        print(f"Not under {PACKAGE}: {', '.join(map(str, outside))}")
        return 2
    files = source_files(paths)
    main_files = [f for f in files if f not in KERNELS]
    kernels = [f for f in files if f in KERNELS]
    started = time.monotonic()
    sample_file = ROOT / "mutants" / "sample.json"
    if args.report_only:
        if not sample_file.exists():
            print("No earlier run: run without --report-only first.")
            return 2
        drawn = json.loads(sample_file.read_text())
    else:
        drawn = {}
        for cwd, scope, label in ((ROOT, main_files, "mutmut"),
                                  (KERNEL_DIR, kernels, "kernel (plain Python)")):
            if not scope:
                continue
            if cwd == KERNEL_DIR and stage_kernel() is None:
                return 1
            names = draw(ROOT / cwd, scope, args.sample, args.seed, args.jobs)
            if not names:
                return 1
            print(f"{label}: {len(names)} mutants drawn from {len(scope)} files "
                  f"(--sample {args.sample} --seed {args.seed}); output in {cwd}/mutants/run.log")
            if run_mutmut(ROOT / cwd, names, args.jobs, label):
                return 1
            drawn.update(dict.fromkeys(names, cwd.as_posix()))
        sample_file.parent.mkdir(exist_ok=True)
        sample_file.write_text(json.dumps(drawn))
    everything = collect(ROOT / "mutants") | collect(ROOT / KERNEL_DIR / "mutants")
    sampled: dict[Path, list[str]] = {}
    for key in drawn:
        if key in everything:
            sampled.setdefault(everything[key][1], []).append(key)
    status = report(sampled)
    if not args.report_only:
        minutes, seconds = divmod(int(time.monotonic() - started), 60)
        print(f"Run time: {minutes} min {seconds} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
