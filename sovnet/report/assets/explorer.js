/* The measurement explorer of report.html: a table of every measurement, filtered, sorted and
   paged here, each row opening to its raw record beside its control. The data are in the page
   (sovnet/report/explorer_data.py describes them): nothing is fetched. Vanilla JS without a
   library or build step, so the archived report needs nothing but a browser (explorer.py).
   Data reach the page through textContent and attributes only, never as HTML. */
(() => {
  "use strict";
  const root = document.getElementById("sx");
  const app = root && root.querySelector(".sx-app");
  if (!app) return;

  const PAGE = 100; // rows in the DOM at once, whatever the run's size
  const KEEP = 8; // inflated chunks kept: one of web records is ~1.3 MB of text
  const COLS = [ // key, header, width (%)
    ["t", "time", 6], ["date", "date (UTC)", 14], ["vantage", "vantage", 7], ["isp", "ISP", 7],
    ["class", "class", 11], ["service", "service", 7], ["test", "test", 12],
    ["blocking", "blocking", 9], ["accessible", "accessible", 8], ["failure", "failure", 12],
    ["phase", "phase", 7],
  ];
  const FILTERS = [["isp", "ISP"], ["class", "class"], ["vantage", "vantage"],
    ["service", "service"], ["test", "test"], ["blocking", "blocking"],
    ["accessible", "accessible"], ["phase", "phase"]];
  const SEARCHED = ["vantage", "isp", "class", "service", "input", "test", "blocking", "failure",
    "phase"];
  const NUM = new Intl.NumberFormat("en-US");
  const fmt = (n) => NUM.format(n);

  let meta, N = 0, T, D, LINE, order, view = [], page = 0, open = null;
  const codes = {}, values = {}, selects = {}, chunks = new Map();
  let sort = { key: "t", dir: 1 };
  let search, count, tbody, pageInfo, nav, heads;

  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }

  function bytes(b64) {
    if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(b64);
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  async function inflate(id) {
    const el = document.getElementById(id);
    if (!el) throw new Error(`the page lacks its data element ${id}`);
    const stream = new Blob([bytes(el.textContent.trim())]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }

  function chunk(k) { // the raw lines of chunk k, inflated once and kept while recently used
    let got = chunks.get(k);
    if (got) chunks.delete(k);
    else got = inflate(`sx-c${k}`).then((text) => text.split("\n"));
    chunks.set(k, got);
    if (chunks.size > KEEP) chunks.delete(chunks.keys().next().value);
    got.catch(() => chunks.delete(k));
    return got;
  }

  async function line(i) {
    return (await chunk(Math.floor(i / meta.chunk)))[i % meta.chunk];
  }

  function fmtTime(tenths) { // as the figures' axes: 2.35 h
    return `${Math.round((tenths / 10 / meta.unit_s) * 100) / 100} ${meta.unit}`;
  }

  function fmtDate(sec) {
    return Number.isNaN(sec) ? "–" : new Date(sec * 1000).toISOString().slice(0, 19)
      .replace("T", " ");
  }

  const value = (k, i) => values[k][codes[k][i]];

  function tone(k, v) {
    if (k === "blocking") return v === "false" ? "ok" : v === "null" ? "warn" : v ? "bad" : "";
    if (k === "accessible") return v === "true" ? "ok" : v === "false" ? "bad" : v ? "warn" : "";
    return "";
  }

  // ---- index ----

  async function load() {
    meta = JSON.parse(await inflate("sx-index"));
    N = meta.n;
    T = new Float64Array(N);
    D = new Float64Array(N);
    LINE = new Int32Array(N);
    let t = 0, ln = 0;
    for (let i = 0; i < N; i++) {
      t += meta.t[i];
      ln += meta.line[i];
      T[i] = t;
      LINE[i] = ln;
      const d = meta.date[i];
      D[i] = d === null ? NaN : meta.date_base + d + Math.floor(t / 10);
    }
    for (const [k, col] of Object.entries(meta.cols)) {
      values[k] = col.values;
      codes[k] = Int32Array.from(col.codes);
    }
    meta.t = meta.date = meta.line = meta.cols = null; // now typed arrays: ~8 MB less at 100,000
  }

  function sortRows() {
    let key;
    if (sort.key === "t") key = T;
    else if (sort.key === "date") key = D.map((d) => (Number.isNaN(d) ? -Infinity : d));
    else {
      const vs = values[sort.key];
      const ranked = vs.map((_, c) => c).sort((a, b) => collate(vs[a], vs[b]));
      const rank = new Float64Array(vs.length);
      ranked.forEach((c, r) => { rank[c] = r; });
      key = Float64Array.from(codes[sort.key], (c) => rank[c]);
    }
    const dir = sort.dir;
    order = new Int32Array(N).map((_, i) => i)
      .sort((a, b) => (key[a] === key[b] ? a - b : (key[a] < key[b] ? -dir : dir)));
  }

  const collate = (a, b) => a.localeCompare(b, "en", { numeric: true });

  function filterRows() {
    const want = [];
    for (const [k] of FILTERS) {
      if (selects[k].value !== "") want.push([codes[k], Number(selects[k].value)]);
    }
    // Each word must be in one of the row's texts: which distinct values hold it, per column.
    const terms = search.value.toLowerCase().split(/\s+/).filter(Boolean).map((w) =>
      SEARCHED.map((k) => [codes[k], Uint8Array.from(values[k],
        (v) => (v.toLowerCase().includes(w) ? 1 : 0))]));
    const out = [];
    rows: for (let p = 0; p < N; p++) {
      const i = order[p];
      for (const [c, v] of want) if (c[i] !== v) continue rows;
      for (const cols of terms) {
        let hit = false;
        for (const [c, has] of cols) if (has[c[i]]) { hit = true; break; }
        if (!hit) continue rows;
      }
      out.push(i);
    }
    view = out;
  }

  // ---- the table ----

  function select(k, label) {
    const seen = new Int32Array(values[k].length);
    for (const c of codes[k]) seen[c]++;
    const byPhase = k === "phase" ? meta.phases : [];
    const rank = (v) => { const r = byPhase.indexOf(v); return r < 0 ? byPhase.length : r; };
    const cs = values[k].map((_, c) => c).sort((a, b) =>
      rank(values[k][a]) - rank(values[k][b]) || collate(values[k][a], values[k][b]));
    const s = h("select", { "aria-label": `filter by ${label}`, "data-col": k },
      new Option(`all (${fmt(N)})`, ""));
    for (const c of cs) s.append(new Option(`${values[k][c] || "–"} (${fmt(seen[c])})`, String(c)));
    s.addEventListener("change", refresh);
    return s;
  }

  function cell(k, i) {
    if (k === "t") return h("td", { class: "num", text: fmtTime(T[i]) });
    if (k === "date") return h("td", { text: fmtDate(D[i]) });
    const v = value(k, i);
    if (k === "service") {
      const url = value("input", i);
      return h("td", { title: url ? `${v}: ${url}` : v, text: v || "–" });
    }
    const tn = tone(k, v);
    if (tn) return h("td", {}, h("span", { class: `sx-pill sx-${tn}`, text: v }));
    return h("td", { title: v || null, text: v || "–" });
  }

  function row(i) {
    const tr = h("tr", { class: "sx-row", tabindex: "0", "data-i": String(i),
      "aria-expanded": "false" });
    for (const [k] of COLS) tr.append(cell(k, i));
    return tr;
  }

  function render() {
    open = null;
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    page = Math.max(0, Math.min(page, pages - 1));
    const first = page * PAGE;
    const shown = view.slice(first, first + PAGE).map(row);
    if (!shown.length) {
      shown.push(h("tr", {}, h("td", { colspan: String(COLS.length), class: "note",
        text: "No measurement matches the filter." })));
    }
    tbody.replaceChildren(...shown);
    count.textContent = `${fmt(view.length)} of ${fmt(N)} measurements`;
    pageInfo.textContent = view.length ? `rows ${fmt(first + 1)}–${fmt(first + shown.length)}` +
      `, page ${fmt(page + 1)} of ${fmt(pages)}` : "";
    nav.first.disabled = nav.prev.disabled = page === 0;
    nav.next.disabled = nav.last.disabled = page >= pages - 1;
    for (const [k, th] of Object.entries(heads)) {
      th.setAttribute("aria-sort", k !== sort.key ? "none"
        : sort.dir > 0 ? "ascending" : "descending");
    }
  }

  function refresh() {
    filterRows();
    page = 0;
    render();
  }

  function sortBy(k) {
    sort = { key: k, dir: sort.key === k ? -sort.dir : 1 };
    sortRows();
    refresh();
  }

  function goto(p) {
    page = p;
    render();
  }

  function ui() {
    search = h("input", { type: "search", placeholder: "vantage, service, URL, failure…",
      "aria-label": "search the measurements" });
    let timer = 0;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 120);
    });
    search.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      clearTimeout(timer);
      refresh();
    });
    const labels = FILTERS.map(([k, label]) => h("label", {}, label,
      selects[k] = select(k, label)));
    const clear = h("button", { type: "button", class: "sx-btn", text: "Clear filters",
      onclick: () => {
        search.value = "";
        for (const s of Object.values(selects)) s.value = "";
        refresh();
      } });
    const bar = h("div", { class: "sx-bar" }, h("label", { class: "sx-search" }, "search", search),
      ...labels, clear);
    count = h("p", { class: "sx-count", role: "status" });
    heads = {};
    const headRow = h("tr", {});
    for (const [k, label] of COLS) {
      heads[k] = h("th", { scope: "col" }, h("button", { type: "button", "data-sort": k,
        title: `sort by ${label}`, onclick: () => sortBy(k) }, label));
      headRow.append(heads[k]);
    }
    const cols = h("colgroup", {}, ...COLS.map(([, , w]) => h("col", { style: `width:${w}%` })));
    tbody = h("tbody", {});
    tbody.addEventListener("click", (e) => {
      if (e.target.closest("button, a, pre, .sx-detail")) return;
      const tr = e.target.closest("tr.sx-row");
      if (tr) toggle(tr);
    });
    tbody.addEventListener("keydown", onKey);
    const table = h("table", { class: "sx-table" }, cols, h("thead", {}, headRow), tbody);
    const btn = (text, label, go) => h("button", { type: "button", class: "sx-btn",
      "aria-label": label, text, onclick: go });
    nav = {
      first: btn("«", "first page", () => goto(0)),
      prev: btn("‹", "previous page", () => goto(page - 1)),
      next: btn("›", "next page", () => goto(page + 1)),
      last: btn("»", "last page", () => goto(Infinity)),
    };
    pageInfo = h("span", { class: "sx-pageinfo" });
    const pager = h("div", { class: "sx-pager" }, nav.first, nav.prev, pageInfo, nav.next,
      nav.last);
    app.replaceChildren(bar, count, h("div", { class: "sx-scroll" }, table), pager);
  }

  function onKey(e) {
    const tr = e.target.closest && e.target.closest("tr.sx-row");
    if (!tr || e.target !== tr) return;
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      toggle(tr);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const rows = [...tbody.querySelectorAll("tr.sx-row")];
      const next = rows[rows.indexOf(tr) + (e.key === "ArrowDown" ? 1 : -1)];
      if (next) next.focus();
    }
  }

  // ---- a record ----

  function close() {
    if (!open) return;
    open.detail.remove();
    open.tr.classList.remove("sx-open");
    open.tr.setAttribute("aria-expanded", "false");
    open = null;
  }

  async function toggle(tr) {
    const i = Number(tr.dataset.i);
    const again = open && open.i === i;
    close();
    if (again) return;
    const td = h("td", { colspan: String(COLS.length) }, h("p", { class: "note",
      text: "Opening the record…" }));
    const detail = h("tr", { class: "sx-detail" }, td);
    tr.after(detail);
    tr.classList.add("sx-open");
    tr.setAttribute("aria-expanded", "true");
    const mine = { i, tr, detail };
    open = mine;
    try {
      const text = await line(i);
      if (open === mine) td.replaceChildren(...record(i, text));
    } catch (err) {
      if (open === mine) {
        td.replaceChildren(h("p", { class: "sx-error",
          text: `Cannot open this record: ${err.message}` }));
      }
    }
  }

  function record(i, text) {
    let rec = null;
    try { rec = JSON.parse(text); } catch (err) { /* shown as it is on disk */ }
    const pre = h("pre", { class: "sx-json", text: rec ? JSON.stringify(rec, null, 2) : text });
    const copy = h("button", { type: "button", class: "sx-btn", text: "Copy JSON" });
    copy.addEventListener("click", () => copyText(text, pre, copy));
    const what = [`measurements.jsonl line ${fmt(LINE[i])}`, value("test", i), value("input", i),
      `${value("vantage", i)} on ${value("isp", i) || "?"}`].filter(Boolean).join(" · ");
    const head = h("div", { class: "sx-head" }, h("b", { text: what }), copy,
      h("button", { type: "button", class: "sx-btn", text: "Close", onclick: close }));
    const out = [head];
    const keys = rec && rec.test_keys && typeof rec.test_keys === "object" ? rec.test_keys : {};
    if (rec && rec.probe_error) {
      out.push(h("p", { class: "sx-error", text: `The probe itself failed: ${rec.probe_error}` }));
      if (rec.raw_output) out.push(h("pre", { class: "sx-json", text: String(rec.raw_output) }));
    } else if (rec && rec.test_name === "web_connectivity" && Object.keys(keys).length) {
      out.push(...besideControl(rec, keys));
    }
    out.push(h("p", { class: "sx-label", text: "The raw record" }), pre);
    return out;
  }

  function copyText(text, pre, btn) {
    const done = () => { btn.textContent = "Copied"; };
    const byHand = () => { // no clipboard API (some file:// pages): leave it selected
      const range = document.createRange();
      range.selectNodeContents(pre);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      btn.textContent = document.execCommand && document.execCommand("copy") ? "Copied"
        : "Selected: press Ctrl+C";
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, byHand);
    } else byHand();
  }

  const list = (x) => (Array.isArray(x) ? x : []);
  const obj = (x) => (x && typeof x === "object" && !Array.isArray(x) ? x : {});
  const str = (x) => (x === null || x === undefined || x === "" ? "–" : String(x));

  function answer(a) {
    a = obj(a);
    return a.ipv4 || a.ipv6 || a.hostname || a.answer_type || "?";
  }

  function http(code, length, title) {
    return [`status ${str(code)}`, length !== undefined && length !== null ?
      `${fmt(length)} bytes` : null, title ? `title “${title}”` : null].filter(Boolean)
      .join(", ");
  }

  // OONI's probe view and its control (the test helper's view, test_keys.control), side by
  // side: where they differ is what the verdict rests on.
  function besideControl(rec, k) {
    const probe = [];
    for (const q of list(k.queries).map(obj)) {
      const got = list(q.answers).map(answer).join(", ") || "no answer";
      probe.push([`DNS ${str(q.query_type)}`, `${str(q.hostname)}: ${q.failure || got}`,
        q.failure ? "bad" : "ok"]);
    }
    for (const t of list(k.tcp_connect).map(obj)) {
      const st = obj(t.status);
      probe.push(["TCP", `${str(t.ip)}:${str(t.port)}: ${st.success ? "connected"
        : str(st.failure) + (st.blocked ? " (blocked)" : "")}`, st.success ? "ok" : "bad"]);
    }
    for (const s of list(k.tls_handshakes).map(obj)) {
      probe.push(["TLS", `${str(s.address)} SNI ${str(s.server_name)}: ${s.failure ||
        [s.tls_version, s.negotiated_protocol].filter(Boolean).join(" ")}`,
      s.failure ? "bad" : "ok"]);
    }
    for (const r of list(k.requests).map(obj)) {
      const rq = obj(r.request), rs = obj(r.response);
      probe.push(["HTTP", `${str(rq.method)} ${str(rq.url)}: ${r.failure ||
        http(rs.code, rs.body_length, rs.title)}`, r.failure ? "bad" : "ok"]);
    }
    if (k.dns_experiment_failure) probe.push(["DNS failure", k.dns_experiment_failure, "bad"]);
    if (k.http_experiment_failure) {
      probe.push(["HTTP failure", k.http_experiment_failure, "bad"]);
    }

    const c = obj(k.control), ctl = [];
    if (k.control && Object.keys(c).length) {
      const dns = obj(c.dns);
      ctl.push(["DNS", dns.failure || list(dns.addrs).join(", ") || "no answer",
        dns.failure ? "bad" : "ok"]);
      for (const [addr, t] of Object.entries(obj(c.tcp_connect))) {
        ctl.push(["TCP", `${addr}: ${obj(t).status ? "connected" : str(obj(t).failure)}`,
          obj(t).status ? "ok" : "bad"]);
      }
      for (const [addr, s] of Object.entries(obj(c.tls_handshake))) {
        const so = obj(s);
        ctl.push(["TLS", `${addr} SNI ${str(so.server_name)}: ${so.failure ||
          (so.status ? "handshake done" : "–")}`, so.failure ? "bad" : "ok"]);
      }
      const r = obj(c.http_request);
      if (Object.keys(r).length) {
        ctl.push(["HTTP", r.failure || http(r.status_code, r.body_length, r.title),
          r.failure ? "bad" : "ok"]);
      }
    }
    if (k.control_failure) ctl.push(["control failure", k.control_failure, "bad"]);
    const helper = obj(obj(rec.test_helpers).backend).address;
    const side = (cls, title, items, none) => h("div", { class: cls }, h("p",
      { class: "sx-label", text: title }), items.length ? h("table", { class: "sx-kv" },
      ...items.map(([label, text, tn]) => h("tr", {}, h("th", { text: label }),
        h("td", { class: tn ? `sx-${tn}t` : null, text })))) : h("p", { class: "note",
      text: none }));
    const verdict = [["dns_consistency", k.dns_consistency], ["status_code_match",
      k.status_code_match], ["body_length_match", k.body_length_match], ["body_proportion",
      k.body_proportion], ["headers_match", k.headers_match], ["title_match", k.title_match]]
      .filter(([, v]) => v !== undefined).map(([n, v]) => `${n} ${JSON.stringify(v)}`);
    return [
      h("div", { class: "sx-cols" },
        side("sx-probe", `Probe: what ${str(rec.subscriber)} on ${str(rec.isp)} saw`, probe,
          "The probe recorded nothing."),
        side("sx-control", `Control: the test helper${helper ? ` ${helper}` : ""}`, ctl,
          "No control measurement in this record (test_keys.control).")),
      h("p", { class: "sx-verdict", text: `${verdict.join(" · ")} → blocking ` +
        `${JSON.stringify(k.blocking)}, accessible ${JSON.stringify(k.accessible)}` }),
    ];
  }

  async function start() {
    try {
      if (typeof DecompressionStream !== "function") {
        throw new Error("this browser cannot inflate the embedded records " +
          "(no DecompressionStream): open the report in a current browser");
      }
      await load();
      ui();
      sortRows();
      refresh();
      root.dataset.loadMs = performance.now().toFixed(0);
      root.dataset.ready = "true";
    } catch (err) {
      app.replaceChildren(h("p", { class: "sx-error",
        text: `The explorer could not start: ${err.message}` }));
      root.dataset.error = err.message;
    }
  }

  start();
})();
