"""The ``scratchlearn`` command: argument parsing and dispatch only."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__

USAGE = "scratchlearn run [TASK ...] [--out DIR] [--quiet]"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake in one line and exits 2, without the help text."""

    def error(self, message: str):
        self.exit(2, f"scratchlearn: error: {message}. Usage: {USAGE}\n")


def build_parser() -> argparse.ArgumentParser:
    from .experiments import TASKS

    parser = _Parser(prog="scratchlearn", description="Exercise Sheet 2, reproduced and extended.")
    parser.add_argument("--version", action="version", version=f"scratchlearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser(
        "run",
        help="run tasks and write figures and metrics",
        description="Run the sheet's tasks; with no TASK, run all of them.",
    )
    run.add_argument(
        "tasks",
        nargs="*",
        metavar="TASK",
        help=f"tasks to run, from: {', '.join(TASKS)} (default: all)",
    )
    run.add_argument(
        "--out", type=Path, default=Path("results"), help="output folder (default: results)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run_tasks(
    tasks: Sequence[str],
    out: Path,
    *,
    quiet: bool = False,
    seconds: dict[str, float] | None = None,
) -> list[Path]:
    """Run each task, draw its figures and write its outputs; return the task folders.

    ``seconds``, when given, receives each task's wall-clock time (for the report).
    """
    from ._output import write_task_outputs
    from .experiments import TASKS
    from .plotting import FIGURES

    folders = []
    for name in tasks:
        started = time.perf_counter()
        module = TASKS[name]
        results = module.run(module.Config(show_progress=not quiet))
        folders.append(
            write_task_outputs(
                out, name, results["metrics"], FIGURES[name](results), results.get("texts")
            )
        )
        if seconds is not None:
            seconds[name] = time.perf_counter() - started
    return folders


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 failed run, 2 bad usage)."""
    from .experiments import TASKS
    from .report import write_report

    parser = build_parser()
    args = parser.parse_args(argv)
    tasks = list(dict.fromkeys(args.tasks)) or list(TASKS)  # each task once, in the given order
    unknown = [task for task in tasks if task not in TASKS]
    if unknown:
        parser.error(f"unknown task {unknown[0]!r} (choose from {', '.join(TASKS)})")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {str(args.out)!r} is a file, not a folder; choose another path")
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    try:
        folders = run_tasks(tasks, args.out, quiet=args.quiet, seconds=seconds)
        # The report covers every task with outputs in --out; times stay out of metrics.json.
        report = write_report(
            args.out, total_seconds=time.perf_counter() - started, task_seconds=seconds
        )
    except KeyboardInterrupt:
        print("scratchlearn: interrupted; earlier results were left as they were.", file=sys.stderr)
        return 130
    except OSError as error:  # the run itself writes nothing but --out
        print(
            f"scratchlearn: error: could not write results: {error}; choose another --out "
            "folder or free some space.",
            file=sys.stderr,
        )
        return 1
    except ValueError as error:
        print(f"scratchlearn: error: {error}", file=sys.stderr)
        return 1
    for folder in folders:
        print(f"wrote {folder}")
    print(f"wrote {report} (and report.md)")
    print(f"done in {time.perf_counter() - started:.1f} s; results are in {args.out}/")
    return 0
