"""How many threads a search may use: what the process is given, as the ecosystem counts it.

scikit-learn's own searches run OpenMP threads, and so follow what a process is given:
``OMP_NUM_THREADS``, threadpoolctl's limits, and joblib's workers (loky starts each worker
of ``n_jobs=j`` with ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and the like set to
cpu_count // j, so that j workers share the cores instead of each taking them all). The
search's threads are Python threads, which none of these settings reach, so
:func:`effective_n_jobs` reads them where they land:

- the cores this process may run on: its CPU affinity (``os.sched_getaffinity``: taskset,
  a container's cpuset), not the machine's count;
- the thread limits in force on the BLAS and OpenMP libraries of the process, as
  threadpoolctl reads them: ``threadpool_limits(1)`` and a joblib worker's settings both
  show there (the libraries are those loaded when the first search ran).

The thread count never changes an answer: the threads work on disjoint blocks and every
path is exact.
"""

from __future__ import annotations

import os
from functools import cache

from threadpoolctl import ThreadpoolController


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity where the platform has one
    (Linux), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


@cache
def _thread_pools() -> ThreadpoolController:
    """The process's BLAS and OpenMP libraries, found once (a fresh look costs about 0.5 ms;
    reading their limits about 6 µs)."""
    return ThreadpoolController().select(user_api=["blas", "openmp"])


def thread_limit() -> int | None:
    """The smallest thread limit in force on the BLAS and OpenMP libraries, or None when
    threadpoolctl finds none."""
    limits = [info["num_threads"] for info in _thread_pools().info()]
    return min((n for n in limits if isinstance(n, int) and n > 0), default=None)


def effective_n_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``, as scikit-learn reads it.

    None: what the process is given, the cores it may run on capped by the thread limit
    in force (so one thread inside ``threadpool_limits(1)``, and cpu_count // j in each
    worker of a joblib ``n_jobs=j``). −1: every core the process may run on; −2 all but
    one, and so on. A positive number: that many.
    """
    cores = available_cores()
    if n_jobs is None:
        limit = thread_limit()
        return cores if limit is None else max(1, min(cores, limit))
    if n_jobs < 0:
        return max(1, cores + 1 + n_jobs)
    return max(1, n_jobs)
