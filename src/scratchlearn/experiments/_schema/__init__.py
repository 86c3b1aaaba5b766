"""The shape of every task's results: what ``run`` returns and what ``metrics.json`` holds.

One module per task: ``_schema.task1``, ``_schema.task2``, ``_schema.task3``.
The metrics stay plain JSON dicts (so ``metrics.json`` keeps its shape); these TypedDicts
document them, one comment per key with its meaning and units, and the tests check that a
real run writes exactly these keys (``tests/test_task*.py``). Keys typed ``dict[str, ...]``
are open mappings (class labels, settings) and are not checked key by key.

Derived facts (best k, where the boundary becomes smooth, the worst check, ...) are computed
by the experiments, once, under each task's ``summary``; the report and the figures read them.
Accuracies are fractions in [0, 1]; "index" keys point into the list named beside them.

Results hold numbers and arrays only. What a reader sees (``explorer.json``, the text files)
is shaped from them by ``scratchlearn.report``; this package imports nothing that computes, so
the report and the figures may import it.
"""
