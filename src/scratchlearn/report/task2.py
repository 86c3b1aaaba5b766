"""Task 2 in the report: least squares, one outlier, the rounding rule and a robust fit."""

from __future__ import annotations

from pathlib import Path

from ._model import Defect, FigureRow, Metrics, Prose, Section, Table, TaskReport, Text, join, prose
from ._util import figure_if_exists, fmt_cell

TASK = "task2"
TITLE = "Task 2: least squares and one outlier"
SWEEP = "outlier_sweep"
ROBUST = "outlier_sweep_huber"
LOGISTIC = "outlier_sweep_logistic"


def build(out_dir: Path, metrics: dict, run: Metrics) -> TaskReport:
    """The Task 2 section and its differences from the sheet, from ``task2/metrics.json``."""
    m = Metrics(TASK, metrics)
    subsections = [
        _data(out_dir, m),
        _least_squares(out_dir, m),
        _rounding(out_dir, m),
        _robust(out_dir, m),
    ]
    return TaskReport(TASK, Section(TASK, TITLE, subsections=subsections), _defects(m))


def _at(rows: list[dict], scale: float) -> int:
    return next(i for i, row in enumerate(rows) if row["scale"] == scale)


def _weights(m: Metrics, *keys: str | int) -> Prose:
    """``(w0, w1, w2) = (b, w1, w2)``: the intercept first, as the sheet's bias trick has it."""
    return prose(
        "({b}, {w1}, {w2})",
        b=m.q(".4f", *keys, "intercept"),
        w1=m.q(".4f", *keys, "coef", 0),
        w2=m.q(".4f", *keys, "coef", 1),
    )


def _data(out_dir: Path, m: Metrics) -> Section:
    counts = m.get("dataset", "train_class_counts")
    labels = list(counts)
    text = prose(
        "The sheet's blobs: {n} training points without the outlier ({n_a} of class `"
        + labels[0]
        + "`, {n_b} of class `"
        + labels[1]
        + "`) and {n_test} test points. One more training point, labelled `"
        + str(m.get("dataset", "outlier_label"))
        + "`, sits at s times ({dx}, {dy}) for each scale s.",
        n=m.q(",d", "dataset", "n_train_without_outlier"),
        n_a=m.q(",d", "dataset", "train_class_counts", labels[0]),
        n_b=m.q(",d", "dataset", "train_class_counts", labels[1]),
        n_test=m.q(",d", "dataset", "n_test"),
        dx=m.q("g", "dataset", "outlier_direction", 0),
        dy=m.q("g", "dataset", "outlier_direction", 1),
    )
    blocks: list = [text]
    figure = figure_if_exists(
        out_dir,
        TASK,
        "data_by_scale",
        "The training set with its outlier, one panel per scale.",
        wide=True,
    )
    if figure:
        blocks.append(figure)
    return Section("task2-data", "2.1 The data and its outlier", blocks)


_OUTLIER_COLUMN = {
    "least_squares": ("outlier leverage", "outlier_leverage", ".3f"),
    "huber": ("outlier weight", "outlier_weight", ".3f"),
    "logistic": ("outlier margin y·f", "outlier_margin", ".1f"),
}


def _fit_table(m: Metrics, key: str, robust: bool, estimator: str | None = None) -> Table:
    rows = m.get(key)
    estimator = estimator or ("huber" if robust else "least_squares")
    header, field, fmt = _OUTLIER_COLUMN[estimator]
    # Logistic regression's rotations are solver noise, far below 0.1°: print their size.
    rotation_fmt = ".2g" if estimator == "logistic" else ".1f"
    headers = ["scale s", "w0", "w1", "w2", "angle (°)", "rotation (°)", header]
    headers += ["accuracy (sign)"]
    body = []
    for row in rows:
        body.append(
            [
                fmt_cell(row["scale"], "g"),
                fmt_cell(row["intercept"], ".4f"),
                fmt_cell(row["coef"][0], ".4f"),
                fmt_cell(row["coef"][1], ".4f"),
                fmt_cell(row["angle_degrees"], ".1f"),
                fmt_cell(row["rotation_degrees"], rotation_fmt),
                fmt_cell(row[field], fmt),
                fmt_cell(row["accuracy"], ".2f"),
            ]
        )
    return Table(
        headers,
        body,
        caption=("Logistic regression. " if estimator == "logistic" else "")
        + "Weights (w0 is the intercept), the boundary's angle to the x1-axis and its "
        "rotation from the fit without the outlier, and the test accuracy by sign.",
    )


