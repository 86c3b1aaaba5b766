"""A results folder with hostile strings wherever the report prints something it read.

``hostile_results(results_dir, folder, strings)`` copies the CLI's results and puts one of
``strings`` in each place the report takes text from: a metrics.json key and value in
prose, a code span, a caption and a settings table, a text file that the page folds in,
and the names of a figure and of a saved model; plus a foreign folder with a metrics.json.
Called once with ``HOSTILE`` and once with ``BENIGN`` (letters only, the same shape), the
two reports must have the same elements and attributes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HOSTILE = {
    "label": "<img src=x onerror=alert(1)>",
    "setting": '"><svg onload=alert(1)>',
    "solver": "[x](javascript:alert())",  # in prose: no digit (a number must be quoted)
    "best": "</script><script>alert()</script>",
    "rule": "*em* _u_ `code` <b>b</b> &amp; # h",
    "criterion": "![i](x.png) <iframe src=x>",
    "figure": '"><svg onload=alert(1)>',
    "model": "<img src=x onerror=alert(1)>",
    "folder": '<img src=x onerror=alert("folder")>',
    "text": "```\n</details><img src=x onerror=alert(1)>\n</pre></script><svg onload=alert(1)>\n"
    "[x](javascript:alert())\n```",
}
BENIGN = {key: f"Benign{key}" for key in HOSTILE} | {"text": "x\nBenigntext\ny\nz\nw"}


def hostile_results(results_dir: Path, folder: Path, strings: dict[str, str]) -> Path:
    """A copy of ``results_dir/latest`` carrying ``strings``, with its report written."""
    from scratchlearn.report import write_report

    out = folder / "results"
    shutil.copytree(results_dir / "latest", out, ignore=shutil.ignore_patterns("report.*"))

    def edit(task: str, change) -> None:
        path = out / task / "metrics.json"
        metrics = json.loads(path.read_text(encoding="utf-8"))
        change(metrics)
        path.write_text(json.dumps(metrics), encoding="utf-8")

    def task1(m):
        m["class_priors"][strings["label"]] = m["class_priors"].pop("1")  # in a code span
        m["config"][strings["setting"]] = strings["setting"]  # a settings row

    def task3(m):
        m["optimizers"][m["summary"]["optimizers_by_gap"][0]]["name"] = strings["solver"]
        m["best_optimizer"]["name"] = strings["best"]  # in prose
        m["best_optimizer"]["criterion"] = strings["criterion"]
        m["learning_rate_sweep"]["verdict_rule"] = strings["rule"]  # a code span, a caption

    edit("task1", task1)
    edit("task3", task3)
    (out / "task1" / "classification_report.txt").write_text(strings["text"], encoding="utf-8")
    figure = out / "task1" / "train_scatter.png"
    shutil.copy(figure, out / "task1" / f"{strings['figure']}.png")  # the gallery
    (out / "task1" / "models").mkdir(exist_ok=True)
    (out / "task1" / "models" / f"{strings['model']}.npz").write_bytes(b"")
    foreign = out / strings["folder"]
    foreign.mkdir()
    shutil.copy(out / "task1" / "metrics.json", foreign / "metrics.json")
    shutil.copy(figure, foreign / "figure.png")
    write_report(out, total_seconds=1.0)
    return out
