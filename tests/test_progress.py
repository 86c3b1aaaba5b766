"""Each task shows one progress bar that runs to its end, and none when asked for quiet
(``show_progress=False``, the CLI's ``--quiet``)."""

from __future__ import annotations

import re

import pytest

from scratchlearn.experiments import TASKS

# Small configurations: the bars, not the numbers, are under test.
SMALL = {
    "task1": dict(n_samples=200, k_values=(1, 4, 16), density_k_values=(2, 8), grid_resolution=10,
                  cv_folds=2, explorer_min_ks=3, explorer_resolution=10),
    "task2": dict(scales=(1, 4), explorer_min_scales=2),
    "task3": dict(sheet_iterations=20, max_iter=10, sweep_iterations=10, sweep_summed=(0.01,),
                  sweep_averaged=(1.0,), gradcheck_samples=5, explorer_rate_factors=(1.0,)),
}


@pytest.mark.parametrize("task", sorted(SMALL))
def test_a_bar_runs_to_its_end_and_quiet_shows_none(task, capsys):
    module = TASKS[task]
    module.run(module.Config(show_progress=False, **SMALL[task]))
    assert capsys.readouterr() == ("", "")

    module.run(module.Config(show_progress=True, **SMALL[task]))
    out, err = capsys.readouterr()
    assert out == ""
    counts = re.findall(r"(\d+)/(\d+)", err)
    assert counts, err
    done, total = counts[-1]
    assert done == total and int(total) > 1, err  # the last state drawn: complete
    assert err.count(task) >= 1  # the bar says which task it is