def _least_squares(out_dir: Path, m: Metrics) -> Section:
    blocks: list = [_fit_table(m, SWEEP, robust=False)]
    row = FigureRow(
        [
            f
            for f in (
                figure_if_exists(
                    out_dir,
                    TASK,
                    "boundaries_overlay",
                    "Every scale's boundary in one plot: the rotation.",
                    wide=True,
                ),
                figure_if_exists(
                    out_dir,
                    TASK,
                    "fit_vs_scale",
                    "Boundary angle and weights against the scale.",
                    wide=True,
                ),
            )
            if f
        ]
    )
    blocks.extend(row.figures)
    figure = figure_if_exists(
        out_dir,
        TASK,
        "boundaries_least_squares",
        "Least-squares boundary for each scale, over the test data.",
        wide=True,
    )
    if figure:
        blocks.append(figure)
    blocks.append(prose("How does the outlier affect the fit?", kind="question"))
    blocks.append(_answer_outlier(m))
    return Section("task2-least-squares", "2.2 What the outlier does to least squares", blocks)


def _answer_outlier(m: Metrics) -> Prose:
    first, last = 0, len(m.get(SWEEP)) - 1
    pieces: list[Prose | str] = [
        prose("Without the outlier the weights (w0, w1, w2) are "),
        _weights(m, "baseline_no_outlier", "least_squares"),
        prose(
            " and the boundary lies at {angle}° to the x1-axis. ",
            angle=m.q(".1f", "baseline_no_outlier", "least_squares", "angle_degrees"),
        ),
        prose("At s = {s} they are ", s=m.q("g", SWEEP, first, "scale")),
        _weights(m, SWEEP, first),
        prose(
            " (angle {angle}°); at s = {s} ",
            angle=m.q(".1f", SWEEP, first, "angle_degrees"),
            s=m.q("g", SWEEP, last, "scale"),
        ),
        _weights(m, SWEEP, last),
        prose(
            " (angle {angle}°, a rotation of {rot}°). ",
            angle=m.q(".1f", SWEEP, last, "angle_degrees"),
            rot=m.q(".1f", SWEEP, last, "rotation_degrees"),
        ),
        prose(
            "The squared loss charges the outlier's residual quadratically, and the further "
            "out it sits the more leverage it has (from {l0} at s = {s0} to {l1} at "
            "s = {s1}), so the line turns towards it. ",
            l0=m.q(".3f", SWEEP, first, "outlier_leverage"),
            s0=m.q("g", SWEEP, first, "scale"),
            l1=m.q(".3f", SWEEP, last, "outlier_leverage"),
            s1=m.q("g", SWEEP, last, "scale"),
        ),
        prose(
            "Test accuracy by sign goes from {a0} at s = {s0} down to {aw} at s = {sw}.",
            a0=m.q(".2f", SWEEP, first, "accuracy"),
            s0=m.q("g", SWEEP, first, "scale"),
            aw=m.q(".2f", "summary", "least_squares_worst", "accuracy"),
            sw=m.q("g", "summary", "least_squares_worst", "scale"),
        ),
    ]
    return join(*pieces, kind="answer")


def _rounding(out_dir: Path, m: Metrics) -> Section:
    rows = m.get(SWEEP)
    sheet = m.get("sheet")
    sheet_acc = dict(zip(sheet["scales"], sheet["accuracy_rint"], strict=True))
    table = Table(
        [
            "scale s",
            "accuracy, sign",
            "accuracy, rint",
            "the sheet's (rint)",
            "test points rounded to 0",
        ],
        [
            [
                fmt_cell(row["scale"], "g"),
                fmt_cell(row["accuracy"], ".2f"),
                fmt_cell(row["accuracy_rint"], ".2f"),
                fmt_cell(sheet_acc.get(row["scale"]), ".2f"),
                fmt_cell(row["n_rint_zero"], "d"),
            ]
            for row in rows
        ],
        caption="Least squares predicting by the sign of f(x), and by the sheet's rounding "
        "(np.rint, which gives the label 0, neither class, to every |f(x)| < 0.5).",
    )
    blocks: list = [table]
    last_sheet = m.get("summary", "last_sheet_scale")
    if last_sheet is not None:
        blocks.append(
            prose(
                "The sheet's accuracies are an artefact of its rounding: at s = {s0} rounding "
                "sends {z0} of the {n} test points to label `0`, which is neither class, so the "
                "rint accuracy is {r0} against {a0} by sign; at s = {s1} it is {r1} (the sheet "
                "printed {sheet1}) against {a1} by sign.",
                s0=m.q("g", SWEEP, 0, "scale"),
                z0=m.q("d", SWEEP, 0, "n_rint_zero"),
                n=m.q("d", "dataset", "n_test"),
                r0=m.q(".2f", SWEEP, 0, "accuracy_rint"),
                a0=m.q(".2f", SWEEP, 0, "accuracy"),
                s1=m.q("g", SWEEP, last_sheet, "scale"),
                r1=m.q(".2f", SWEEP, last_sheet, "accuracy_rint"),
                sheet1=m.q(
                    ".2f",
                    "sheet",
                    "accuracy_rint",
                    sheet["scales"].index(rows[last_sheet]["scale"]),
                ),
                a1=m.q(".2f", SWEEP, last_sheet, "accuracy"),
                kind="answer",
            )
        )
    row = FigureRow(
        [
            f
            for f in (
                figure_if_exists(
                    out_dir,
                    TASK,
                    "accuracy_vs_scale",
                    "Accuracy against scale: sign rule and the sheet's rint rule.",
                    wide=True,
                ),
                figure_if_exists(
                    out_dir,
                    TASK,
                    "rint_explained",
                    "Why rint fails: outputs between -0.5 and 0.5 become label 0.",
                    wide=True,
                ),
            )
            if f
        ]
    )
    blocks.extend(row.figures)
    return Section("task2-rounding", "2.3 Sign against the sheet's rounding", blocks)


