"""Task 3 in the report: softmax regression on the digits and its optimisers."""

from __future__ import annotations

from pathlib import Path

from ._model import (
    Bullets,
    Defect,
    FigureRow,
    Metrics,
    Prose,
    Section,
    Table,
    TaskReport,
    Text,
    join,
    prose,
    series,
)
from ._util import figure_if_exists, fmt_cell

TASK = "task3"
TITLE = "Task 3: softmax regression and its optimisers"
ALPHA = "\N{GREEK SMALL LETTER ALPHA}"


def build(out_dir: Path, metrics: dict, run: Metrics) -> TaskReport:
    """The Task 3 section and its differences from the sheet, from ``task3/metrics.json``."""
    m = Metrics(TASK, metrics)
    subsections = [
        _data(m),
        _derivation(m),
        _sheet_run(m),
        _optimizers(out_dir, m),
        _lr_sweep(out_dir, m),
        _best(out_dir, m),
    ]
    return TaskReport(TASK, Section(TASK, TITLE, subsections=subsections), _defects(m))


def _data(m: Metrics) -> Section:
    blocks: list = [
        prose(
            "The digits, as the sheet prepares them (pixel values divided by their maximum, "
            "each image flattened): {n_train} training and {n_test} test images, {d} features, "
            "{c} classes.",
            n_train=m.q(",d", "dataset", "n_train"),
            n_test=m.q(",d", "dataset", "n_test"),
            d=m.q("d", "dataset", "n_features"),
            c=m.q("d", "dataset", "n_classes"),
        ),
        prose(
            "Every solver minimises the same objective, `J = mean cross-entropy + "
            + ALPHA
            + "/2 ‖W‖²` (bias not penalised), with `"
            + ALPHA
            + "` = {alpha}, which is "
            "scikit-learn's `LogisticRegression(C)` objective. Its minimum, found by "
            "L-BFGS to a tight tolerance, is `J*` = {minimum}.",
            alpha=m.q(".3g", "objective", "alpha"),
            minimum=m.q(".6f", "objective", "minimum"),
        ),
    ]
    return Section("task3-data", "3.1 Data and objective", blocks)


def _derivation(m: Metrics) -> Section:
    steps = Bullets(
        [
            prose(
                "Logits `g = θ x + b`, probabilities `p = softmax(g)`, loss "
                "`L = -log p_y` for the true class y."
            ),
            prose("`∂L/∂p_y = -1/p_y` (L does not depend on the other probabilities)."),
            prose("`∂p_y/∂g_c = p_y (1[c = y] - p_c)`."),
            prose("`∂g_c/∂θ_c = x` and `∂g_c/∂b_c = 1`."),
            prose(
                "The product: `∂L/∂θ_c = (p_c - 1[c = y]) x`, and "
                "`∂L/∂b_c = p_c - 1[c = y]`. Over the training set, "
                "`∇_W J = (P - Y)ᵀ X / N + " + ALPHA + " W`, with Y the one-hot targets."
            ),
        ]
    )
    blocks: list = [
        prose("The chain rule the sheet asks for, for one sample:"),
        steps,
        prose(
            "A centred-difference gradient check (`scratchlearn.gradcheck`) on {n} "
            "training samples agrees with this gradient to a relative error of {plain} "
            "for the cross-entropy and {l2} with the L2 penalty.",
            n=m.q("d", "gradient_check", "samples"),
            plain=m.q(".1e", "gradient_check", "relative_error_cross_entropy"),
            l2=m.q(".1e", "gradient_check", "relative_error_cross_entropy_l2"),
            kind="answer",
        ),
    ]
    return Section("task3-derivation", "3.2 The derivation, checked", blocks)


def _sheet_run(m: Metrics) -> Section:
    runs = ["summed", "averaged"]
    table = Table(
        [
            "gradient",
            "learning rate",
            "same step on the mean gradient",
            "iterations",
            "training loss",
            "test accuracy",
        ],
        [
            [
                name,
                fmt_cell(m.get("sheet_run", name, "learning_rate"), "g"),
                fmt_cell(m.get("sheet_run", name, "learning_rate_on_mean_gradient"), ".4g"),
                fmt_cell(m.get("sheet_run", name, "iterations"), ",d"),
                fmt_cell(m.get("sheet_run", name, "train_loss"), ".4f"),
                fmt_cell(m.get("sheet_run", name, "test_accuracy"), ".3f"),
            ]
            for name in runs
        ],
        caption="The sheet's routine, finished: gradient descent from N(0, 1) weights, with "
        "the one-hot fix and no penalty.",
    )
    blocks: list = [table]
    blocks.append(
        prose(
            "The sheet sums the gradient over the samples, so its learning rate {lr} is "
            "a step of {lr_mean} on the mean gradient: after {it} iterations the training "
            "loss is {loss} and the test accuracy {acc}. The same rate on the averaged "
            "gradient "
            + (
                "is far too small a step"
                if m.get("sheet_run", "averaged", "train_loss")
                > m.get("sheet_run", "summed", "train_loss")
                else "does as well"
            )
            + ": loss {loss_avg}, test accuracy {acc_avg}.",
            lr=m.q("g", "sheet_run", "summed", "learning_rate"),
            lr_mean=m.q(".4g", "sheet_run", "summed", "learning_rate_on_mean_gradient"),
            it=m.q(",d", "sheet_run", "summed", "iterations"),
            loss=m.q(".3f", "sheet_run", "summed", "train_loss"),
            acc=m.q(".3f", "sheet_run", "summed", "test_accuracy"),
            loss_avg=m.q(".2f", "sheet_run", "averaged", "train_loss"),
            acc_avg=m.q(".3f", "sheet_run", "averaged", "test_accuracy"),
        )
    )
    return Section("task3-sheet-run", "3.3 The sheet's run", blocks)


