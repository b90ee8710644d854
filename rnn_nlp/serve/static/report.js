// The page of one model (/model/NAME): what it is, its metrics, training curves drawn from metrics.csv and
// steps.csv, its confusion matrices and reports, and its model card, from GET /models/NAME.
"use strict";

const NOT_CURVES = new Set(["epoch", "step", "lr", "tokens_per_s", "elapsed_s", "valid_tokens", "train_tokens"]);
const SVG = "http://www.w3.org/2000/svg";
const SERIES_COLOURS = ["#2b4c7e", "#e07a1f", "#2e7d4f", "#b42318", "#7a5195"];

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// A line chart of series [{name, points: [[x, y], ...], dots}] against the optimiser step.
function lineChart(title, series) {
  const W = 420, H = 240, L = 56, R = 12, T = 12, B = 36;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 + 0.1; y1 += Math.abs(y1) * 0.1 + 0.1; }
  const [low, high] = [y0, y1];
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  if (low >= 0) y0 = Math.max(y0, 0);  // a loss or a score never reads below 0, a score (<= 1) never above 1
  if (low >= 0 && high <= 1) y1 = Math.min(y1, 1);
  const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const chart = svg("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title});
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    chart.append(svg("line", {x1: L, x2: W - R, y1: sy(y), y2: sy(y), stroke: "#e5e8ef"}),
      svg("text", {x: L - 6, y: sy(y) + 4, "text-anchor": "end", "font-size": 11, fill: "#667085"}, fmt(y, 3)));
  }
  for (const x of [x0, (x0 + x1) / 2, x1]) {
    chart.append(svg("text", {x: sx(x), y: H - B + 16, "text-anchor": "middle", "font-size": 11, fill: "#667085"}, fmt(Math.round(x))));
  }
  chart.append(svg("text", {x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", "font-size": 11, fill: "#667085"}, "step"));
  series.forEach((s, i) => {
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
    chart.append(svg("path", {d, fill: "none", stroke: colour, "stroke-width": s.dots ? 2 : 1.2, opacity: s.dots ? 1 : 0.7}));
    if (s.dots) for (const p of s.points) chart.append(svg("circle", {cx: sx(p[0]), cy: sy(p[1]), r: 3, fill: colour}));
  });
  const legend = el("div", {class: "muted", style: {fontSize: ".8rem"}}, series.map((s, i) =>
    el("span", {style: {marginRight: "1rem", color: SERIES_COLOURS[i % SERIES_COLOURS.length]}}, `■ ${s.name}`)));
  return el("div", {class: "chart"}, el("h4", {}, title), chart, legend);
}

// One chart per quantity (loss, ppl, accuracy, f1, ...): each evaluation's train and valid values, and
// the training value every few steps from steps.csv.
function curves(metrics, steps) {
  const charts = new Map();
  const add = (key, name, rows, dots) => {
    const points = rows.filter((r) => typeof r[name] === "number" && typeof r.step === "number").map((r) => [r.step, r[name]]);
    if (!points.length) return;
    const base = key.replace(/^(train|valid|test)_/, "");
    if (!charts.has(base)) charts.set(base, []);
    charts.get(base).push({name: dots ? name : `${name} (every few steps)`, points, dots});
  };
  const columns = (rows) => [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => !NOT_CURVES.has(c));
  for (const c of columns(steps)) add(c, c, steps, false);
  for (const c of columns(metrics)) add(c, c, metrics, true);
  return [...charts.entries()].map(([base, series]) => lineChart(base, series));
}

function table(rows, columns) {
  return el("table", {}, el("tr", {}, columns.map((c) => el("th", {}, c))),
    rows.map((row) => el("tr", {}, columns.map((c) => el("td", {class: typeof row[c] === "number" ? "num" : ""}, fmt(row[c]))))));
}

// Markdown as a model card holds it (front matter, headings, lists, tables, code, emphasis); text stays text.
function markdown(text) {
  const box = el("div", {class: "card"});
  let body = text;
  const front = /^---\n([\s\S]*?)\n---\n?/.exec(text);
  if (front) { box.append(el("pre", {class: "front-matter"}, front[1])); body = text.slice(front[0].length); }
  const inline = (line) => {
    const node = el("span");
    for (const part of line.split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
      if (part.startsWith("`") && part.endsWith("`") && part.length > 1) node.append(el("code", {}, part.slice(1, -1)));
      else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) node.append(el("strong", {}, part.slice(2, -2)));
      else node.append(part);
    }
    return node;
  };
  const lines = body.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const code = [];
      while (++i < lines.length && !lines[i].startsWith("```")) code.push(lines[i]);
      box.append(el("pre", {}, code.join("\n")));
    } else if (/^#{1,6} /.test(line)) {
      box.append(el(`h${Math.min(6, line.indexOf(" "))}`, {}, inline(line.replace(/^#+ /, ""))));
    } else if (/^\s*[-*] /.test(line)) {
      const list = el("ul");
      for (; i < lines.length && /^\s*[-*] /.test(lines[i]); i++) list.append(el("li", {}, inline(lines[i].replace(/^\s*[-*] /, ""))));
      i--; box.append(list);
    } else if (line.startsWith("|")) {
      const rows = [];
      for (; i < lines.length && lines[i].startsWith("|"); i++) if (!/^\|[\s:|-]+\|$/.test(lines[i])) rows.push(lines[i].slice(1, -1).split("|").map((c) => c.trim()));
      i--; box.append(el("table", {}, rows.map((r, j) => el("tr", {}, r.map((c) => el(j ? "td" : "th", {}, inline(c)))))));
    } else if (line.trim()) {
      box.append(el("p", {}, inline(line)));
    }
  }
  return box;
}

function section(title, ...content) {
  return el("section", {class: "panel"}, el("h2", {}, title), ...content);
}

async function main() {
  const root = document.getElementById("report");
  const name = decodeURIComponent(location.pathname.split("/").pop());
  try {
    const m = await api(`/models/${encodeURIComponent(name)}`);
    const r = m.record;
    document.title = `rnn-nlp: ${m.name}`;
    document.getElementById("title").textContent = `${m.name}: a ${m.task} model and what its run recorded`;
    const about = [["task", m.task], ["labels", m.labels ? m.labels.join(" ") : "(generates text)"], ["vocabulary", `${m.vocab_size.toLocaleString("en")} ${m.unit}s`],
      ["run folder", m.path || "(none)"], ...Object.entries(m.versions).map(([k, v]) => [k.replace(/_/g, " "), v])];
    const parts = [section(m.name, el("table", {}, about.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, String(v))))),
      el("p", {}, el("a", {href: `/#${encodeURIComponent(m.name)}`}, "try it"), " · endpoints: ", Object.values(m.endpoints).map((e) => el("code", {style: {marginRight: ".6rem"}}, e))))];
    const evals = Object.entries(r.evaluations).map(([split, e]) => ({split, ...Object.fromEntries(Object.entries(e || {}).filter(([, v]) => typeof v === "number"))}));
    const evalColumns = ["split", ...new Set(evals.flatMap((e) => Object.keys(e)).filter((k) => k !== "split"))];
    const last = r.metrics.length ? r.metrics[r.metrics.length - 1] : null;
    parts.push(section("Metrics",
      evals.length ? [el("h3", {}, "Evaluations (rnn-nlp evaluate)"), table(evals, evalColumns)] : el("p", {class: "muted"}, "No evaluation written yet: rnn-nlp evaluate RUN --split test writes one."),
      last ? [el("h3", {}, `The last evaluation during training (epoch ${fmt(last.epoch)}, step ${fmt(last.step)})`), table([last], Object.keys(last))] : ""));
    const charts = curves(r.metrics, r.steps);
    parts.push(section("Training curves", charts.length ? el("div", {class: "charts"}, charts) : el("p", {class: "muted"}, "This run recorded no metrics.csv or steps.csv.")));
    const confusion = r.figures.filter((f) => f.startsWith("confusion-"));
    parts.push(section("Confusion matrix", confusion.length
      ? confusion.map((f) => el("figure", {class: "figure"}, el("img", {src: `/models/${encodeURIComponent(m.name)}/figures/${f}`, alt: f}), el("figcaption", {class: "muted"}, f)))
      : el("p", {class: "muted"}, m.labels ? "None yet: rnn-nlp evaluate RUN --split test draws one (classifiers, POS taggers)." : "A model that generates text has no confusion matrix.")));
    for (const [split, text] of Object.entries(r.reports)) parts.push(section(`Report (${split})`, el("pre", {}, text)));
    parts.push(section("Model card", r.card ? markdown(r.card) : el("p", {class: "muted"}, "This run has no model card (README.md or MODEL_CARD.md in its folder).")));
    root.replaceChildren(...parts);
  } catch (error) { showError(root, error); }
}

main();