def _robust(out_dir: Path, m: Metrics) -> Section:
    rows = m.get(ROBUST)
    blocks: list = [_fit_table(m, ROBUST, robust=True)]
    last = len(rows) - 1
    ls_last = _at(m.get(SWEEP), rows[last]["scale"])
    text = join(
        prose("Huber's loss (epsilon = {eps})", eps=m.q("g", "config", "huber_epsilon")),
        prose(
            " squares small residuals but charges large ones only linearly, which in "
            "iteratively reweighted least squares gives the outlier a weight that falls as it "
            "moves out: {w} at s = {s}. Its boundary rotates by {rot}° there, against {rot_ls}° "
            "for least squares, and its test accuracy by sign is {acc} against {acc_ls}.",
            w=m.q(".3f", ROBUST, last, "outlier_weight"),
            s=m.q("g", ROBUST, last, "scale"),
            rot=m.q(".1f", ROBUST, last, "rotation_degrees"),
            rot_ls=m.q(".1f", SWEEP, ls_last, "rotation_degrees"),
            acc=m.q(".2f", ROBUST, last, "accuracy"),
            acc_ls=m.q(".2f", SWEEP, ls_last, "accuracy"),
        ),
        kind="answer",
    )
    blocks.append(text)
    figure = figure_if_exists(
        out_dir,
        TASK,
        "boundaries_huber",
        "Huber boundaries for each scale, over the test data.",
        wide=True,
    )
    if figure:
        blocks.append(figure)
    blocks.append(_fit_table(m, LOGISTIC, robust=True, estimator="logistic"))
    blocks.append(_answer_logistic(m))
    table_txt = out_dir / TASK / "outlier_sweep.txt"
    if table_txt.is_file():
        blocks.append(
            Text(table_txt.read_text(encoding="utf-8"), "outlier_sweep.txt, as written by the run.")
        )
    return Section("task2-robust", "2.4 A loss that does not square large residuals", blocks)