def _settings_text(settings: dict) -> str:
    shown = {k: v for k, v in settings.items() if k not in {"alpha", "tol", "max_iter"}}
    return ", ".join(f"{k} = {fmt_cell(v, 'g')}" for k, v in shown.items()) or "defaults"


def _optimizers(out_dir: Path, m: Metrics) -> Section:
    rows = m.get("optimizers")
    table = Table(
        [
            "solver",
            "settings",
            "iterations",
            "training objective J",
            "J - J*",
            "test accuracy",
            "seconds",
        ],
        [
            [
                row["name"],
                _settings_text(row["settings"]),
                fmt_cell(row["iterations"], "d") + f" {row['iteration_unit']}s",
                fmt_cell(row["train_loss"], ".5f"),
                fmt_cell(row["gap_to_minimum"], ".1e"),
                fmt_cell(row["test_accuracy"], ".3f"),
                fmt_cell(row["seconds"], ".2f"),
            ]
            for row in rows
        ],
        caption="Every solver on the same objective, from zero weights. J* is the minimum; "
        "the seconds are wall-clock time on the machine that ran this report.",
        left_columns=2,
    )
    blocks: list = [table]
    blocks.append(prose("Which optimiser reaches which loss, and how fast?", kind="question"))
    blocks.append(_answer_optimizers(m))
    row = FigureRow(
        [
            f
            for f in (
                figure_if_exists(
                    out_dir,
                    TASK,
                    "loss_vs_iteration",
                    "Training objective against iteration (or epoch).",
                    wide=True,
                ),
                figure_if_exists(
                    out_dir,
                    TASK,
                    "loss_vs_seconds",
                    "Training objective against wall-clock seconds.",
                    wide=True,
                ),
            )
            if f
        ]
    )
    blocks.extend(row.figures)
    return Section("task3-optimizers", "3.4 The optimisers compared", blocks)


def _answer_optimizers(m: Metrics) -> Prose:
    rows = m.get("optimizers")
    order = m.get("summary", "optimizers_by_gap")
    items = []
    for i in order:
        row = rows[i]
        status = ", converged" if row["converged"] else ""
        items.append(
            prose(
                row["name"] + " got to {gap} above `J*` in {it} " + row["iteration_unit"] + "s"
                " ({s} s" + status + ")",
                gap=m.q(".1e", "optimizers", i, "gap_to_minimum"),
                it=m.q("d", "optimizers", i, "iterations"),
                s=m.q(".2f", "optimizers", i, "seconds"),
            )
        )
    first, last = order[0], order[-1]
    return join(
        "From best to worst: ",
        series(items, last="and"),
        ". ",
        prose(
            rows[first]["name"]
            + " reached the lowest objective, and "
            + rows[last]["name"]
            + " the highest; the test accuracies stay between {lo} and {hi}"
            + (
                ", so on this problem the optimisers differ in how close they get to the "
                "minimum, hardly in the classifier they produce."
                if m.get("summary", "test_accuracy_spread") <= 0.02
                else "."
            ),
            lo=m.q(".3f", "optimizers", m.get("summary", "lowest_test_accuracy"), "test_accuracy"),
            hi=m.q(".3f", "optimizers", m.get("summary", "highest_test_accuracy"), "test_accuracy"),
        ),
        kind="answer",
    )


