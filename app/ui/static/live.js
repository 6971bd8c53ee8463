// The live view: polls /metrics, turns counters into rates and histogram buckets into percentiles.
"use strict";

const PERIOD_S = 2;
const HISTORY = 90;
const TILES = [
  ["requests/s", "rps"], ["items/s", "ips"], ["latency p50", "p50"], ["latency p99", "p99"],
  ["queue depth", "queue"], ["workers", "workers"], ["item errors/s", "eps"], ["worker restarts", "restarts"],
];
const series = Object.fromEntries(TILES.map(([, key]) => [key, []]));
let previous = null;

// Prometheus text exposition -> [{name, labels, value}]
function parseMetrics(text) {
  const out = [];
  const line = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /(\w+)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split("\n")) {
    if (!raw || raw[0] === "#") continue;
    const m = line.exec(raw);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(label)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples, name, where) {
  return samples.filter((s) => s.name === name && (!where || where(s.labels))).reduce((a, s) => a + s.value, 0);
}

function byLabel(samples, name, key) {
  const out = {};
  for (const s of samples) if (s.name === name) out[s.labels[key]] = (out[s.labels[key]] || 0) + s.value;
  return out;
}

// Cumulative latency buckets (all routes but the pages themselves) -> {le: count}
function buckets(samples) {
  const out = {};
  for (const s of samples) {
    if (s.name !== "vrewards_request_latency_seconds_bucket") continue;
    if (s.labels.route !== "/score" && s.labels.route !== "/get_reward") continue;
    out[s.labels.le] = (out[s.labels.le] || 0) + s.value;
  }
  return out;
}

function percentile(now, before, q) {
  const les = Object.keys(now).sort((a, b) => (a === "+Inf" ? 1 : b === "+Inf" ? -1 : Number(a) - Number(b)));
  const counts = les.map((le) => now[le] - ((before && before[le]) || 0));
  const total = counts[counts.length - 1] || 0;
  if (!total) return null;
  let lower = 0;
  for (let i = 0; i < les.length; i++) {
    if (counts[i] >= q * total) {
      if (les[i] === "+Inf") return Number(les[i - 1] || 0);
      const upper = Number(les[i]);
      const below = i ? counts[i - 1] : 0;
      const inBucket = counts[i] - below;
      return lower + (upper - lower) * (inBucket ? (q * total - below) / inBucket : 1);
    }
    lower = les[i] === "+Inf" ? lower : Number(les[i]);
  }
  return null;
}

function snapshot(samples) {
  return {
    t: performance.now() / 1000,
    requests: sum(samples, "vrewards_requests_total", (l) => l.route === "/score" || l.route === "/get_reward"),
    items: sum(samples, "vrewards_items_total"),
    errors: sum(samples, "vrewards_item_errors_total"),
    restarts: sum(samples, "vrewards_worker_restarts_total"),
    queue: sum(samples, "vrewards_queue_depth"),
    workers: sum(samples, "vrewards_workers"),
    buckets: buckets(samples),
  };
}

function spark(values) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 " + HISTORY + " 36");
  svg.setAttribute("preserveAspectRatio", "none");
  const nums = values.filter((v) => v !== null);
  const max = Math.max(1e-9, ...nums);
  const pts = values
    .map((v, i) => (v === null ? null : (i * HISTORY) / Math.max(1, values.length - 1) + "," + (34 - 32 * (v / max))))
    .filter((p) => p !== null)
    .join(" ");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts);
  svg.append(line);
  return svg;
}

function ms(seconds) { return seconds === null ? "\u2013" : (seconds * 1000).toFixed(seconds < 0.1 ? 1 : 0) + " ms"; }

function renderTiles(values) {
  const box = document.getElementById("tiles");
  box.replaceChildren();
  for (const [name, key] of TILES) {
    const v = values[key];
    series[key].push(v);
    if (series[key].length > HISTORY) series[key].shift();
    const shown = key === "p50" || key === "p99" ? ms(v) : v === null ? "\u2013" : vr.fmt(v, key.endsWith("s") ? 1 : 0);
    box.append(vr.el("div", { class: "tile", id: "tile-" + key }, vr.el("div", { class: "name" }, name),
      vr.el("div", { class: "value" }, shown), spark(series[key])));
  }
}

function renderTable(id, counts) {
  const table = document.getElementById(id);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  table.replaceChildren();
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (!entries.length) table.append(vr.el("tr", {}, vr.el("td", { class: "muted" }, "none yet")));
  for (const [name, n] of entries) {
    table.append(vr.el("tr", {}, vr.el("td", {}, name), vr.el("td", {}, String(n)),
      vr.el("td", { style: "width:40%" }, vr.el("div", { class: "bar", style: "width:" + (100 * n / (total || 1)) + "%" }))));
  }
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const samples = parseMetrics(await (await vr.call("/metrics")).text());
    const now = snapshot(samples);
    const dt = previous ? Math.max(1e-3, now.t - previous.t) : null;
    const rate = (key) => (previous ? Math.max(0, now[key] - previous[key]) / dt : null);
    renderTiles({
      rps: rate("requests"), ips: rate("items"), eps: rate("errors"),
      p50: percentile(now.buckets, previous && previous.buckets, 0.5),
      p99: percentile(now.buckets, previous && previous.buckets, 0.99),
      queue: now.queue, workers: now.workers, restarts: now.restarts,
    });
    renderTable("outcomes", byLabel(samples, "vrewards_accuracy_outcomes_total", "outcome"));
    const errors = byLabel(samples, "vrewards_item_errors_total", "code");
    for (const [reason, n] of Object.entries(byLabel(samples, "vrewards_worker_restarts_total", "reason"))) {
      if (n) errors["restart: " + reason] = n;
    }
    renderTable("errors", errors);
    previous = now;
    status.textContent = "updated " + new Date().toLocaleTimeString();
    status.className = "muted";
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  } catch (e) {
    status.textContent = e.message;
    status.className = "error";
  }
}

vr.bindToken(document.getElementById("token"));
document.getElementById("period").textContent = PERIOD_S;
refresh();
setInterval(refresh, PERIOD_S * 1000);
