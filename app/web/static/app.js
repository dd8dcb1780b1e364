// profile-ai web page: hash-routed views over the /v1 API. No framework, no CDN: this file is all of it.
"use strict";
const $main = document.getElementById("main");
const COLORS = ["#2452c4", "#d9480f", "#2b8a3e", "#9c36b5", "#c2255c", "#0b7285", "#e67700", "#5c940d",
                "#364fc7", "#862e9c"];

const key = () => localStorage.getItem("profileAiKey") || "";
document.getElementById("apikey").value = key();
document.getElementById("keyform").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem("profileAiKey", document.getElementById("apikey").value.trim());
  route();
});

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (key()) headers.Authorization = "Bearer " + key();
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.detail || r.statusText) + " (" + r.status + ")");
  return data;
}

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
  '"': "&quot;", "'": "&#39;" })[c]);
const pct = (x) => (x == null ? "" : (100 * x).toFixed(1) + "%");
const num = (x, d = 3) => (x == null ? "–" : Number(x).toFixed(d));
function html(s) { $main.innerHTML = s; }
function fail(e) { html(`<div class="error" role="alert">${esc(e.message)}</div>`); }
function flat(obj, prefix = "") {
  return Object.entries(obj || {}).flatMap(([k, v]) => (v && typeof v === "object" && !Array.isArray(v))
    ? flat(v, prefix + k + ".") : [[prefix + k, Array.isArray(v) ? v.join(", ") : v]]);
}
function setNav(name) {
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.nav === name));
}

// ---- search
async function viewSearch(params) {
  setNav("search");
  const q = params.get("q") || "";
  const f = params.get("f") || "";
  html(`<h1>Search customers</h1>
    <form id="sf" class="row" role="search">
      <label class="grow"><span class="muted small">Who are you looking for?</span><br>
        <input id="q" class="grow" style="width:100%" value="${esc(q)}" placeholder="e.g. horror movie fans" autofocus></label>
      <label><span class="muted small">Filters (KEY=VALUE, comma-separated)</span><br>
        <input id="f" value="${esc(f)}" placeholder="age<=30, data.pii.gender=female"></label>
      <button class="primary" type="submit">Search</button>
    </form><div id="results"></div>`);
  document.getElementById("sf").addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams({ q: document.getElementById("q").value, f: document.getElementById("f").value });
    location.hash = "#/search?" + p.toString();
  });
  if (!q) return;
  const out = document.getElementById("results");
  out.innerHTML = `<p class="muted">Searching…</p>`;
  try {
    const filters = f.split(",").map((s) => s.trim()).filter(Boolean);
    const res = await api("POST", "/v1/search", { query: q, limit: 12, filters: filters.length ? filters : null });
    if (!res.results.length) { out.innerHTML = `<p class="muted">No customers match.</p>`; return; }
    out.innerHTML = `<div class="cards">${res.results.map((h) => `
      <article class="card" data-profile="${esc(h.profile_id)}">
        <h3><a href="#/customer/${encodeURIComponent(h.profile_id)}">${esc(h.summary || h.profile_id)}</a></h3>
        <div class="small muted">score ${num(h.score)} · ${h.event_count} events · last seen ${esc((h.last_seen || "").slice(0, 10))}</div>
        <div class="small" data-ai></div>
        <ul class="small">${(h.why || []).map((w) => `<li>${esc(w)}</li>`).join("")}</ul>
      </article>`).join("")}</div>`;
    // segments and predictions of each hit, filled in as they arrive
    for (const card of out.querySelectorAll("[data-profile]")) {
      api("GET", `/v1/profiles/${encodeURIComponent(card.dataset.profile)}/timeline?limit=1`).then((t) => {
        card.querySelector("[data-ai]").innerHTML =
          t.segments.map((s) => `<span class="badge">${esc(s.name)}</span>`).join("") +
          t.predictions.map((p) => `<span class="badge tier">${esc(p.goal)}: ${esc(p.tier)}</span>`).join("");
      }).catch(() => {});
    }
  } catch (e) { out.innerHTML = `<div class="error" role="alert">${esc(e.message)}</div>`; }
}

