"""Task 1 in the report: kNN on two moons, the k sweep, decision regions and densities."""

from __future__ import annotations

from pathlib import Path

from ..experiments._schema import prediction_figure_stem
from ._model import (
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

TASK = "task1"
TITLE = "Task 1: k-nearest neighbours on two moons"
REPORT_ROWS = ("0", "1", "accuracy", "macro avg", "weighted avg")


def build(out_dir: Path, metrics: dict, run: Metrics) -> TaskReport:
    """The Task 1 section and its differences from the sheet, from ``task1/metrics.json``."""
    m = Metrics(TASK, metrics)
    section = Section(
        TASK,
        TITLE,
        subsections=[
            _data(out_dir, m),
            _chosen_k(out_dir, m),
            _k_sweep(out_dir, m),
            _regions(out_dir, m),
            _density(out_dir, m),
        ],
    )
    return TaskReport(TASK, section, _defects(m, run))


def _class_counts(m: Metrics, key: str) -> Prose:
    counts = m.get("dataset", key)
    return series(
        [
            prose("{n} of class `" + label + "`", n=m.q(",d", "dataset", key, label))
            for label in counts
        ]
    )


def _data(out_dir: Path, m: Metrics) -> Section:
    text = join(
        prose(
            "The sheet's two moons, split as it splits them: the first {n_train} points train (",
            n_train=m.q(",d", "dataset", "n_train"),
        ),
        _class_counts(m, "train_class_counts"),
        prose("), the last {n_test} test (", n_test=m.q(",d", "dataset", "n_test")),
        _class_counts(m, "test_class_counts"),
        ").",
    )
    row = FigureRow(
        [
            f
            for f in (
                figure_if_exists(out_dir, TASK, "train_scatter", "Training set."),
                figure_if_exists(out_dir, TASK, "test_scatter", "Test set."),
            )
            if f
        ]
    )
    return Section("task1-data", "1.1 The data", [text, row])


def _chosen_k(out_dir: Path, m: Metrics) -> Section:
    chosen = m.get("chosen_k")
    verdict = (
        "scratchlearn's predictions equal scikit-learn's on every test point"
        if chosen["predictions_equal_sklearn"]
        else "scratchlearn's predictions differ from scikit-learn's on some test points"
    )
    text = prose(
        "With k = {k}, " + verdict + ": test accuracy {acc} against scikit-learn's {acc_sk}, "
        "with {errors} misclassified points out of {n_test}.",
        k=m.q("d", "chosen_k", "k"),
        acc=m.q(".2f", "chosen_k", "accuracy"),
        acc_sk=m.q(".2f", "chosen_k", "accuracy_sklearn"),
        errors=m.q("d", "chosen_k", "n_errors"),
        n_test=m.q("d", "dataset", "n_test"),
    )
    ours, theirs = m.get("classification_report"), m.get("classification_report_sklearn")
    rows = []
    for name in REPORT_ROWS:
        if name not in ours:
            continue
        a, b = ours[name], theirs.get(name)
        if name == "accuracy":
            rows.append(["accuracy", "", "", fmt_cell(a, ".3f"), "", "", fmt_cell(b, ".3f")])
            continue
        label = f"class {name}" if name.isdigit() else name
        rows.append(
            [label]
            + [fmt_cell(a[key], ".3f") for key in ("precision", "recall", "f1-score")]
            + [fmt_cell(b[key], ".3f") for key in ("precision", "recall", "f1-score")]
        )
    table = Table(
        ["", "precision", "recall", "F1", "precision", "recall", "F1"],
        rows,
        groups=[("", 1), ("scratchlearn", 3), ("scikit-learn", 3)],
        caption=f"Classification reports on the test set for k = {chosen['k']}. The "
        "accuracy row gives the accuracy in the F1 column.",
    )
    blocks: list = [text, table]
    report_txt = out_dir / TASK / "classification_report.txt"
    if report_txt.is_file():
        blocks.append(
            Text(
                report_txt.read_text(encoding="utf-8"),
                "classification_report.txt, as written by the run.",
            )
        )
    figure = figure_if_exists(
        out_dir,
        TASK,
        prediction_figure_stem(chosen["k"]),
        f"Predicted test labels for k = {chosen['k']}; misclassified points are ringed in black.",
    )
    if figure:
        blocks.append(figure)
    return Section("task1-chosen-k", f"1.2 k = {chosen['k']}, beside scikit-learn", blocks)


def _k_sweep(out_dir: Path, m: Metrics) -> Section:
    sweep = m.get("k_sweep")
    cv = {row["k"]: row["mean_accuracy"] for row in m.get("cross_validation", "rows")}
    table = Table(
        ["k", "test accuracy", "test RSS", "training accuracy", "CV accuracy"],
        [
            [
                fmt_cell(row["k"], "d"),
                fmt_cell(row["accuracy"], ".2f"),
                fmt_cell(row["rss"], ".0f"),
                fmt_cell(row["train_accuracy"], ".3f"),
                fmt_cell(cv.get(row["k"]), ".3f"),
            ]
            for row in sweep
        ],
        caption="The k sweep on the test set. With labels 0 and 1 the RSS is the number of "
        "errors. The last row is k = N_train. CV accuracy: mean over the folds of "
        "cross-validation on the training set.",
    )
    blocks: list = [table]
    figure = figure_if_exists(
        out_dir,
        TASK,
        "k_sweep",
        "Accuracy (test, training and cross-validated) and RSS against k (log scale); the "
        "dotted line marks k = N_train.",
    )
    if figure:
        blocks.append(figure)
    blocks.append(prose("How does the decision boundary change with k?", kind="question"))
    blocks.append(_answer_boundary(m))
    blocks.append(prose("What happens if k equals the number of training samples?", "question"))
    blocks.append(_answer_k_equals_n(m))
    return Section("task1-k-sweep", "1.3 The k sweep", blocks)


def _answer_boundary(m: Metrics) -> Prose:
    # The k sweep and the region statistics have the same ks; the last is k = N_train.
    first, last = 0, len(m.get("k_sweep")) - 2
    pieces: list[Prose | str] = [
        prose(
            "Small k follows every training point: at k = {k} the training accuracy is "
            "{train} and the test accuracy {acc}",
            k=m.q("d", "k_sweep", first, "k"),
            train=m.q(".2f", "k_sweep", first, "train_accuracy"),
            acc=m.q(".2f", "k_sweep", first, "accuracy"),
        ),
        prose(
            ", and the class regions fall into {n} separate pieces over the plane"
            + (
                " (islands around single points)"
                if m.get("decision_region_stats", first, "n_regions") > 2
                else ""
            ),
            n=m.q("d", "decision_region_stats", first, "n_regions"),
        ),
        ". ",
    ]
    if m.get("summary", "smooth_from") is not None:
        pieces.append(
            prose(
                "As k grows the vote averages over more points and the boundary smooths: "
                "from k = {k} on there are only {n} regions, one per class. ",
                k=m.q("d", "summary", "smooth_from", "k"),
                n=m.q("d", "summary", "smooth_from", "n_regions"),
            )
        )
    pieces += [
        prose(
            "The best test accuracy is {acc} at k = {k}. ",
            acc=m.q(".2f", "summary", "best_test", "accuracy"),
            k=m.q("d", "summary", "best_test", "k"),
        ),
        prose(
            "Picking k by its test accuracy, though, tunes on the test set; "
            "{folds}-fold cross-validation on the training set picks k = {k} "
            "(cross-validated accuracy {cv}), whose test accuracy is {acc}. ",
            folds=m.q("d", "cross_validation", "folds"),
            k=m.q("d", "cross_validation", "best_k"),
            cv=m.q(".3f", "cross_validation", "best_k_cv_accuracy"),
            acc=m.q(".2f", "cross_validation", "best_k_test_accuracy"),
        ),
        prose(
            "Large k blurs the two moons into their overall shape and the boundary cuts "
            "through their tips: at k = {k} the test accuracy is down to {acc}.",
            k=m.q("d", "k_sweep", last, "k"),
            acc=m.q(".2f", "k_sweep", last, "accuracy"),
        ),
    ]
    return join(*pieces, kind="answer")


def _answer_k_equals_n(m: Metrics) -> Prose:
    answer = m.get("k_equals_n_train")
    sweep_first_train = m.get("k_sweep", 0, "train_accuracy")
    counts = m.get("dataset", "train_class_counts")
    majority = str(answer["majority_class"])
    minority = next(label for label in counts if label != majority)
    everywhere = (
        "predicts class `" + majority + "` everywhere on the plane"
        if answer["predicts_only_majority_on_grid"]
        else "predicts class `" + majority + "` on most of the plane, not everywhere"
    )
    return prose(
        "With k = N_train = {k} every neighbourhood is the whole training set, so every query "
        "gets the same vote: the majority class ({n_major} points against {n_minor}). The "
        "classifier "
        + everywhere
        + ". The test accuracy is {acc}, "
        + (
            "which is just the share"
            if answer["test_accuracy"] == answer["test_majority_fraction"]
            else "against the share"
        )
        + " of the majority class in the test set ({share}), and the training accuracy is "
        "{train}. This is maximal bias, underfitting, not the sheet's overfitting"
        + (
            "; zero training error belongs to the smallest k, k = {k1} (training accuracy "
            "{train1})."
            if sweep_first_train == 1.0
            else ": the smallest k, k = {k1}, fits the training set best (training accuracy "
            "{train1})."
        ),
        k=m.q("d", "k_equals_n_train", "k"),
        n_major=m.q("d", "dataset", "train_class_counts", majority),
        n_minor=m.q("d", "dataset", "train_class_counts", minority),
        acc=m.q(".2f", "k_equals_n_train", "test_accuracy"),
        share=m.q(".2f", "k_equals_n_train", "test_majority_fraction"),
        train=m.q(".3f", "k_equals_n_train", "train_accuracy"),
        k1=m.q("d", "k_sweep", 0, "k"),
        train1=m.q(".2f", "k_sweep", 0, "train_accuracy"),
        kind="answer",
    )


def _regions(out_dir: Path, m: Metrics) -> Section:
    blocks: list = []
    figure = figure_if_exists(
        out_dir,
        TASK,
        "decision_regions",
        "Decision regions for every k: the classifier's own p(c=1|x) as shading, its 0.5 "
        "level as the boundary, and the test points on top.",
        wide=True,
    )
    if figure:
        blocks.append(figure)
    blocks.append(
        Table(
            ["k", "share of the plane given to class 1", "separate regions"],
            [
                [
                    fmt_cell(row["k"], "d"),
                    fmt_cell(row["class1_fraction"], ".3f"),
                    fmt_cell(row["n_regions"], "d"),
                ]
                for row in m.get("decision_region_stats")
            ],
            caption="Measured on the plotting grid: how much of the plane each k assigns "
            "to class 1, and into how many connected pieces the two classes fall.",
        )
    )
    return Section("task1-regions", "1.4 Decision regions", blocks)


def _density(out_dir: Path, m: Metrics) -> Section:
    priors = m.get("class_priors")
    blocks: list = [
        join(
            prose(
                "Class probabilities are the class frequencies in the training set, "
                "`p(c) = N_c / N`: "
            ),
            series(
                [
                    prose(
                        "`p(" + label + ")` = {p}",
                        p=m.q(".3f", "class_priors", label),
                    )
                    for label in priors
                ]
            ),
            prose(
                ". Densities use one sphere of radius `r_K(x)` around x for all classes "
                "(Bishop, `PRML §2.5.2`): `p(x) = K / (N V)`, `p(x|c) = K_c / (N_c V)` "
                "and so `p(c|x) = K_c / K`."
            ),
        )
    ]
    rows = m.get("density")
    blocks.append(
        Table(
            [
                "k",
                "mean log p(x), training (LOO)",
                "mean log p(x), test",
                "accuracy of p(c|x), training (LOO)",
            ],
            [
                [
                    fmt_cell(row["k"], "d"),
                    fmt_cell(row["mean_log_density_train_loo"], ".3f"),
                    fmt_cell(row["mean_log_density_test"], ".3f"),
                    fmt_cell(row["bayes_accuracy_train_loo"], ".3f"),
                ]
                for row in rows
            ],
            caption="kNN density estimates for each k. LOO: leave-one-out, each training point "
            "is left out of its own neighbourhood.",
        )
    )
    first, last = 0, len(rows) - 1
    trend = "rises" if m.get("summary", "density_loo_accuracy_rises") else "does not rise"
    blocks.append(
        prose(
            "Of the k tried, k = {k} gives the test points the highest mean log density "
            "({value}). The classifier that the densities imply, `p(c|x) = K_c / K`, "
            + trend
            + " in leave-one-out accuracy from {a0} at k = {k0} to {a1} at k = {k1}"
            + (
                ": more neighbours give a less noisy estimate of the class balance around x."
                if trend == "rises"
                else "."
            ),
            k=m.q("d", "summary", "density_best_test", "k"),
            value=m.q(".3f", "summary", "density_best_test", "mean_log_density_test"),
            a0=m.q(".3f", "density", first, "bayes_accuracy_train_loo"),
            k0=m.q("d", "density", first, "k"),
            a1=m.q(".3f", "density", last, "bayes_accuracy_train_loo"),
            k1=m.q("d", "density", last, "k"),
            kind="answer",
        )
    )
    figure = figure_if_exists(
        out_dir,
        TASK,
        "density",
        "log p(x) and log p(x|c) over the plane for each k.",
        wide=True,
    )
    if figure:
        blocks.append(figure)
    return Section("task1-density", "1.5 Density estimates", blocks)


def _defects(m: Metrics, run: Metrics) -> list[Defect]:
    defects = [
        Defect(
            "k = N_train",
            prose('"Zero training error, overfitting, high variance."'),
            prose(
                "The opposite: the classifier predicts the majority class everywhere. "
                "Measured: test accuracy {acc}, training accuracy {train}.",
                acc=m.q(".2f", "k_equals_n_train", "test_accuracy"),
                train=m.q(".3f", "k_equals_n_train", "train_accuracy"),
            ),
        ),
    ]
    stats = m.get("decision_region_stats")
    inner, last = len(stats) - 2, len(stats) - 1  # the last k is N_train
    defects.append(
        Defect(
            "Decision-boundary plots",
            prose("Filled the plot with the contour of `exp(x1 x2)`, unrelated to the classifier."),
            prose(
                "Each panel shows the classifier's own `p(c=1|x)` on a grid of {n} "
                "points and its `p = 0.5` level. Measured on that grid, the class regions "
                "fall into {many} pieces at k = {k_first}, {few} at k = {k_inner}, and "
                "{one} at k = N_train = {k_last}, where class `1` covers a share {share} "
                "of the plane.",
                n=m.q(",d", "decision_region_stats", 0, "grid_points"),
                many=m.q("d", "decision_region_stats", 0, "n_regions"),
                k_first=m.q("d", "decision_region_stats", 0, "k"),
                few=m.q("d", "decision_region_stats", inner, "n_regions"),
                k_inner=m.q("d", "decision_region_stats", inner, "k"),
                one=m.q("d", "decision_region_stats", last, "n_regions"),
                k_last=m.q("d", "decision_region_stats", last, "k"),
                share=m.q(".3f", "decision_region_stats", last, "class1_fraction"),
            ),
        )
    )
    defects.append(
        Defect(
            "predict_probs",
            prose(
                "Called a single-query `kneighbors` on a whole array and built rows with "
                "`Counter`, so columns were not the classes and rows could differ in "
                "length."
            ),
            prose(
                "`predict_proba` returns one column per class in `classes_` order: shape "
                "{rows} by {cols}, largest difference from scikit-learn's {diff}.",
                rows=m.q("d", "chosen_k", "predict_proba", "shape", 0),
                cols=m.q("d", "chosen_k", "predict_proba", "shape", 1),
                diff=m.q(".1g", "chosen_k", "predict_proba", "max_abs_diff_sklearn"),
            ),
        )
    )
    priors = m.get("class_priors")
    defects.append(
        Defect(
            '"p(c)"',
            prose("Reported values that came from the `predict_probs` bug."),
            join(
                prose("`p(c) = N_c / N` on the training set: "),
                series(
                    [prose("`p(" + c + ")` = {p}", p=m.q(".3f", "class_priors", c)) for c in priors]
                ),
                ".",
            ),
        )
    )
    defects.append(
        Defect(
            "p(x_n|c)",
            prose(
                "Used a separate sphere per class, of radius zero when the only neighbour "
                "of class c is the point itself: a division by zero."
            ),
            prose(
                "One sphere for all classes, leave-one-out at training points. log p(x) is "
                + ("finite" if m.get("summary", "density_all_finite") else "NOT finite")
                + " on the whole grid and at every training point for each k, and "
                "`sum_c p(x|c) p(c) = p(x)` holds on the grid to {err} in log p "
                "(largest at k = {k}).",
                err=m.q(".1e", "summary", "density_worst_check", "max_abs_log_error"),
                k=m.q("d", "summary", "density_worst_check", "k"),
            ),
        )
    )
    speed_here = (
        prose(
            "Searches are vectorised by blocks (a k-d tree for few features). This whole task's "
            "run, every k of the sweep on the test set and on the grid of {n} points plus the "
            "density estimates, took {seconds} s.",
            n=m.q(",d", "decision_region_stats", 0, "grid_points"),
            seconds=run.q(".1f", "task_seconds", TASK),
        )
        if run.has("task_seconds", TASK)
        else prose(
            "Searches are vectorised by blocks (a k-d tree for few features); `make bench` "
            "times them against scikit-learn."
        )
    )
    defects.append(
        Defect(
            "Speed",
            prose("Python loops over every pair of query and training point."),
            speed_here,
        )
    )
    defects.append(
        Defect(
            "Not reproducible",
            prose(
                "Random colours (some not valid colours), and `savefig` after `show()`, "
                "which saves an empty figure."
            ),
            prose(
                "Fixed colours, figures saved before they are closed, and `metrics.json` is "
                "the same bytes on every run (tested)."
            ),
        )
    )
    return defects
