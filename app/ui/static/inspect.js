// The inspection page: score one item (or every item of a JSONL file) with an explanation, and show why it
// got its reward: the answer region and the extracted answer in the completion, every candidate answer,
// the format check, and the language of each segment of the reasoning.
"use strict";

const COMPONENTS = [["accuracy", 1.0, true], ["format", 0.5, true], ["language", 0.1, true], ["code", 1.0, false]];
const $ = (id) => document.getElementById(id);
const state = { items: [], results: [], shown: [], pos: 0 };

function buildComponents() {
  const box = $("components");
  for (const [name, weight, on] of COMPONENTS) {
    const check = vr.el("input", { type: "checkbox", id: "use-" + name, checked: on });
    box.append(check, vr.el("label", { htmlFor: "use-" + name }, name),
      vr.el("input", { type: "number", id: "weight-" + name, value: weight, step: "0.1" }));
  }
  $("tests").addEventListener("input", () => { if ($("tests").value.trim()) $("use-code").checked = true; });
}

function rewardsBlock() {
  const block = {};
  for (const [name] of COMPONENTS) {
    if (!$("use-" + name).checked) continue;
    block[name] = { weight: Number($("weight-" + name).value || 0) };
  }
  if (block.format) block.format.mode = $("format-mode").value;
  return block;
}

function itemFromForm() {
  const item = { id: "inspect", completion: $("completion").value };
  for (const key of ["prompt", "answer", "lang"]) {
    const v = $(key).value;
    if (v.trim()) item[key] = key === "lang" ? v.trim() : v;
  }
  const tests = $("tests").value.trim();
  if (tests) {
    try { item.tests = JSON.parse(tests); } catch (e) { throw new Error("tests: not valid JSON (" + e.message + ")"); }
  }
  return item;
}

function itemFromLine(raw, n) {
  if (typeof raw !== "object" || raw === null || typeof raw.completion !== "string") {
    throw new Error("line " + n + ": an item needs a string 'completion'");
  }
  const item = { id: raw.id !== undefined ? String(raw.id) : "line-" + n, completion: raw.completion };
  if (typeof raw.prompt === "string") item.prompt = raw.prompt;
  for (const key of ["answer", "gold", "reference", "solution"]) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    item.answer = Array.isArray(v) ? v.map(String) : String(v);
    break;
  }
  if (typeof raw.lang === "string") item.lang = raw.lang;
  if (raw.tests && typeof raw.tests === "object") item.tests = raw.tests;
  return item;
}

async function scoreItems(items) {
  const r = await vr.call("/score", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ items, rewards: rewardsBlock(), explain: true }),
  });
  return (await r.json()).results;
}

function outcomeOf(result) {
  if (result.error) return "error: " + result.error.code;
  const d = result.details || {};
  return d.outcome || d.code_outcome || "scored";
}