// ---- customer card
async function viewCustomer(id) {
  setNav("search");
  html(`<p class="muted">Loading customer…</p>`);
  try {
    const [card, t, sim] = await Promise.all([
      api("GET", `/v1/profiles/${encodeURIComponent(id)}`),
      api("GET", `/v1/profiles/${encodeURIComponent(id)}/timeline?limit=40`),
      api("GET", `/v1/profiles/${encodeURIComponent(id)}/similar?limit=6`)]);
    const facts = [...flat(card.traits, "traits."), ...flat(card.data, "data.")];
    html(`<h1>Customer <code>${esc(card.profile_id)}</code></h1>
      ${card.merged_from ? `<p class="muted">${esc(card.merged_from)} was merged into this profile.</p>` : ""}
      <div class="two">
        <section><h2>Summary</h2><pre>${esc(card.document)}</pre>
          <h2>Traits</h2><table><tbody>${facts.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") || `<tr><td class="muted">none</td></tr>`}</tbody></table>
          <p class="small muted">Contact details and identifiers are never shown.</p></section>
        <section><h2>Segments</h2><div>${t.segments.map((s) => `<a class="badge" href="#/segment/${encodeURIComponent(s.segment_id)}">${esc(s.name)}</a>`).join("") || `<span class="muted">none</span>`}</div>
          <h2>Predictions</h2><table><thead><tr><th>goal</th><th>probability / value</th><th>percentile</th><th>tier</th><th>why</th></tr></thead><tbody>
          ${t.predictions.map((p) => `<tr><td>${esc(p.goal)}</td><td>${num(p.probability ?? p.value)}</td><td>${num(p.percentile, 1)}</td><td>${esc(p.tier)}</td>
            <td class="small">${(p.drivers || []).map((d) => `${esc(d.feature)} ${d.effect > 0 ? "↑" : "↓"}`).join(", ")}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">none yet</td></tr>`}
          </tbody></table>
          <h2>History (newest first)</h2><ol class="timeline small">${t.events.map((e) => `<li><time>${esc(e.time.slice(0, 16).replace("T", " "))}</time> ${esc(e.type)} ${esc(Object.values(e.properties || {}).filter((v) => typeof v !== "object").slice(0, 3).join(" · "))}</li>`).join("") || `<li class="muted">no events</li>`}</ol>
        </section></div>
      <h2>Similar customers</h2><div class="cards">${sim.results.map((s) => `<article class="card"><h3><a href="#/customer/${encodeURIComponent(s.profile_id)}">${esc(s.summary || s.profile_id)}</a></h3>
        <div class="small muted">similarity ${num(s.similarity)} · percentile ${num(s.percentile, 1)}</div></article>`).join("")}</div>`);
  } catch (e) { fail(e); }
}

// ---- segments
function mapSvg(points, segs) {
  if (!points.length) return `<p class="muted">No profiles to map.</p>`;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const color = Object.fromEntries(segs.map((s, i) => [s.segment_id, COLORS[i % COLORS.length]]));
  const dots = points.map((p) => `<circle cx="${(10 + 580 * (p.x - x0) / ((x1 - x0) || 1)).toFixed(1)}" cy="${(10 + 380 * (p.y - y0) / ((y1 - y0) || 1)).toFixed(1)}" r="2.4" fill="${color[p.segment_id] || "#adb5bd"}" fill-opacity=".75"/>`).join("");
  return `<svg class="map" viewBox="0 0 600 400" role="img" aria-label="2-D map of profiles coloured by segment">${dots}</svg>
    <div class="legend">${segs.map((s) => `<span><i style="background:${color[s.segment_id]}"></i>${esc(s.name)}</span>`).join("")}</div>`;
}

async function viewSegments() {
  setNav("segments");
  html(`<p class="muted">Loading segments…</p>`);
  try {
    const [list, map] = await Promise.all([api("GET", "/v1/segments"), api("GET", "/v1/segments/map?sample=2000")]);
    const segs = list.segments;
    html(`<h1>Segments</h1>
      <div class="row"><button id="discover" class="primary">Discover segments</button>
        <span class="muted small">clusters every customer; kept segments keep their id and name</span></div>
      ${segs.length ? `<div class="scroll"><table><thead><tr><th>segment</th><th>kind</th><th>status</th><th>size</th><th>share</th><th>stability</th><th>what sets it apart</th></tr></thead><tbody>
      ${segs.map((s) => `<tr><td><a href="#/segment/${encodeURIComponent(s.segment_id)}">${esc(s.name)}</a><div class="small muted">${esc(s.description.slice(0, 160))}</div></td>
        <td>${esc(s.kind)}</td><td>${esc(s.status)}</td><td>${s.size}</td><td>${pct(s.share)}</td><td>${num(s.stability, 2)}</td>
        <td class="small">${(s.features || []).slice(0, 4).map((f) => `${esc(f.label)} <span class="muted">${f.lift ?? ""}x</span>`).join("<br>")}</td></tr>`).join("")}
      </tbody></table></div>` : `<p class="muted">No segments yet: discover them.</p>`}
      <h2>Map</h2>${mapSvg(map.points, map.segments)}
      <h2>Build a segment</h2>
      <form id="descform" class="card">
        <div class="row"><label class="grow">Name<br><input id="dname" style="width:100%" required placeholder="Delivery complainers"></label>
          <label>Similarity threshold<br><input id="dthr" type="number" step="0.05" min="-1" max="1" value="0.45"></label></div>
        <label>Who they are, in words<br><textarea id="ddesc" rows="2" style="width:100%" required placeholder="customers who complain about delivery"></textarea></label>
        <label>Filters (optional, comma-separated)<br><input id="dfil" style="width:100%" placeholder="event_count>=10"></label>
        <div class="row" style="margin-top:.5rem"><button type="button" id="dpreview">Preview size</button>
          <button type="submit" class="primary">Save segment</button><span id="dout" class="small" aria-live="polite"></span></div>
      </form>`);
    document.getElementById("discover").addEventListener("click", async (e) => {
      e.target.disabled = true; e.target.textContent = "Discovering…";
      try { await api("POST", "/v1/segments/discover", {}); viewSegments(); } catch (err) { fail(err); }
    });
    const body = () => {
      const fil = document.getElementById("dfil").value.split(",").map((s) => s.trim()).filter(Boolean);
      return { name: document.getElementById("dname").value, description: document.getElementById("ddesc").value,
               threshold: Number(document.getElementById("dthr").value), filters: fil.length ? fil : null };
    };
    document.getElementById("dpreview").addEventListener("click", async () => {
      const out = document.getElementById("dout");
      try { const p = await api("POST", "/v1/segments/preview", body());
        out.innerHTML = `<strong data-preview-size="${p.size}">${p.size} customers</strong> (${pct(p.share)})${p.capped ? " – capped" : ""}`;
      } catch (err) { out.innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
    document.getElementById("descform").addEventListener("submit", async (e) => {
      e.preventDefault();
      try { const s = await api("POST", "/v1/segments", body()); location.hash = "#/segment/" + encodeURIComponent(s.segment_id); }
      catch (err) { document.getElementById("dout").innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
  } catch (e) { fail(e); }
}

async function viewSegment(id) {
  setNav("segments");
  html(`<p class="muted">Loading segment…</p>`);
  try {
    const [s, m] = await Promise.all([api("GET", `/v1/segments/${encodeURIComponent(id)}`),
                                      api("GET", `/v1/segments/${encodeURIComponent(id)}/members?limit=50`)]);
    const rule = (kind) => { const r = (s.rules || {})[kind]; if (!r) return `<p class="muted">none</p>`;
      return r[kind] ? `<p class="small">precision ${num(r.precision, 2)} · recall ${num(r.recall, 2)}</p><pre>${esc(r[kind])}</pre>`
                     : `<p class="small muted">${esc(r.note || "not expressible")}</p>`; };
    html(`<h1>${esc(s.name)}</h1>
      <p><span class="badge">${esc(s.kind)}</span><span class="badge">${esc(s.status)}</span> ${s.size} customers ${s.share != null ? "(" + pct(s.share) + ")" : ""}
        ${s.stability != null ? ` · stability ${num(s.stability, 2)}` : ""}</p>
      <p>${esc(s.description)}</p>
      <div class="row"><button id="publish" class="primary">Publish…</button>
        <button id="lookalike">Lookalikes…</button><span id="pout" class="small" aria-live="polite"></span></div>
      <div class="two"><section><h2>What sets it apart</h2><table><thead><tr><th>feature</th><th>in segment</th><th>everyone</th><th>lift</th></tr></thead><tbody>
        ${(s.features || []).map((f) => `<tr><td>${esc(f.label)}</td><td>${f.kind === "flag" ? pct(f.share) : num(f.mean, 2)}</td><td>${f.kind === "flag" ? pct(f.population_share) : num(f.population_mean, 2)}</td><td>${f.lift ?? ""}</td></tr>`).join("") || `<tr><td colspan="4" class="muted">–</td></tr>`}
        </tbody></table>
        <h2>Rule as SQL</h2>${rule("sql")}<h2>Rule as Tracardi TQL</h2>${rule("tql")}</section>
      <section><h2>Members (closest to the centre first)</h2><ol class="small">${m.members.map((x) => `<li><a href="#/customer/${encodeURIComponent(x.profile_id)}">${esc(x.profile_id)}</a></li>`).join("")}</ol></section></div>`);
    document.getElementById("publish").addEventListener("click", async () => {
      try {
        const p = await api("GET", `/v1/segments/${encodeURIComponent(id)}/publish-preview`);
        document.getElementById("confirm-title").textContent = `Publish “${p.name}”?`;
        document.getElementById("confirm-body").innerHTML = `<p>This will write:</p><ul>${p.writes.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>`;
        const dlg = document.getElementById("confirm");
        dlg.returnValue = "";
        dlg.showModal();
        dlg.addEventListener("close", async () => {
          if (dlg.returnValue !== "ok") return;
          const r = await api("POST", `/v1/segments/${encodeURIComponent(id)}/publish`);
          document.getElementById("pout").textContent = `Published: ${r.members} members, ${r.queued} write-backs queued` + (r.delivered != null ? `, ${r.delivered} delivered to Tracardi` : "");
        }, { once: true });
      } catch (err) { document.getElementById("pout").innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
    document.getElementById("lookalike").addEventListener("click", async () => {
      const size = Number(prompt("How many lookalikes (customers not in the segment, most similar first)?", "100"));
      if (!size) return;
      try { const l = await api("POST", "/v1/segments/lookalike", { seed_segment_id: id, size });
        location.hash = "#/segment/" + encodeURIComponent(l.segment_id); }
      catch (err) { document.getElementById("pout").innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
  } catch (e) { fail(e); }
}

// ---- predictions
async function viewModels() {
  setNav("models");
  html(`<p class="muted">Loading models…</p>`);
  try {
    const { models } = await api("GET", "/v1/models");
    const active = models.filter((m) => m.status === "active");
    html(`<h1>Predictions</h1>${active.length ? `<div class="cards">${active.map((m) => `
      <article class="card"><h3><a href="#/model/${encodeURIComponent(m.model_id)}">${esc(m.goal)}</a></h3>
        <div class="small muted">${esc(m.model_id)} · ${m.horizon_days} days · as of ${esc(m.as_of.slice(0, 10))} · ${m.scored} scored</div>
        <p>${esc(m.card.quality || "")}</p>${m.card.warning ? `<p class="warn small">${esc(m.card.warning)}</p>` : ""}</article>`).join("")}</div>`
      : `<p class="muted">No models yet: <code>profile-ai train --goal churn --horizon-days 30</code>.</p>`}`);
  } catch (e) { fail(e); }
}

async function viewModel(id) {
  setNav("models");
  html(`<p class="muted">Loading model…</p>`);
  try {
    const [m, d] = await Promise.all([api("GET", `/v1/models/${encodeURIComponent(id)}`),
                                      api("GET", `/v1/models/${encodeURIComponent(id)}/distribution`)]);
    const c = m.card, keys = Object.keys(c.holdout || {}).filter((k) => !k.startsWith("total"));
    const rows = [["this model", c.holdout], ...Object.entries(c.baselines || {})];
    const maxCount = Math.max(1, ...d.histogram.map((h) => h.count));
    html(`<h1>${esc(m.goal)} <span class="muted small">${esc(m.model_id)}</span></h1>
      <p><strong>${esc(c.quality || "")}</strong></p>${c.warning ? `<p class="warn">${esc(c.warning)}</p>` : ""}
      <p class="small muted">Horizon ${m.horizon_days} days · evaluated on the snapshot at ${esc(m.as_of.slice(0, 10))} · ${c.rows ?? "?"} profiles, ${c.positives ?? "?"} positives · data: ${esc((c.sufficiency || {}).verdict || "")}</p>
      <h2>Against simple baselines (holdout)</h2><div class="scroll"><table><thead><tr><th>model</th>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}</tr></thead><tbody>
        ${rows.map(([n, r]) => `<tr><td>${esc(n)}</td>${keys.map((k) => `<td>${esc(r[k] ?? "–")}</td>`).join("")}</tr>`).join("")}</tbody></table></div>
      <div class="two"><section><h2>What drives it</h2><ol class="small">${(c.drivers || []).map((x) => `<li>${esc(x.feature)} <span class="muted">${x.importance}</span></li>`).join("") || "<li class=muted>–</li>"}</ol>
        <h2>Tiers</h2><table><tbody>${["top 1%", "top 10%", "top 50%", "rest"].filter((t) => t in d.tiers).map((t) => [t, d.tiers[t]]).map(([t, n]) => `<tr><td>${esc(t)}</td><td>${n}</td></tr>`).join("")}</tbody></table></section>
      <section><h2>Score distribution</h2><table aria-label="histogram"><tbody>${d.histogram.map((h) => `<tr><td class="small">${num(h.from, 2)}–${num(h.to, 2)}</td><td style="width:70%"><div class="bar" style="width:${(100 * h.count / maxCount).toFixed(1)}%"></div></td><td class="small">${h.count}</td></tr>`).join("")}</tbody></table></section></div>
      <h2>By segment</h2>${d.by_segment.length ? `<table><thead><tr><th>segment</th><th>members scored</th><th>mean</th><th>share in top 10%</th></tr></thead><tbody>
        ${d.by_segment.map((s) => `<tr><td><a href="#/segment/${encodeURIComponent(s.segment_id)}">${esc(s.name)}</a></td><td>${s.members}</td><td>${num(s.mean)}</td><td>${pct(s.top10_share)}</td></tr>`).join("")}</tbody></table>` : `<p class="muted">No segments yet.</p>`}`);
  } catch (e) { fail(e); }
}

// ---- routing
function route() {
  const [path, query] = (location.hash.slice(1) || "/search").split("?");
  const params = new URLSearchParams(query || "");
  const [, view, arg] = path.split("/");
  const id = arg ? decodeURIComponent(arg) : "";
  ({ search: () => viewSearch(params), customer: () => viewCustomer(id), segments: viewSegments,
     segment: () => viewSegment(id), models: viewModels, model: () => viewModel(id) }[view] || (() => viewSearch(params)))();
  $main.focus({ preventScroll: true });
}
window.addEventListener("hashchange", route);
route();
