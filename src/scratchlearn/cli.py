"""The ``scratchlearn`` command: argument parsing and dispatch only.

Exit statuses: 0 done; 1 the run failed (nothing was changed unless the message says so) or
another run is writing to the same ``--out``; 2 a mistake in the command or an ``--out`` that
cannot be used (found before anything is computed); 130 interrupted (SIGINT, Ctrl-C); 143
terminated (SIGTERM). Errors are one line on stderr; ``--debug`` adds the traceback.

``--out`` is written as ``scratchlearn._output`` describes: a run changes only what it can
prove it made (a ``runs/`` folder, generations, links and a ``.lock`` that carry its
markers); anything else under a name the layout needs is refused with exit status 2 before
computing, and everything else in the folder is left alone. A finished run's results are
fsync'ed, so they survive a power cut; an interrupted one leaves the previous results.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from ._output import ResultsFolder

USAGE = "scratchlearn run [TASK ...] [--out DIR] [--save-models] [--quiet] [--debug]"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake in one line and exits 2, without the help text."""

    def error(self, message: str):
        self.exit(2, f"scratchlearn: error: {message}. Usage: {USAGE}\n")


class ReportFailed(Exception):
    """Building the report raised: a defect in report code (or in results it cannot read).
    The run's new generation is not made current, so the previous results stay."""


class Terminated(KeyboardInterrupt):
    """Raised by the SIGTERM handler, so SIGTERM unwinds (and cleans up) like Ctrl-C."""


def build_parser() -> argparse.ArgumentParser:
    from .experiments import TASK_NAMES

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
        help=f"tasks to run, from: {', '.join(TASK_NAMES)} (default: all)",
    )
    # A string, not a Path: Path("") is ".", and an empty --out must be refused.
    run.add_argument("--out", default="results", help="output folder (default: results)")
    run.add_argument(
        "--save-models",
        action="store_true",
        help="also save each task's fitted models as TASK/models/NAME.npz (scratchlearn.load)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def run_tasks(
    tasks: Sequence[str],
    results: ResultsFolder,
    *,
    quiet: bool = False,
    seconds: dict[str, float] | None = None,
    save_models: bool = False,
) -> list[Path]:
    """Run each task, draw its figures and write its outputs into ``results``' new
    generation; return the task folders (as users will open them).

    ``seconds``, when given, receives each task's wall-clock time (for the report).
    """
    import matplotlib.pyplot as plt

    from .experiments import TASKS
    from .plotting import FIGURES
    from .report import task_files

    folders = []
    for name in tasks:
        started = time.perf_counter()
        module = TASKS[name]
        outcome = module.run(module.Config(show_progress=not quiet))
        models = outcome.get("models") if save_models else None
        figures = FIGURES[name](outcome)
        try:
            texts = task_files(name, outcome)  # text tables and explorer.json, by the report
            folders.append(results.write_task(name, outcome["metrics"], figures, texts, models))
        finally:  # written or not, pyplot must not keep them alive
            for figure in figures.values():
                plt.close(figure)
        if seconds is not None:
            seconds[name] = time.perf_counter() - started
    return folders


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _Signals:
    """``with _Signals(handler, *signums)``: ``handler`` for ``signums`` in the block (main
    thread only), then the handlers found. A class, not a generator: a generator that is
    never exited would restore them when it is collected (after ``main`` returns)."""

    def __init__(self, handler: object, *signums: int):
        self.handler, self.signums = handler, signums
        self.saved: dict[int, object] = {}

    def __enter__(self) -> None:
        if _in_main_thread():
            for signum in self.signums:
                self.saved[signum] = signal.getsignal(signum)
                signal.signal(signum, self.handler)

    def __exit__(self, *exc_info: object) -> None:
        for signum, previous in self.saved.items():
            if previous is not None:  # None: a handler not set from Python; leave ours
                signal.signal(signum, previous)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _kept(results: ResultsFolder) -> str:
    """What the output folder holds now, from the disk (true after any interruption)."""
    if results.switched:
        return f"this run's results are complete: {results.path} holds them"
    if results.previous is not None:
        return f"no results were changed: {results.path} still holds the previous run"
    return f"no results were written to {results.path}"


