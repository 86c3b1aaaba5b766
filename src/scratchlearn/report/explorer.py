"""``explorer.html``: sliders over the settings of the three tasks, from the run's own values.

Each task writes what the page shows as ``explorer.json`` in its folder (computed by the
experiments: ``scratchlearn.experiments.task*.explorer_data``). :func:`write_explorer` embeds
those files in the page (a ``<script type="application/json">`` block, so that it works from
``file://``, where browsers refuse to ``fetch`` local files) and writes plotly's bundled
``plotly.min.js`` beside it. The page's JavaScript only looks values up and hands them to
``Plotly.react``; it computes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..experiments import TASK_NAMES

EXPLORER_HTML = "explorer.html"
PLOTLY_JS = "plotly.min.js"
DATA_FILE = "explorer.json"


def explorer_json(explorer: dict) -> str:
    """A task's explorer data as compact JSON (strict: no NaN or infinity)."""
    return json.dumps(explorer, allow_nan=False, separators=(",", ":"))


def load_explorer_data(out_dir: Path) -> dict[str, dict]:
    """Every task's ``explorer.json`` found in ``out_dir``, by task name, in task order."""
    found = {}
    for task in TASK_NAMES:
        path = Path(out_dir) / task / DATA_FILE
        if path.is_file():
            found[task] = json.loads(path.read_text(encoding="utf-8"))
    return found


