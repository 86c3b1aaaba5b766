"""Writing a run's results so that the output folder is never half-written or mixed, and
nothing in it that scratchlearn did not make is ever changed.

Layout of an output folder ``DIR`` (``scratchlearn run --out DIR``)::

    DIR/report.html -> latest/report.html   the paths users open: fixed relative links,
    DIR/report.md   -> latest/report.md     made once, then left alone (also explorer.html
    DIR/task1       -> latest/task1         and plotly.min.js; one link per task with results)
    DIR/latest      -> runs/<generation>    the current generation
    DIR/runs/.scratchlearn-runs             marks runs/ as scratchlearn's
    DIR/runs/<UTC time>-<pid>/              a generation: every task folder and the report,
                                            and .scratchlearn-generation holding its name
    DIR/.lock                               locked (flock) by the run writing DIR; it holds
                                            a signature line, then that run's pid

**The guarantee.** At every instant, whatever stops the run (an error, SIGINT, SIGTERM,
SIGKILL), DIR holds for each task either its complete previous results or its complete new
ones, and ``report.html``/``report.md`` describe exactly the ``metrics.json`` files beside
them (each records the SHA-256 of every ``metrics.json`` it was built from). After a power
cut or an OS crash the same holds for what the disk kept: a generation's files and folders
are fsync'ed before it is made current, and DIR after, so ``latest`` never points at a
generation the disk has not fully kept, and a finished run survives.

**Ownership.** A run deletes, renames or replaces only what it can prove it made, never an
entry because of its name alone:

- ``runs/`` is ours when it holds ``.scratchlearn-runs`` with our signature (an empty
  ``runs/`` folder is taken over: it holds nothing to lose);
- a folder in an owned ``runs/`` is a generation of ours when its ``.scratchlearn-generation``
  file, written first when the folder is made, names it (``<name>``, or ``.<name>.partial``
  while it is written); an empty folder there with a generation's name is what a run killed
  between the two steps left, and is removed with ``rmdir`` (which removes empty folders only),
  as is one whose only entry is a marker holding a start of the signature its name calls for
  (a run killed while it wrote the marker);
- a link in DIR is ours when it is a symbolic link with exactly our target: ``NAME ->
  latest/NAME`` for the layout's names, ``latest -> runs/<name>``, and temporary links
  ``.scratchlearn-tmp-* -> latest`` or ``-> runs/<name>``;
- ``.lock`` is ours when it is a regular file whose first line is our signature.

Everything else in DIR is never touched, files a user puts into an owned ``runs/`` included.
When a name the layout needs (``.lock``, ``runs``, ``latest``, the report files, the task
names) holds something else, the run is refused before computing anything
(:class:`OutputFolderError`: one line naming the path; the CLI's exit status 2). The layout
before generations (real ``task1/`` folders) is not migrated: it is refused the same way.

**How.** A run writes a complete new generation into a hidden staging folder
``runs/.<generation>.partial``: the tasks it ran, the tasks it did not run carried over from
the current generation (hard links, or copies where the file system has none), then the
report, built from exactly those files. It fsyncs them, renames the staging folder to
``runs/<generation>`` and makes it current in one atomic step: a new symlink, made under a
temporary name, is renamed over ``latest`` (``os.replace``, i.e. rename(2)). Every top-level
path resolves through ``latest``, so that one rename flips all tasks and the report at once.
The link of a task that has no results yet is made just before that rename: until it, the
link dangles, i.e. the task has no results, as the old report says.

**Leftovers.** Each run, under the lock and before computing anything, removes what killed
runs left, by the rules above (generations that are not current, temporary links, task links
that dangle); after its switch it removes the older generations, so a finished run leaves
exactly one.

**Concurrency.** A run takes an exclusive, non-blocking ``flock`` on ``DIR/.lock`` before it
computes anything; a second run into DIR gets :class:`FolderBusy` (the CLI's one-line "another
scratchlearn run is writing to DIR" and exit status 1) instead of failing half-way or mixing.
The lock goes with the process, however it ends; ``.lock`` itself is left in place.

**Not covered:** a reader who opens the report and, after a switch, its figures (they come
from the new run; resolve ``latest`` once for a fixed snapshot); file systems without
symlinks (refused before computing); a file system that acknowledges fsync without keeping
the data (some disks with volatile write caches, some network file systems).

Modules, from the bottom up: ``_proofs`` (the layout's names and the ownership proofs),
``_durable`` (fsync), ``_task`` (one task's folder and ``metrics.json``), ``_errors`` (the
errors and their advice), ``_lock`` (the run lock), ``_checks`` (``--out`` before
computing), ``_folder`` (:class:`ResultsFolder`, the transaction).
"""

from ._errors import FolderBusy, OutputFolderError, advice
from ._folder import ResultsFolder
from ._proofs import (
    GENERATION_MARKER,
    LATEST,
    LOCK,
    LOCK_SIGNATURE,
    REPORTS,
    RUNS,
    RUNS_MARKER,
    RUNS_SIGNATURE,
    TOP_FILES,
)
from ._task import metrics_json, write_task_outputs

__all__ = [
    "GENERATION_MARKER",
    "LATEST",
    "LOCK",
    "LOCK_SIGNATURE",
    "REPORTS",
    "RUNS",
    "RUNS_MARKER",
    "RUNS_SIGNATURE",
    "TOP_FILES",
    "FolderBusy",
    "OutputFolderError",
    "ResultsFolder",
    "advice",
    "metrics_json",
    "write_task_outputs",
]