// ------------------------------------------------------------------------------------------ rendering
function renderCompletion(completion, details) {
  const chars = Array.from(completion); // explanation offsets count code points
  const ex = details.explanation || {};
  const marks = new Array(chars.length + 1).fill(null).map(() => []);
  const span = (range, cls) => {
    if (!Array.isArray(range)) return;
    marks[Math.max(0, range[0])].push(["open", cls]);
    marks[Math.min(chars.length, range[1])].push(["close", cls]);
  };
  let regions = [ex.reasoning_region, ex.answer_region];
  if (!ex.answer_region && !ex.reasoning_region) {
    // no explanation: the text after the last </think> is the answer region
    const close = completion.lastIndexOf("</think>");
    const start = close < 0 ? 0 : Array.from(completion.slice(0, close + 8)).length;
    regions = [close < 0 ? null : [0, start], [start, chars.length]];
  }
  span(regions[0], "reasoning");
  span(regions[1], "answer-region");
  const chosen = (ex.candidates || []).find((c) => c.chosen && Number.isInteger(c.start));
  if (chosen) span([chosen.start, chosen.end], "mark");
  else if (details.extracted_answer) {
    const at = completion.lastIndexOf(details.extracted_answer);
    if (at >= 0) {
      const start = Array.from(completion.slice(0, at)).length;
      span([start, start + Array.from(details.extracted_answer).length], "mark");
    }
  }
  const root = vr.el("div", { class: "completion" });
  const stack = [root];
  const open = (cls) => {
    const node = cls === "mark" ? vr.el("mark") : vr.el("span", { class: cls });
    stack[stack.length - 1].append(node);
    stack.push(node);
  };
  const pos = ex.format && Number.isInteger(ex.format.position) ? ex.format.position : -1;
  let text = "";
  const flush = () => { if (text) { stack[stack.length - 1].append(text); text = ""; } };
  for (let i = 0; i <= chars.length; i++) {
    for (const [kind, cls] of marks[i]) {
      flush();
      if (kind === "close") { if (stack.length > 1) stack.pop(); } else open(cls);
    }
    if (i === pos) { flush(); stack[stack.length - 1].append(vr.el("span", { class: "error", title: "format check failed here" }, "\u25B2")); }
    if (i < chars.length) text += chars[i];
  }
  flush();
  return vr.el("pre", {}, root);
}

function renderSegments(language) {
  const box = vr.el("div", { class: "segments", id: "segments" });
  for (const s of language.segments || []) {
    const cls = !s.label ? "undecided" : s.label === language.target ? "on-target" : "off-target";
    box.append(vr.el("div", { class: "segment " + cls, "data-label": s.label || "" }, s.text,
      vr.el("small", {}, (s.label || "no label") + " \u00b7 p=" + vr.fmt(s.prob, 2) + " \u00b7 " + s.words + " words")));
  }
  return box;
}

function row(name, value) { return vr.el("tr", {}, vr.el("th", {}, name), vr.el("td", {}, value)); }

function render(item, result) {
  const out = $("result");
  out.replaceChildren();
  const d = result.details || {};
  const ex = d.explanation || {};
  const summary = vr.el("div", { class: "card", id: "summary" }, vr.el("h2", {}, "Reward"),
    vr.el("div", { class: "reward" + (result.reward === null ? " null" : ""), id: "reward" }, vr.fmt(result.reward)));
  if (result.error) summary.append(vr.el("p", { class: "error" }, result.error.code + ": " + result.error.message));
  const scores = vr.el("table", { id: "scores" });
  for (const [k, v] of Object.entries(result.scores || {})) scores.append(row(k, vr.fmt(v)));
  for (const key of ["outcome", "extracted_answer", "extraction", "format_check", "language_target", "code_outcome"]) {
    if (d[key] !== undefined) scores.append(row(key, vr.el("code", { id: "d-" + key }, vr.fmt(d[key]))));
  }
  summary.append(scores);
  out.append(summary);

  const comp = vr.el("div", { class: "card" }, vr.el("h2", {}, "Completion"),
    vr.el("p", { class: "muted legend" }, vr.el("span", { class: "completion" }, "grey: reasoning"),
      vr.el("span", {}, "yellow: answer region"), vr.el("span", {}, "marked: the extracted answer")),
    renderCompletion(item.completion, d));
  out.append(comp);

  if (ex.candidates && ex.candidates.length) {
    const t = vr.el("table", { id: "candidates" }, vr.el("tr", {}, vr.el("th", {}, "method"), vr.el("th", {}, "answer"), vr.el("th", {}, "why")));
    for (const c of ex.candidates) {
      t.append(vr.el("tr", { class: c.chosen ? "chosen" : "" }, vr.el("td", {}, c.method + (c.chosen ? " \u2713" : "")),
        vr.el("td", {}, vr.el("code", {}, c.text)), vr.el("td", {}, c.why || "")));
    }
    const card = vr.el("div", { class: "card" }, vr.el("h2", {}, "Candidate answers"), t);
    if (ex.compared) card.append(vr.el("p", {}, "compared: ", vr.el("code", {}, vr.fmt(ex.compared.answer)), " against ", vr.el("code", {}, vr.fmt(ex.compared.reference))));
    out.append(card);
  }
  if (ex.format) {
    out.append(vr.el("div", { class: "card" }, vr.el("h2", {}, "Format"),
      vr.el("p", {}, "check: ", vr.el("code", {}, ex.format.check), Number.isInteger(ex.format.position) ? " at character " + ex.format.position : "")));
  }
  if (ex.language) {
    out.append(vr.el("div", { class: "card" }, vr.el("h2", {}, "Language segments (target " + vr.fmt(ex.language.target) + ")"),
      vr.el("p", { class: "muted" }, "green: target language, red: another language, grey: no decision"),
      renderSegments(ex.language)));
  }
  const raw = vr.el("details", { class: "card" }, vr.el("summary", {}, "Raw JSON"),
    vr.el("pre", { id: "raw" }, JSON.stringify(result, null, 2)));
  out.append(raw);
}

