// Shared by the pages: the token (kept in this tab's session storage) and calls to the service.
"use strict";

const vr = {
  token() { return sessionStorage.getItem("vrewards-token") || ""; },

  bindToken(input) {
    input.value = vr.token();
    input.addEventListener("change", () => sessionStorage.setItem("vrewards-token", input.value.trim()));
  },

  headers(extra) {
    const h = Object.assign({}, extra || {});
    const t = vr.token();
    if (t) h["Authorization"] = "Bearer " + t;
    return h;
  },

  async call(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = vr.headers(opts.headers);
    const r = await fetch(path, opts);
    if (r.status === 401) throw new Error("401: the service needs its token (type it in the top bar)");
    if (!r.ok) {
      let detail = "";
      try { detail = JSON.stringify((await r.json()).detail); } catch (e) { detail = r.statusText; }
      throw new Error(r.status + ": " + detail);
    }
    return r;
  },

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "style") node.style.cssText = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  },

  fmt(x, digits) {
    if (x === null || x === undefined) return "null";
    if (typeof x !== "number") return String(x);
    return Number.isInteger(x) ? String(x) : x.toFixed(digits === undefined ? 3 : digits);
  },
};