def _answer_logistic(m: Metrics) -> Prose:
    """Why logistic regression is not moved: the outlier is far out on the correct side."""
    rows = m.get(LOGISTIC)
    first, last = 0, len(rows) - 1
    scale = rows[last]["scale"]
    ls_last, hub_last = _at(m.get(SWEEP), scale), _at(m.get(ROBUST), scale)
    pieces: list[Prose | str] = [
        prose(
            "Logistic regression (`SoftmaxRegression` with two classes, L-BFGS, L2 penalty "
            "`alpha = 1/(C·N)` with C = {c}, which is scikit-learn's `LogisticRegression(C)`: "
            "the blobs are separable, so without a penalty its loss has no minimum",
            c=m.q("g", "config", "logistic_C"),
        )
    ]
    underflow = rows[last]["outlier_loss"] == 0.0
    pieces.append(
        prose(
            ") is not moved. Its loss `log(1 + exp(-y·f))` charges a point by its margin `y·f`, "
            "not by its distance from a target, and the outlier lies beyond the `-1` blob, on "
            "the correct side of the boundary: its margin is {m0} at s = {s0}, where its loss "
            "is {l0}, and {m1} at s = {s1}, where its loss and its gradient `sigmoid(-y·f)` "
            + ("underflow to {l1} in double precision. " if underflow else "are {l1}. ")
            + "A point that is too correct costs nothing and pulls on nothing, so the boundary "
            "rotates by {r0}° at s = {s0} and by {r1}° at s = {s1}, which is ",
            m0=m.q(".1f", LOGISTIC, first, "outlier_margin"),
            s0=m.q("g", LOGISTIC, first, "scale"),
            l0=m.q(".2g", LOGISTIC, first, "outlier_loss"),
            m1=m.q(".1f", LOGISTIC, last, "outlier_margin"),
            s1=m.q("g", LOGISTIC, last, "scale"),
            l1=m.q(".2g", LOGISTIC, last, "outlier_loss"),
            r0=m.q(".2g", LOGISTIC, first, "rotation_degrees"),
            r1=m.q(".2g", LOGISTIC, last, "rotation_degrees"),
        )
    )
    pieces.append(
        prose(
            "solver noise (L-BFGS stops at a gradient of {tol}), ",
            tol=m.q("g", "config", "logistic_tol"),
        )
    )
    pieces.append(
        prose(
            "against {rot_ls}° for least squares and {rot_h}° for Huber. Least squares fits the "
            "target `-1` itself: the no-outlier line's output at a point this far beyond the "
            "`-1` blob overshoots `-1` by far, the squared loss charges the overshoot as an "
            "error, and the line turns until the outlier's residual is down to {res}. ",
            rot_ls=m.q(".1f", SWEEP, ls_last, "rotation_degrees"),
            rot_h=m.q(".1f", ROBUST, hub_last, "rotation_degrees"),
            res=m.q(".2f", SWEEP, ls_last, "outlier_residual"),
        )
    )
    if m.get("summary", "logistic_accuracy_constant"):
        pieces.append(
            prose(
                "Logistic regression's test accuracy by sign is {acc} at every scale, against "
                "{acc_ls} for least squares at s = {s}.",
                acc=m.q(".2f", LOGISTIC, last, "accuracy"),
                acc_ls=m.q(".2f", SWEEP, ls_last, "accuracy"),
                s=m.q("g", SWEEP, ls_last, "scale"),
            )
        )
    else:
        pieces.append(
            prose(
                "Logistic regression's test accuracy by sign is at least {acc} (at s = {s_low}), "
                "against {acc_ls} for least squares at s = {s}.",
                acc=m.q(".2f", "summary", "logistic_lowest", "accuracy"),
                s_low=m.q("g", "summary", "logistic_lowest", "scale"),
                acc_ls=m.q(".2f", SWEEP, ls_last, "accuracy"),
                s=m.q("g", SWEEP, ls_last, "scale"),
            )
        )
    return join(*pieces, kind="answer")


def _defects(m: Metrics) -> list[Defect]:
    rows = m.get(SWEEP)
    defects = []
    last_sheet = m.get("summary", "last_sheet_scale")
    if last_sheet is not None:
        defects.append(
            Defect(
                "predict rounds with np.rint",
                prose(
                    "Rounds the output with `np.rint`, so outputs in `(-0.5, 0.5)` get the "
                    "label `0`, neither class."
                ),
                prose(
                    "Predictions by sign. At s = {s} sign gives {acc}, rint {rint} (the "
                    "sheet's number), with {zero} test points rounded to `0`.",
                    s=m.q("g", SWEEP, last_sheet, "scale"),
                    acc=m.q(".2f", SWEEP, last_sheet, "accuracy"),
                    rint=m.q(".2f", SWEEP, last_sheet, "accuracy_rint"),
                    zero=m.q("d", SWEEP, last_sheet, "n_rint_zero"),
                ),
            )
        )
    s8 = last_sheet if last_sheet is not None else len(rows) - 1
    defects.append(
        Defect(
            "fit: an undefined name and an explicit inverse",
            prose("Uses an undefined name, `X_w`, and the explicit inverse `(X^T X)^-1`."),
            join(
                prose(
                    "A least-squares solver (no inverse; minimum-norm when X is rank "
                    "deficient). Weights (w0, w1, w2) at s = {s}: ",
                    s=m.q("g", SWEEP, 0, "scale"),
                ),
                _weights(m, SWEEP, 0),
                prose("; at s = {s}: ", s=m.q("g", SWEEP, s8, "scale")),
                _weights(m, SWEEP, s8),
                ".",
            ),
        )
    )
    last = len(rows) - 1
    defects.append(
        Defect(
            "The explanation",
            prose('Speaks of "vertical distance" and "variance inflation".'),
            prose(
                "The squared loss and the outlier's leverage ({lev} at s = {s}) rotate the "
                "boundary by {rot}°; Huber's loss, which does not square large residuals, "
                "rotates it by {rot_h}° and keeps accuracy {acc_h} against {acc}.",
                lev=m.q(".3f", SWEEP, last, "outlier_leverage"),
                s=m.q("g", SWEEP, last, "scale"),
                rot=m.q(".1f", SWEEP, last, "rotation_degrees"),
                rot_h=m.q(
                    ".1f", ROBUST, _at(m.get(ROBUST), rows[last]["scale"]), "rotation_degrees"
                ),
                acc_h=m.q(".2f", ROBUST, _at(m.get(ROBUST), rows[last]["scale"]), "accuracy"),
                acc=m.q(".2f", SWEEP, last, "accuracy"),
            ),
        )
    )
    return defects