def _stopped(error: KeyboardInterrupt) -> tuple[str, int]:
    return ("terminated", 143) if isinstance(error, Terminated) else ("interrupted", 130)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (see the module docstring).

    As the program (``argv`` None), it returns with SIGINT and SIGTERM ignored: the run is
    over, and a signal while Python exits must not print a traceback. Called with ``argv``,
    it restores the handlers it found.
    """
    handlers = _Signals(_raise_terminated, signal.SIGTERM)
    handlers.__enter__()
    try:
        return _main(argv)
    except KeyboardInterrupt as error:  # before the output folder was touched
        word, status = _stopped(error)
        print(f"scratchlearn: {word}; no results were changed.", file=sys.stderr)
        return status
    finally:
        if argv is None and _in_main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            handlers.__exit__(None, None, None)


def _main(argv: Sequence[str] | None) -> int:
    from ._output import FolderBusy, OutputFolderError, ResultsFolder, advice
    from .experiments import TASK_NAMES  # not TASKS: --out is checked before loading them

    parser = build_parser()
    args = parser.parse_args(argv)
    tasks = list(dict.fromkeys(args.tasks)) or list(TASK_NAMES)  # each once, in the given order
    unknown = [task for task in tasks if task not in TASK_NAMES]
    if unknown:
        parser.error(f"unknown task {unknown[0]!r} (choose from {', '.join(TASK_NAMES)})")

    def fail(message: str, status: int) -> int:
        if args.debug:
            traceback.print_exc()
        print(f"scratchlearn: error: {message}", file=sys.stderr)
        return status

    # The folder is checked, created, locked and tidied (of what is ours) before computing.
    try:
        results = ResultsFolder.open(args.out, tasks)
    except OutputFolderError as error:
        return fail(_one_line(error), 2)
    except FolderBusy as error:
        return fail(_one_line(error), 1)
    except OSError as error:  # tidying: it keeps every result as it was
        cause = error.strerror or _one_line(error)
        return fail(
            f"could not prepare {args.out}: {cause}; no results were changed; {advice(error)}.", 1
        )

    from .report import ReportError, write_report
    from .report.explorer import write_explorer

    started = time.perf_counter()
    seconds: dict[str, float] = {}

    def report(generation: Path) -> None:
        # Strict: any error fails the run before the switch; OSError is the disk's, not ours.
        try:
            write_explorer(generation)  # the report links to it when it exists
            write_report(
                generation, total_seconds=time.perf_counter() - started, task_seconds=seconds
            )
        except OSError:
            raise
        except Exception as error:
            kind = "" if isinstance(error, ReportError) else f"{type(error).__name__}: "
            raise ReportFailed(f"{kind}{_one_line(error)}") from error

    try:
        try:
            folders = run_tasks(
                tasks, results, quiet=args.quiet, seconds=seconds, save_models=args.save_models
            )
            # The report covers every task of the new generation; times stay out of metrics.
            results.commit(report)
        finally:
            with _Signals(signal.SIG_IGN, signal.SIGINT, signal.SIGTERM):
                results.close()  # a second Ctrl-C must not cut the clean-up short
    except KeyboardInterrupt as error:
        word, status = _stopped(error)
        if args.debug:
            traceback.print_exc()
        print(f"scratchlearn: {word}; {_kept(results)}.", file=sys.stderr)
        return status
    except OSError as error:
        where = f" ({error.filename})" if error.filename else ""
        cause = error.strerror or _one_line(error)
        return fail(
            f"could not write results: {cause}{where}; {_kept(results)}; {advice(error)}.", 1
        )
    except Exception as error:  # one line, never a traceback (--debug shows both)
        hint = "" if args.debug else " (--debug shows where)"
        if isinstance(error, ReportFailed):
            return fail(f"could not write the report: {error}; {_kept(results)}{hint}.", 1)
        kind = "" if isinstance(error, ValueError) else f"{type(error).__name__}: "
        return fail(f"{kind}{_one_line(error)}; {_kept(results)}{hint}.", 1)
    for folder in folders:
        print(f"wrote {folder}")
    print(f"wrote {results.path / 'report.html'} (and report.md, explorer.html)")
    print(f"done in {time.perf_counter() - started:.1f} s; results are in {results.path}/")
    return 0