def _lr_sweep(out_dir: Path, m: Metrics) -> Section:
    runs = m.get("learning_rate_sweep", "runs")
    table = Table(
        [
            "gradient",
            "learning rate",
            "same step on the mean",
            "final J",
            "test accuracy",
            "verdict",
        ],
        [
            [
                run["gradient"],
                fmt_cell(run["learning_rate"], "g"),
                fmt_cell(run["learning_rate_on_mean_gradient"], ".4g"),
                fmt_cell(run["final_train_loss"], ".4f"),
                fmt_cell(run["test_accuracy"], ".3f"),
                run["verdict"],
            ]
            for run in runs
        ],
        caption="Gradient descent from the sheet's start for a fixed number of iterations. "
        + _sentence_case(str(m.get("learning_rate_sweep", "verdict_rule")))
        + ".",
    )
    blocks: list = [table]
    sentences = []
    good = m.get("summary", "good_rate")
    for gradient in ("summed", "averaged"):
        first_of = m.get("learning_rate_sweep", "first_verdicts", gradient)
        parts = [
            prose(
                first["verdict"] + " at {lr}",
                lr=m.q("g", "learning_rate_sweep", "runs", first["index"], "learning_rate"),
            )
            for first in first_of
        ]
        if parts:
            sentences.append(join("On the " + gradient + " gradient: ", series(parts), ". "))
    if len(good) == 2:
        sentences.append(
            prose(
                "The good summed rate {lr} is a step of {lr_mean} on the mean gradient, next to "
                "the good averaged rate {lr_avg}: the same step, scaled by the number of "
                "samples.",
                lr=m.q("g", "learning_rate_sweep", "runs", good["summed"], "learning_rate"),
                lr_mean=m.q(
                    ".4g",
                    "learning_rate_sweep",
                    "runs",
                    good["summed"],
                    "learning_rate_on_mean_gradient",
                ),
                lr_avg=m.q("g", "learning_rate_sweep", "runs", good["averaged"], "learning_rate"),
            )
        )
    if sentences:
        answer = join(*sentences, kind="answer")
        blocks.append(prose("Which learning rates diverge, crawl or work?", kind="question"))
        blocks.append(answer)
    figure = figure_if_exists(
        out_dir,
        TASK,
        "learning_rate_sweep",
        "Training objective of gradient descent for each learning rate, summed and averaged "
        "gradient.",
        wide=True,
    )
    if figure:
        blocks.append(figure)
    return Section("task3-lr-sweep", "3.5 Learning rates for gradient descent", blocks)


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _best(out_dir: Path, m: Metrics) -> Section:
    blocks: list = []
    text = prose(
        "The best solver by "
        + str(m.get("best_optimizer", "criterion"))
        + " is "
        + str(m.get("best_optimizer", "name"))
        + ", with test accuracy {acc}",
        acc=m.q(".3f", "best_optimizer", "test_accuracy"),
    )
    text = join(
        text,
        prose(
            "; scikit-learn's `LogisticRegression(C)` gets {acc_sk}, and their "
            "probabilities differ by at most {diff} on the test set.",
            acc_sk=m.q(".3f", "sklearn_reference", "test_accuracy"),
            diff=m.q(".1e", "sklearn_reference", "max_abs_proba_difference_test"),
        ),
    )
    blocks.append(text)
    for stem, caption, wide in (
        ("confusion_matrix", "Confusion matrix of the best solver on the test set.", False),
        ("weight_templates", "Its ten weight templates, one 8-by-8 image per class.", True),
        ("misclassified", "Misclassified test digits, with true and predicted labels.", True),
    ):
        figure = figure_if_exists(out_dir, TASK, stem, caption, wide=wide)
        if figure:
            blocks.append(figure)
    table_txt = out_dir / TASK / "optimizers.txt"
    if table_txt.is_file():
        blocks.append(
            Text(table_txt.read_text(encoding="utf-8"), "optimizers.txt, as written by the run.")
        )
    return Section("task3-best", "3.6 The best solver", blocks)


def _defects(m: Metrics) -> list[Defect]:
    defects = []
    here = prose(
        "The gradient is `(P - Y)ᵀ X` with one-hot Y. With the sheet's own settings it "
        "trains: training loss {loss}, test accuracy {acc}",
        loss=m.q(".3f", "sheet_run", "summed", "train_loss"),
        acc=m.q(".3f", "sheet_run", "summed", "test_accuracy"),
    )
    here = join(
        here,
        prose(
            "; the gradient matches centred differences to a relative error of {err}.",
            err=m.q(".1e", "gradient_check", "relative_error_cross_entropy"),
        ),
    )
    defects.append(
        Defect(
            "Gradient",
            prose(
                "Subtracts the column of class indices, `probs - ytrain`, which "
                "broadcasts into a wrong matrix without an error."
            ),
            here,
        )
    )
    defects.append(
        Defect(
            "Summed gradient",
            prose(
                "Sums the gradient over the samples, so its learning rate is not the step it seems."
            ),
            prose(
                "Its rate {lr} on the sum is {lr_mean} on the mean. The same rate on the "
                "mean gradient stalls: training loss {loss}, test accuracy {acc}.",
                lr=m.q("g", "sheet_run", "summed", "learning_rate"),
                lr_mean=m.q(".4g", "sheet_run", "summed", "learning_rate_on_mean_gradient"),
                loss=m.q(".2f", "sheet_run", "averaged", "train_loss"),
                acc=m.q(".3f", "sheet_run", "averaged", "test_accuracy"),
            ),
        )
    )
    defects.append(
        Defect(
            "Unfinished routine",
            prose(
                "The text stops inside the training loop: no update, evaluation or plot survives."
            ),
            prose(
                "Finished, and studied as an optimisation problem: the solvers above, "
                "best test accuracy {acc} (" + str(m.get("best_optimizer", "name")) + ").",
                acc=m.q(".3f", "best_optimizer", "test_accuracy"),
            ),
        )
    )
    return defects