def render_explorer(data: dict[str, dict]) -> str:
    """The page for ``data`` (task name → explorer data)."""
    # "<" escaped inside strings: the JSON cannot close its <script> element.
    payload = json.dumps(data, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")
    sections = "".join(_SECTIONS[task] for task in data)
    if not sections:
        sections = "<p>This run has no task with explorer data.</p>"
    return _PAGE.replace("@SECTIONS@", sections).replace("@DATA@", payload)


def write_explorer(out_dir: Path) -> Path:
    """Write ``explorer.html`` and ``plotly.min.js`` into ``out_dir`` (a generation folder),
    from the ``explorer.json`` of each task there. Returns the page's path."""
    from plotly.offline import get_plotlyjs

    out_dir = Path(out_dir)
    page = out_dir / EXPLORER_HTML
    (out_dir / PLOTLY_JS).write_text(get_plotlyjs(), encoding="utf-8")
    page.write_text(render_explorer(load_explorer_data(out_dir)), encoding="utf-8")
    return page


_SECTIONS = {
    "task1": """
<section id="task1">
  <h2>Task 1: k-nearest neighbours on two moons</h2>
  <div class="controls">
    <label for="t1-k">k = <b id="t1-k-value"></b></label>
    <input type="range" id="t1-k" min="0" step="1">
    <span class="toggle">
      <label><input type="radio" name="t1-points" id="t1-show-train" value="train" checked>
        training points</label>
      <label><input type="radio" name="t1-points" id="t1-show-test" value="test">
        test points</label>
    </span>
  </div>
  <table class="numbers">
    <tr><th>test accuracy</th><td id="t1-test"></td>
        <th>training accuracy</th><td id="t1-train"></td>
        <th>cross-validated accuracy</th><td id="t1-cv"></td>
        <th>regions</th><td id="t1-regions"></td></tr>
  </table>
  <div id="t1-plot" class="plot square"></div>
  <p class="note">Colour: p(c=1|x), the share of class 1 among the k nearest training points,
  on a grid over the experiment's plane; regions are the connected pieces of the two classes
  on that grid. Cross-validated accuracy: the mean over <span id="t1-folds"></span> folds of the
  training set (none for k above <span id="t1-cvmax"></span>, a fold's training set).
  The sheet's ks are marked ★.</p>
  <h3>Density estimates</h3>
  <div class="controls">
    <label for="t1-dk">k = <b id="t1-dk-value"></b></label>
    <input type="range" id="t1-dk" min="0" step="1">
    <span>mean log p(x) on the test set: <b id="t1-dmean"></b> nats</span>
  </div>
  <div id="t1-density" class="plot wide"></div>
  <p class="note">log p(x) = log k &minus; log N &minus; log V(r_k(x)), with V(r_k(x)) the
  area of the disc reaching the k-th nearest training point;
  log p(x|c) = log k_c &minus; log N_c &minus; log V(r_k(x)), with k_c of those k points in
  class c. Blank: log p(x|c) = &minus;∞, where none of them is.</p>
</section>""",
    "task2": """
<section id="task2">
  <h2>Task 2: least squares and one outlier</h2>
  <div class="controls">
    <label for="t2-scale">outlier scale s = <b id="t2-scale-value"></b></label>
    <input type="range" id="t2-scale" min="0" step="1">
    <span>outlier at <b id="t2-outlier"></b></span>
  </div>
  <table class="numbers">
    <tr><th></th><th>accuracy (sign)</th><th>accuracy (rint, the sheet's rule)</th>
        <th>boundary angle</th></tr>
    <tr><th>least squares</th><td id="t2-ls-sign"></td><td id="t2-ls-rint"></td>
        <td id="t2-ls-angle"></td></tr>
    <tr><th>Huber</th><td id="t2-huber-sign"></td><td id="t2-huber-rint"></td>
        <td id="t2-huber-angle"></td></tr>
    <tr><th>logistic regression</th><td id="t2-logistic-sign"></td><td>no rint for logits</td>
        <td id="t2-logistic-angle"></td></tr>
    <tr><th>the sheet</th><td></td><td id="t2-sheet"></td><td></td></tr>
  </table>
  <div id="t2-plot" class="plot square"></div>
  <p class="note">Accuracy on the test points; the boundaries are fitted to the training points
  and the outlier (label &minus;1) at s·(1, 1.75). The sheet's scales are marked ★.</p>
</section>""",
    "task3": """
<section id="task3">
  <h2>Task 3: softmax regression and its optimisers</h2>
  <div class="controls">
    <label for="t3-solver">solver</label>
    <select id="t3-solver"></select>
    <label for="t3-rate">learning rate = <b id="t3-rate-value"></b></label>
    <input type="range" id="t3-rate" min="0" step="1">
  </div>
  <table class="numbers">
    <tr><th>test accuracy</th><td id="t3-accuracy"></td>
        <th>final J</th><td id="t3-loss"></td>
        <th>J*</th><td id="t3-fstar"></td>
        <th>iterations</th><td id="t3-iterations"></td></tr>
  </table>
  <div id="t3-plot" class="plot wide"></div>
  <p class="note">J: mean cross-entropy + &alpha;/2‖W‖² on the training set; J*: its minimum. Grey:
  the solver's other learning rates. The study's own rate is marked ★.</p>
</section>""",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>scratchlearn explorer</title>
<script src="plotly.min.js"></script>
<style>
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 1em auto; padding: 0 1em;
       color: #222; }
section { border-top: 1px solid #ccc; margin-top: 1.5em; }
.controls { display: flex; flex-wrap: wrap; gap: 1em; align-items: center; margin: .6em 0; }
.controls input[type=range] { width: 340px; }
.numbers { border-collapse: collapse; margin: .4em 0; }
.numbers th, .numbers td { padding: .2em .6em; text-align: left; font-weight: normal; }
.numbers th { color: #555; }
.numbers td { font-variant-numeric: tabular-nums; font-weight: bold; }
.plot.square { width: 640px; height: 560px; }
.plot.wide { width: 1060px; height: 420px; }
.note { color: #555; font-size: 90%; }
</style>
</head>
<body>
<h1>scratchlearn explorer</h1>
<p>Move a slider to see the run at another setting. Every value on this page was computed by
this run (each task's <code>explorer.json</code>); the page only looks them up.</p>
@SECTIONS@
<script type="application/json" id="explorer-data">@DATA@</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
const CONFIG = {displaylogo: false, displayModeBar: false, responsive: false};
const CLASS_COLOURS = {"0": "#1f77b4", "1": "#d62728", "-1": "#1f77b4"};
const fmt = (v, digits) => (v === null || v === undefined) ? "n/a" : v.toFixed(digits);
const text = (id, value) => { document.getElementById(id).textContent = value; };
const LOG_TICKS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const star = (isSheet) => isSheet ? " ★" : "";

function pointsByClass(points, name, symbol) {
  const labels = Array.from(new Set(points.label)).sort();
  return labels.map((c) => {
    const keep = points.label.map((l, i) => l === c ? i : -1).filter((i) => i >= 0);
    return {type: "scatter", mode: "markers", name: name + ", class " + c,
            x: keep.map((i) => points.x1[i]), y: keep.map((i) => points.x2[i]),
            marker: {color: CLASS_COLOURS[String(c)] || "#333", size: 5, symbol: symbol,
                     line: {color: "#222", width: 0.6}}};
  });
}

function slider(id, count, start, onChange) {
  const input = document.getElementById(id);
  input.max = String(count - 1);
  input.value = String(start);
  input.addEventListener("input", () => onChange(Number(input.value)));
  onChange(start);
  return input;
}

if (DATA.task1) {
  const d = DATA.task1;
  const sheet = new Set(d.sheet_k_values);
  const classPoints = {train: pointsByClass(d.points.train, "training", "circle"),
                       test: pointsByClass(d.points.test, "test", "diamond")};
  let which = "train";
  let kIndex = d.by_k.findIndex((row) => row.k === d.chosen_k);
  text("t1-folds", String(d.cv_folds));
  text("t1-cvmax", String(d.cv_max_k));
  function drawK() {
    const row = d.by_k[kIndex];
    text("t1-k-value", row.k + star(sheet.has(row.k)));
    text("t1-test", fmt(row.test_accuracy, 3));
    text("t1-train", fmt(row.train_accuracy, 3));
    text("t1-cv", fmt(row.cv_accuracy, 3));
    text("t1-regions", String(row.n_regions));
    const heat = {type: "heatmap", name: "p(c=1|x)", x: d.grid.x, y: d.grid.y, z: row.proba,
                  zmin: 0, zmax: 1, colorscale: "RdBu", opacity: 0.55,
                  colorbar: {title: {text: "p(c=1|x)"}}};
    const contour = {type: "contour", name: "p = 0.5", x: d.grid.x, y: d.grid.y, z: row.proba,
                     showscale: false, contours: {coloring: "none", start: 0.5, end: 0.5, size: 1},
                     line: {color: "black", width: 1.5}, hoverinfo: "skip"};
    Plotly.react("t1-plot", [heat, contour, ...classPoints[which]], {
      title: {text: "Decision regions, k = " + row.k +
                    (which === "train" ? " (training points)" : " (test points)")},
      xaxis: {title: {text: "x1"}, range: [d.grid.x[0], d.grid.x[d.grid.x.length - 1]]},
      yaxis: {title: {text: "x2"}, range: [d.grid.y[0], d.grid.y[d.grid.y.length - 1]]},
      legend: {orientation: "h", y: -0.15}, margin: {t: 40, r: 10}}, CONFIG);
  }
  slider("t1-k", d.by_k.length, kIndex, (i) => { kIndex = i; drawK(); });
  for (const id of ["t1-show-train", "t1-show-test"]) {
    document.getElementById(id).addEventListener("change", (event) => {
      which = event.target.value; drawK();
    });
  }
  const classes = Object.keys(d.density[0].class_log_density);
  slider("t1-dk", d.density.length, 0, (i) => {
    const row = d.density[i];
    text("t1-dk-value", String(row.k));
    text("t1-dmean", fmt(row.mean_log_density_test, 3));
    const panels = [["log p(x)", row.log_density],
                    ...classes.map((c) => ["log p(x|c=" + c + ")", row.class_log_density[c]])];
    const traces = panels.map(([name, z], j) => ({
      type: "heatmap", name: name, x: d.grid.x, y: d.grid.y, z: z, coloraxis: "coloraxis",
      xaxis: j ? "x" + (j + 1) : "x", yaxis: j ? "y" + (j + 1) : "y"}));
    const layout = {grid: {rows: 1, columns: panels.length, pattern: "independent"},
                    coloraxis: {colorscale: "Viridis", colorbar: {title: {text: "nats"}}},
                    annotations: panels.map(([name], j) => ({
                      text: name + ", k = " + row.k, showarrow: false, font: {size: 14},
                      xref: (j ? "x" + (j + 1) : "x") + " domain",
                      yref: (j ? "y" + (j + 1) : "y") + " domain", x: 0.5, y: 1.1})),
                    margin: {t: 50, r: 10}};
    panels.forEach((_, j) => {
      layout["xaxis" + (j ? j + 1 : "")] = {title: {text: "x1"}};
      layout["yaxis" + (j ? j + 1 : "")] = {title: {text: j ? "" : "x2"}};
    });
    Plotly.react("t1-density", traces, layout, CONFIG);
  });
}

if (DATA.task2) {
  const d = DATA.task2;
  const sheet = new Map(d.sheet_scales.map((s, i) => [s, d.sheet_accuracy_rint[i]]));
  const data = pointsByClass(d.points.train, "training", "circle");
  const names = {least_squares: "least squares", huber: "Huber", logistic: "logistic regression"};
  const colours = {least_squares: "#ff7f0e", huber: "#2ca02c", logistic: "#9467bd"};
  const dashes = {least_squares: "solid", huber: "dash", logistic: "dot"};
  const short = {least_squares: "ls", huber: "huber", logistic: "logistic"};
  const last = d.sheet_scales[d.sheet_scales.length - 1];
  const start = d.by_scale.findIndex((row) => row.scale === last);
  slider("t2-scale", d.by_scale.length, Math.max(start, 0), (i) => {
    const row = d.by_scale[i];
    text("t2-scale-value", row.scale + star(sheet.has(row.scale)));
    text("t2-outlier", "(" + row.outlier.map((v) => fmt(v, 2)).join(", ") + ")" +
         (row.outlier_in_plot ? "" : ", outside the plot"));
    const lines = Object.keys(names).map((name) => {
      const fit = row.estimators[name];
      text("t2-" + short[name] + "-sign", fmt(fit.accuracy, 2));
      if (name !== "logistic") text("t2-" + short[name] + "-rint", fmt(fit.accuracy_rint, 2));
      text("t2-" + short[name] + "-angle", fmt(fit.angle_degrees, 1) + "°");
      return {type: "scatter", mode: "lines", name: names[name],
              x: fit.segment ? fit.segment[0] : [], y: fit.segment ? fit.segment[1] : [],
              line: {color: colours[name], width: 3, dash: dashes[name]}};
    });
    text("t2-sheet", sheet.has(row.scale) ? fmt(sheet.get(row.scale), 2) : "not printed");
    const outlier = {type: "scatter", mode: "markers", name: "outlier (label \\u22121)",
                     x: row.outlier_in_plot ? [row.outlier[0]] : [],
                     y: row.outlier_in_plot ? [row.outlier[1]] : [],
                     marker: {color: "black", size: 14, symbol: "x"}};
    Plotly.react("t2-plot", [...data, outlier, ...lines], {
      title: {text: "Boundaries with the outlier at s = " + row.scale},
      xaxis: {title: {text: "x1"}, range: d.box[0]},
      yaxis: {title: {text: "x2"}, range: d.box[1]},
      annotations: row.outlier_in_plot ? [] : [{
        text: "outlier at (" + row.outlier.map((v) => fmt(v, 1)).join(", ") + ") ↗",
        xref: "paper", yref: "paper", x: 1, y: 1, xanchor: "right", showarrow: false,
        font: {size: 13}}],
      legend: {orientation: "h", y: -0.15}, margin: {t: 40, r: 10}}, CONFIG);
  });
}

if (DATA.task3) {
  const d = DATA.task3;
  const picker = document.getElementById("t3-solver");
  const rate = document.getElementById("t3-rate");
  for (const name of Object.keys(d.solvers)) {
    picker.add(new Option(name, name));
  }
  text("t3-fstar", fmt(d.objective_minimum, 5));
  function drawRun() {
    const solver = d.solvers[picker.value];
    const i = Number(rate.value);
    const run = solver.runs[i];
    const label = (r) => r.learning_rate === null ? "no learning rate"
                                                  : String(r.learning_rate);
    const isStudy = i === solver.study_index && run.learning_rate !== null;
    text("t3-rate-value", label(run) + star(isStudy));
    text("t3-accuracy", fmt(run.test_accuracy, 4));
    text("t3-loss", fmt(run.final_loss, 5));
    text("t3-iterations", run.iterations + " (" + solver.iteration_unit + "s)");
    const traces = [];
    solver.runs.forEach((r, j) => {
      if (j === i) return;
      const grey = {color: "#bbb", width: 1};
      traces.push({type: "scatter", mode: "lines", name: "lr " + label(r), x: null, y: r.loss,
                   line: grey, showlegend: false, xaxis: "x", yaxis: "y"});
      traces.push({type: "scatter", mode: "lines", name: "lr " + label(r), x: r.seconds,
                   y: r.loss, line: grey, showlegend: false, xaxis: "x2", yaxis: "y2"});
    });
    const bold = {color: "#d62728", width: 2.5};
    traces.push({type: "scatter", mode: "lines", name: picker.value + ", lr " + label(run),
                 y: run.loss, line: bold, xaxis: "x", yaxis: "y"});
    traces.push({type: "scatter", mode: "lines", name: picker.value + ", lr " + label(run),
                 x: run.seconds, y: run.loss, line: bold, showlegend: false,
                 xaxis: "x2", yaxis: "y2"});
    const fstar = {color: "black", width: 1, dash: "dash"};
    traces.push({type: "scatter", mode: "lines", name: "J*", x: [0, run.iterations],
                 y: [d.objective_minimum, d.objective_minimum], line: fstar,
                 xaxis: "x", yaxis: "y"});
    traces.push({type: "scatter", mode: "lines", name: "J*", showlegend: false,
                 x: [0, run.seconds[run.seconds.length - 1]],
                 y: [d.objective_minimum, d.objective_minimum], line: fstar,
                 xaxis: "x2", yaxis: "y2"});
    Plotly.react("t3-plot", traces, {
      grid: {rows: 1, columns: 2, pattern: "independent"},
      xaxis: {title: {text: solver.iteration_unit + "s"}},
      yaxis: {title: {text: "J (nats)"}, type: "log", tickvals: LOG_TICKS},
      xaxis2: {title: {text: "seconds since the start of fit"}},
      yaxis2: {title: {text: "J (nats)"}, type: "log", tickvals: LOG_TICKS},
      legend: {orientation: "h", y: -0.2}, margin: {t: 20, r: 10}}, CONFIG);
  }
  picker.addEventListener("change", () => {
    const solver = d.solvers[picker.value];
    rate.max = String(solver.runs.length - 1);
    rate.value = String(solver.study_index);
    rate.disabled = solver.runs.length < 2;
    drawRun();
  });
  rate.addEventListener("input", drawRun);
  picker.value = Object.keys(d.solvers)[0];
  picker.dispatchEvent(new Event("change"));
}
</script>
</body>
</html>
"""