// ------------------------------------------------------------------------------------------ actions
async function scoreForm() {
  $("status").textContent = "scoring\u2026";
  $("status").className = "muted";
  try {
    const item = itemFromForm();
    const [result] = await scoreItems([item]);
    render(item, result);
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = e.message;
    $("status").className = "error";
  }
}

async function openFile(file) {
  $("status").textContent = "reading " + file.name + "\u2026";
  $("status").className = "muted";
  try {
    const lines = (await file.text()).split("\n").map((l) => l.trim()).filter((l) => l);
    const items = lines.map((l, i) => itemFromLine(JSON.parse(l), i + 1));
    const results = [];
    for (let i = 0; i < items.length; i += 256) {
      results.push(...await scoreItems(items.slice(i, i + 256)));
      $("status").textContent = "scored " + results.length + " of " + items.length;
    }
    Object.assign(state, { items, results, pos: 0 });
    const outcomes = [...new Set(results.map(outcomeOf))].sort();
    $("filter").replaceChildren(vr.el("option", { value: "" }, "all (" + results.length + ")"),
      ...outcomes.map((o) => vr.el("option", { value: o }, o + " (" + results.filter((r) => outcomeOf(r) === o).length + ")")));
    $("file-nav").style.display = "block";
    $("status").textContent = items.length + " items from " + file.name;
    applyFilter();
  } catch (e) {
    $("status").textContent = e.message;
    $("status").className = "error";
  }
}

function applyFilter() {
  const want = $("filter").value;
  state.shown = state.results.map((r, i) => i).filter((i) => !want || outcomeOf(state.results[i]) === want);
  state.pos = 0;
  show();
}

function show() {
  if (!state.shown.length) { $("position").textContent = "none"; return; }
  const i = state.shown[state.pos];
  const item = state.items[i];
  $("position").textContent = (state.pos + 1) + " / " + state.shown.length + " (" + item.id + ")";
  for (const key of ["prompt", "completion", "lang"]) $(key).value = item[key] || "";
  $("answer").value = Array.isArray(item.answer) ? JSON.stringify(item.answer) : item.answer || "";
  $("tests").value = item.tests ? JSON.stringify(item.tests) : "";
  render(item, state.results[i]);
}

function step(delta) {
  if (!state.shown.length) return;
  state.pos = (state.pos + delta + state.shown.length) % state.shown.length;
  show();
}

buildComponents();
vr.bindToken($("token"));
$("score").addEventListener("click", scoreForm);
$("file").addEventListener("change", (e) => { if (e.target.files[0]) openFile(e.target.files[0]); });
$("filter").addEventListener("change", applyFilter);
$("prev").addEventListener("click", () => step(-1));
$("next").addEventListener("click", () => step(1));
