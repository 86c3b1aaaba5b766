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
    const outlier = {type: "scatter", mode: "markers", name: "outlier (label \u22121)",
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
