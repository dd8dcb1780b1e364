// profile-ai web page: hash-routed views over the /v1 API. No framework, no CDN: this file is all of it.
"use strict";
// Every label in English and Spanish; the language is a switch in the header, remembered in this browser (a
// first visit follows the browser's language). Numbers and dates are formatted for it (Intl).
const TEXT = {
 "en": {
  "apart": "What sets it apart",
  "apikey": "API key",
  "remember": "remember on this device",
  "apikey.placeholder": "pai_… (not needed in the demo)",
  "as_of": "as of",
  "baselines": "Against simple baselines (holdout)",
  "build": "Build a segment",
  "by_segment": "By segment",
  "top_customers": "Top customers",
  "reasons": "reasons",
  "cancel": "Cancel",
  "capped": "capped",
  "confirm": "Confirm",
  "customer": "Customer",
  "customers": "customers",
  "data": "data",
  "days": "days",
  "delivered": "delivered to Tracardi",
  "desc.example": "customers who complain about delivery",
  "discover": "Discover segments",
  "discover.hint": "clusters every customer; kept segments keep their id and name",
  "discovering": "Discovering…",
  "distribution": "Score distribution",
  "drivers": "What drives it",
  "evaluated_at": "evaluated on the snapshot at",
  "events": "events",
  "everyone": "everyone",
  "feature": "feature",
  "filters.optional": "Filters (optional, comma-separated)",
  "goal": "goal",
  "histogram": "histogram",
  "history": "History (newest first)",
  "horizon": "Horizon",
  "how_many": "How many lookalikes (customers not in the segment, most similar first)?",
  "in_segment": "in segment",
  "in_words": "Who they are, in words",
  "kind": "kind",
  "language": "Language",
  "last_seen": "last seen",
  "lift": "lift",
  "loading": "Loading…",
  "lookalikes": "Lookalikes",
  "map": "Map",
  "map.label": "2-D map of profiles coloured by segment",
  "map.none": "No profiles to map.",
  "mean": "mean",
  "members": "Members (closest to the centre first)",
  "members_n": "members",
  "members_scored": "members scored",
  "merged": "was merged into this profile.",
  "model": "model",
  "models.none": "No models yet:",
  "name": "Name",
  "name.example": "Delivery complainers",
  "nav.models": "Predictions",
  "nav.jobs": "Jobs",
  "jobs": "Jobs",
  "jobs.schedules": "Schedules (cron, UTC)",
  "jobs.queued": "Queued and running",
  "jobs.runs": "Latest runs",
  "jobs.none": "Nothing queued.",
  "jobs.job": "job",
  "jobs.status": "status",
  "jobs.next": "next run",
  "jobs.last": "last run",
  "jobs.seconds": "seconds",
  "jobs.error": "error",
  "jobs.worker": "worker",
  "jobs.backfills": "Backfills",
  "jobs.partitions": "partitions done",
  "nav.search": "Search",
  "nav.segments": "Segments",
  "no_contact": "Contact details and identifiers are never shown.",
  "no_events": "no events",
  "none": "none",
  "none_yet": "none yet",
  "not_expressible": "not expressible",
  "percentile": "percentile",
  "positives": "positives",
  "precision": "precision",
  "predictions": "Predictions",
  "preview": "Preview size",
  "prob_value": "probability / value",
  "profiles": "profiles",
  "publish": "Publish",
  "holdout": "Control group (% of members kept out, 0-50)",
  "live_quality": "Live quality: what came true",
  "audience": "An audience from a prediction",
  "who_changed": "Who changed?",
  "goal": "Goal",
  "rule": "Rule",
  "rule.top": "Top % of scores",
  "rule.capture": "% of expected outcomes",
  "value": "Value",
  "expected": "expected outcomes",
  "scored_at": "Scored at",
  "matures": "checked after",
  "replaces": "Replaces",
  "lift_title": "Measured lift",
  "outcome": "Outcome",
  "days": "Days after entry",
  "measure": "Measure",
  "arm": "Arm",
  "converted": "Converted",
  "rate": "Rate",
  "published": "Published",
  "queued": "write-backs queued",
  "recall": "recall",
  "rule_sql": "Rule as SQL",
  "rule_tql": "Rule as Tracardi TQL",
  "save": "Save segment",
  "score": "score",
  "relevance": "relevance",
  "understood": "Understood as",
  "by_meaning": "Read by meaning only",
  "remove": "remove",
  "scored": "scored",
  "search.example": "e.g. horror movie fans",
  "search.filters": "Filters (KEY=VALUE, comma-separated)",
  "search.go": "Search",
  "search.none": "No customers match.",
  "search.searching": "Searching…",
  "search.title": "Search customers",
  "search.who": "Who are you looking for?",
  "segment": "segment",
  "segments": "Segments",
  "segments.none": "No segments yet: discover them.",
  "share": "share",
  "similar": "Similar customers",
  "similarity": "similarity",
  "size": "size",
  "skip": "Skip to content",
  "stability": "stability",
  "status": "status",
  "summary": "Summary",
  "this_model": "this model",
  "threshold": "Similarity threshold",
  "tier": "tier",
  "tier.rest": "rest",
  "tier.top 1%": "top 1%",
  "tier.top 10%": "top 10%",
  "tier.top 50%": "top 50%",
  "tiers": "Tiers",
  "top10_share": "share in top 10%",
  "traits": "Traits",
  "use": "Use",
  "verdict.": "",
  "verdict.insufficient": "insufficient",
  "verdict.sufficient": "sufficient",
  "verdict.thin": "thin",
  "why": "why",
  "will_write": "This will write:"
 },
 "es": {
  "apart": "Qué lo distingue",
  "apikey": "Clave de API",
  "remember": "recordar en este equipo",
  "apikey.placeholder": "pai_… (no hace falta en la demo)",
  "as_of": "a fecha de",
  "baselines": "Frente a referencias simples (validación)",
  "build": "Crear un segmento",
  "by_segment": "Por segmento",
  "top_customers": "Clientes principales",
  "reasons": "motivos",
  "cancel": "Cancelar",
  "capped": "limitado",
  "confirm": "Confirmar",
  "customer": "Cliente",
  "customers": "clientes",
  "data": "datos",
  "days": "días",
  "delivered": "entregadas a Tracardi",
  "desc.example": "clientes que se quejan de la entrega",
  "discover": "Descubrir segmentos",
  "discover.hint": "agrupa a todos los clientes; los segmentos que se mantienen conservan su id y su nombre",
  "discovering": "Descubriendo…",
  "distribution": "Distribución de puntuaciones",
  "drivers": "Qué lo impulsa",
  "evaluated_at": "evaluado en la instantánea del",
  "events": "eventos",
  "everyone": "todos",
  "feature": "rasgo",
  "filters.optional": "Filtros (opcional, separados por comas)",
  "goal": "objetivo",
  "histogram": "histograma",
  "history": "Historial (lo más reciente primero)",
  "horizon": "Horizonte",
  "how_many": "¿Cuántos similares (clientes fuera del segmento, los más parecidos primero)?",
  "in_segment": "en el segmento",
  "in_words": "Quiénes son, en palabras",
  "kind": "tipo",
  "language": "Idioma",
  "last_seen": "visto por última vez",
  "lift": "lift",
  "loading": "Cargando…",
  "lookalikes": "Similares",
  "map": "Mapa",
  "map.label": "Mapa 2-D de perfiles coloreados por segmento",
  "map.none": "No hay perfiles que mostrar en el mapa.",
  "mean": "media",
  "members": "Miembros (los más cercanos al centro primero)",
  "members_n": "miembros",
  "members_scored": "miembros puntuados",
  "merged": "se fusionó con este perfil.",
  "model": "modelo",
  "models.none": "Aún no hay modelos:",
  "name": "Nombre",
  "name.example": "Quejas por la entrega",
  "nav.models": "Predicciones",
  "nav.jobs": "Tareas",
  "jobs": "Tareas",
  "jobs.schedules": "Programaciones (cron, UTC)",
  "jobs.queued": "En cola y en curso",
  "jobs.runs": "Últimas ejecuciones",
  "jobs.none": "No hay nada en cola.",
  "jobs.job": "tarea",
  "jobs.status": "estado",
  "jobs.next": "próxima ejecución",
  "jobs.last": "última ejecución",
  "jobs.seconds": "segundos",
  "jobs.error": "error",
  "jobs.worker": "trabajador",
  "jobs.backfills": "Cargas completas",
  "jobs.partitions": "particiones hechas",
  "nav.search": "Buscar",
  "nav.segments": "Segmentos",
  "no_contact": "Los datos de contacto y los identificadores nunca se muestran.",
  "no_events": "sin eventos",
  "none": "ninguno",
  "none_yet": "todavía ninguna",
  "not_expressible": "no expresable",
  "percentile": "percentil",
  "positives": "positivos",
  "precision": "precisión",
  "predictions": "Predicciones",
  "preview": "Ver tamaño",
  "prob_value": "probabilidad / valor",
  "profiles": "perfiles",
  "publish": "Publicar",
  "holdout": "Grupo de control (% de miembros excluidos, 0-50)",
  "live_quality": "Calidad en vivo: lo que se cumplió",
  "audience": "Una audiencia a partir de una predicción",
  "who_changed": "¿Quién cambió?",
  "goal": "Objetivo",
  "rule": "Regla",
  "rule.top": "% superior de puntuaciones",
  "rule.capture": "% de resultados esperados",
  "value": "Valor",
  "expected": "resultados esperados",
  "scored_at": "Puntuado el",
  "matures": "se comprueba tras",
  "replaces": "Sustituye a",
  "lift_title": "Impacto medido",
  "outcome": "Resultado",
  "days": "Días tras la entrada",
  "measure": "Medir",
  "arm": "Grupo",
  "converted": "Convirtieron",
  "rate": "Tasa",
  "published": "Publicado",
  "queued": "escrituras en cola",
  "recall": "exhaustividad",
  "rule_sql": "Regla en SQL",
  "rule_tql": "Regla en TQL de Tracardi",
  "save": "Guardar segmento",
  "score": "puntuación",
  "relevance": "relevancia",
  "understood": "Entendido como",
  "by_meaning": "Solo por significado",
  "remove": "quitar",
  "scored": "puntuados",
  "search.example": "p. ej. aficionados al cine de terror",
  "search.filters": "Filtros (CLAVE=VALOR, separados por comas)",
  "search.go": "Buscar",
  "search.none": "Ningún cliente coincide.",
  "search.searching": "Buscando…",
  "search.title": "Buscar clientes",
  "search.who": "¿A quién busca?",
  "segment": "segmento",
  "segments": "Segmentos",
  "segments.none": "Aún no hay segmentos: descúbralos.",
  "share": "proporción",
  "similar": "Clientes similares",
  "similarity": "similitud",
  "size": "tamaño",
  "skip": "Ir al contenido",
  "stability": "estabilidad",
  "status": "estado",
  "summary": "Resumen",
  "this_model": "este modelo",
  "threshold": "Umbral de similitud",
  "tier": "nivel",
  "tier.rest": "resto",
  "tier.top 1%": "1% superior",
  "tier.top 10%": "10% superior",
  "tier.top 50%": "50% superior",
  "tiers": "Niveles",
  "top10_share": "proporción en el 10% superior",
  "traits": "Rasgos",
  "use": "Usar",
  "verdict.": "",
  "verdict.insufficient": "insuficientes",
  "verdict.sufficient": "suficientes",
  "verdict.thin": "escasos",
  "why": "por qué",
  "will_write": "Se escribirá:"
 }
};
const LANGS = Object.keys(TEXT);
let lang = localStorage.getItem("profileAiLang") || ((navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en");
if (!LANGS.includes(lang)) lang = "en";
const t = (k) => TEXT[lang][k] ?? TEXT.en[k] ?? k;
const locale = () => (lang === "es" ? "es-ES" : "en-GB");
const int = (x) => (x == null ? "?" : Number(x).toLocaleString(locale()));
const date = (iso) => (iso ? new Date(iso).toLocaleDateString(locale(), { year: "numeric", month: "short", day: "numeric" }) : "");
const dateTime = (iso) => (iso ? new Date(iso).toLocaleString(locale(), { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "");
function applyStaticText() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  document.querySelectorAll("[data-t-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.tPlaceholder); });
  const pick = document.getElementById("lang");
  if (pick) pick.value = lang;
}
const $main = document.getElementById("main");
const COLORS = ["#2452c4", "#d9480f", "#2b8a3e", "#9c36b5", "#c2255c", "#0b7285", "#e67700", "#5c940d",
                "#364fc7", "#862e9c"];

// The key lives for this tab only (sessionStorage) unless the user asks to remember it on this device.
const key = () => sessionStorage.getItem("profileAiKey") || localStorage.getItem("profileAiKey") || "";
document.getElementById("apikey").value = key();
document.getElementById("remember").checked = Boolean(localStorage.getItem("profileAiKey"));
document.getElementById("keyform").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = document.getElementById("apikey").value.trim();
  sessionStorage.setItem("profileAiKey", value);
  if (document.getElementById("remember").checked) localStorage.setItem("profileAiKey", value);
  else localStorage.removeItem("profileAiKey");
  route();
});

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (key()) headers.Authorization = "Bearer " + key();
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {  // what kind of refusal, in the page's language (app/error_words.py), then its sentence: in that
    // language too when the service worded it ("details"), else the service's own words
    const kind = (ERROR_WORDS[lang] || {})[data.error];
    const said = (data.details && data.details[lang]) || data.detail || r.statusText;
    throw new Error((kind ? kind + ": " : "") + said + " (" + r.status + ")");
  }
  return data;
}

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
  '"': "&quot;", "'": "&#39;" })[c]);
const pct = (x) => (x == null ? "" : Number(x).toLocaleString(locale(), { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }));
const num = (x, d = 3) => (x == null ? "–" : Number(x).toLocaleString(locale(), { minimumFractionDigits: d, maximumFractionDigits: d }));
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
  const understand = params.get("u") !== "0";  // 0: a removed understood filter; the kept ones are in f
  html(`<h1>${t("search.title")}</h1>
    <form id="sf" class="row" role="search">
      <label class="grow"><span class="muted small">${t("search.who")}</span><br>
        <input id="q" class="grow" style="width:100%" value="${esc(q)}" placeholder="${t("search.example")}" autofocus></label>
      <label><span class="muted small">${t("search.filters")}</span><br>
        <input id="f" value="${esc(f)}" placeholder="age<=30, data.pii.gender=female"></label>
      <button class="primary" type="submit">${t("search.go")}</button>
    </form><div id="results"></div>`);
  document.getElementById("sf").addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams({ q: document.getElementById("q").value, f: document.getElementById("f").value });
    location.hash = "#/search?" + p.toString();
  });
  if (!q) return;
  const out = document.getElementById("results");
  out.innerHTML = `<p class="muted">${t("search.searching")}</p>`;
  try {
    const filters = f.split(",").map((s) => s.trim()).filter(Boolean);
    const res = await api("POST", "/v1/search", { query: q, limit: 12, filters: filters.length ? filters : null,
                                                  understand });
    const read = (res.understood && res.understood.filters) || [];
    const sources = (res.understood && res.understood.read) || [];
    const loose = (res.understood && res.understood.by_meaning) || [];
    // how the question was understood (each filter with the words it came from), each removable: the search
    // runs again without it; the parts no filter came from are named too
    const chips = (read.length ? `<div class="understood small" data-understood>${t("understood")}: ${read.map((x, i) =>
      `<span class="badge" title="${esc(sources[i] ? sources[i].from + " (" + sources[i].how + ")" : "")}">${esc(x)} <button type="button" class="link" data-drop="${i}" aria-label="${t("remove")} ${esc(x)}">×</button></span>`).join(" ")}</div>` : "") +
      (loose.length ? `<div class="small muted" data-by-meaning>${t("by_meaning")}: ${loose.map(esc).join(" · ")}</div>` : "");
    if (!res.results.length) { out.innerHTML = chips + `<p class="muted">${t("search.none")}</p>`; }
    else out.innerHTML = chips + `<div class="cards">${res.results.map((h) => `
      <article class="card" data-profile="${esc(h.profile_id)}">
        <h3><a href="#/customer/${encodeURIComponent(h.profile_id)}">${esc(h.summary || h.profile_id)}</a></h3>
        <div class="small muted"><span data-relevance="${h.relevance ?? ""}">${t("relevance")} ${h.relevance == null ? "–" : pct(h.relevance)}</span> · ${int(h.event_count)} ${t("events")} · ${t("last_seen")} ${date(h.last_seen)}</div>
        <div class="small" data-ai></div>
        <ul class="small">${(h.why || []).map((w) => `<li>${esc(w)}</li>`).join("")}</ul>
      </article>`).join("")}</div>`;
    for (const b of out.querySelectorAll("[data-drop]")) {
      b.addEventListener("click", () => {
        const kept = read.filter((_, i) => String(i) !== b.dataset.drop);
        const p = new URLSearchParams({ q, f: [...filters, ...kept].join(", "), u: "0" });
        location.hash = "#/search?" + p.toString();
      });
    }
    if (!res.results.length) return;
    // segments and predictions of each hit, filled in as they arrive
    for (const card of out.querySelectorAll("[data-profile]")) {
      api("GET", `/v1/profiles/${encodeURIComponent(card.dataset.profile)}/timeline?limit=1`).then((tl) => {
        card.querySelector("[data-ai]").innerHTML =
          tl.segments.map((s) => `<span class="badge">${esc(s.name)}</span>`).join("") +
          tl.predictions.map((p) => `<span class="badge tier">${esc(p.goal)}: ${esc(p.tier)}</span>`).join("");
      }).catch(() => {});
    }
  } catch (e) { out.innerHTML = `<div class="error" role="alert">${esc(e.message)}</div>`; }
}

// ---- customer card
async function viewCustomer(id) {
  setNav("search");
  html(`<p class="muted">${t("loading")}</p>`);
  try {
    const [card, tl, sim] = await Promise.all([
      api("GET", `/v1/profiles/${encodeURIComponent(id)}`),
      api("GET", `/v1/profiles/${encodeURIComponent(id)}/timeline?limit=40`),
      api("GET", `/v1/profiles/${encodeURIComponent(id)}/similar?limit=6`)]);
    const facts = [...flat(card.traits, "traits."), ...flat(card.data, "data.")];
    html(`<h1>${t("customer")} <code>${esc(card.profile_id)}</code></h1>
      ${card.merged_from ? `<p class="muted">${esc(card.merged_from)} ${t("merged")}</p>` : ""}
      <div class="two">
        <section><h2>${t("summary")}</h2><pre>${esc(card.document)}</pre>
          <h2>${t("traits")}</h2><table><tbody>${facts.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") || `<tr><td class="muted">${t("none")}</td></tr>`}</tbody></table>
          <p class="small muted">${t("no_contact")}</p></section>
        <section><h2>${t("segments")}</h2><div>${tl.segments.map((s) => `<a class="badge" href="#/segment/${encodeURIComponent(s.segment_id)}">${esc(s.name)}</a>`).join("") || `<span class="muted">${t("none")}</span>`}</div>
          <h2>${t("predictions")}</h2><table><thead><tr><th>${t("goal")}</th><th>${t("prob_value")}</th><th>${t("percentile")}</th><th>${t("tier")}</th><th>${t("why")}</th></tr></thead><tbody>
          ${tl.predictions.map((p) => `<tr><td>${esc(p.goal)}</td><td>${num(p.probability ?? p.value)}</td><td>${num(p.percentile, 1)}</td><td>${esc(p.tier)}</td>
            <td class="small">${(p.drivers || []).map((d) => `${esc(d.label || d.feature)} ${d.effect > 0 ? "↑" : "↓"}`).join(", ")}</td></tr>`).join("") || `<tr><td colspan="5" class="muted">${t("none_yet")}</td></tr>`}
          </tbody></table>
          <h2>${t("history")}</h2><ol class="timeline small">${tl.events.map((e) => `<li><time>${dateTime(e.time)}</time> ${esc(e.type)} ${esc(Object.values(e.properties || {}).filter((v) => typeof v !== "object").slice(0, 3).join(" · "))}</li>`).join("") || `<li class="muted">${t("no_events")}</li>`}</ol>
        </section></div>
      <h2>${t("similar")}</h2><div class="cards">${sim.results.map((s) => `<article class="card"><h3><a href="#/customer/${encodeURIComponent(s.profile_id)}">${esc(s.summary || s.profile_id)}</a></h3>
        <div class="small muted">${t("similarity")} ${num(s.similarity)} · ${t("percentile")} ${num(s.percentile, 1)}</div></article>`).join("")}</div>`);
  } catch (e) { fail(e); }
}

// ---- segments
function mapSvg(points, segs) {
  if (!points.length) return `<p class="muted">${t("map.none")}</p>`;
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const color = Object.fromEntries(segs.map((s, i) => [s.segment_id, COLORS[i % COLORS.length]]));
  const dots = points.map((p) => `<circle cx="${(10 + 580 * (p.x - x0) / ((x1 - x0) || 1)).toFixed(1)}" cy="${(10 + 380 * (p.y - y0) / ((y1 - y0) || 1)).toFixed(1)}" r="2.4" fill="${color[p.segment_id] || "#adb5bd"}" fill-opacity=".75"/>`).join("");
  return `<svg class="map" viewBox="0 0 600 400" role="img" aria-label="${t("map.label")}">${dots}</svg>
    <div class="legend">${segs.map((s) => `<span><i style="background:${color[s.segment_id]}"></i>${esc(s.name)}</span>`).join("")}</div>`;
}

async function viewSegments() {
  setNav("segments");
  html(`<p class="muted">${t("loading")}</p>`);
  try {
    const [list, map] = await Promise.all([api("GET", "/v1/segments"), api("GET", "/v1/segments/map?sample=2000")]);
    const segs = list.segments;
    html(`<h1>${t("segments")}</h1>
      <div class="row"><button id="discover" class="primary">${t("discover")}</button>
        <span class="muted small">${t("discover.hint")}</span></div>
      ${segs.length ? `<div class="scroll"><table><thead><tr><th>${t("segment")}</th><th>${t("kind")}</th><th>${t("status")}</th><th>${t("size")}</th><th>${t("share")}</th><th>${t("stability")}</th><th>${t("apart")}</th></tr></thead><tbody>
      ${segs.map((s) => `<tr><td><a href="#/segment/${encodeURIComponent(s.segment_id)}">${esc(s.name)}</a><div class="small muted">${esc(s.description.slice(0, 160))}</div></td>
        <td>${esc(s.kind)}</td><td>${esc(s.status)}</td><td>${s.size}</td><td>${pct(s.share)}</td><td>${num(s.stability, 2)}</td>
        <td class="small">${(s.features || []).slice(0, 4).map((f) => `${esc(f.label)} <span class="muted">${f.lift ?? ""}x</span>`).join("<br>")}</td></tr>`).join("")}
      </tbody></table></div>` : `<p class="muted">${t("segments.none")}</p>`}
      <h2>${t("map")}</h2>${mapSvg(map.points, map.segments)}
      <h2>${t("build")}</h2>
      <form id="descform" class="card">
        <div class="row"><label class="grow">${t("name")}<br><input id="dname" style="width:100%" required placeholder="${t("name.example")}"></label>
          <label>${t("threshold")}<br><input id="dthr" type="number" step="0.05" min="-1" max="1" placeholder="auto"></label></div>
        <label>${t("in_words")}<br><textarea id="ddesc" rows="2" style="width:100%" required placeholder="${t("desc.example")}"></textarea></label>
        <label>${t("filters.optional")}<br><input id="dfil" style="width:100%" placeholder="event_count>=10"></label>
        <div class="row" style="margin-top:.5rem"><button type="button" id="dpreview">${t("preview")}</button>
          <button type="submit" class="primary">${t("save")}</button><span id="dout" class="small" aria-live="polite"></span></div>
      </form>
      <h2>${t("audience")}</h2>
      <form id="audform" class="card">
        <div class="row"><label class="grow">${t("name")}<br><input id="aname" style="width:100%" required></label>
          <label>${t("goal")}<br><input id="agoal" value="churn" required maxlength="120"></label>
          <label>${t("rule")}<br><select id="arule"><option value="top_percent">${t("rule.top")}</option>
            <option value="capture">${t("rule.capture")}</option></select></label>
          <label>${t("value")}<br><input id="avalue" type="number" step="any" min="0" value="10"></label></div>
        <label>${t("filters.optional")}<br><input id="afil" style="width:100%" placeholder="traits.plan=fiber"></label>
        <div class="row" style="margin-top:.5rem"><button type="button" id="asize">${t("preview")}</button>
          <button type="submit" class="primary">${t("save")}</button><span id="aout" class="small" aria-live="polite"></span></div>
      </form>`);
    const audience = () => {
      const fil = document.getElementById("afil").value.split(",").map((s) => s.trim()).filter(Boolean);
      const rule = document.getElementById("arule").value, v = Number(document.getElementById("avalue").value);
      return { name: document.getElementById("aname").value || "sizing", goal: document.getElementById("agoal").value,
               [rule]: rule === "capture" ? v / 100 : v, filters: fil.length ? fil : null };
    };
    document.getElementById("asize").addEventListener("click", async () => {
      const out = document.getElementById("aout");
      try { const a = await api("POST", "/v1/segments/prediction/size", audience());
        out.innerHTML = `<strong data-audience-size="${a.members}">${int(a.members)} ${t("customers")}</strong> · ${t("expected")} ${num(a.expected_outcomes, 1)} (${pct(a.share_of_expected)})`;
      } catch (err) { out.innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
    document.getElementById("audform").addEventListener("submit", async (e) => {
      e.preventDefault();
      try { const s = await api("POST", "/v1/segments/prediction", audience()); location.hash = "#/segment/" + encodeURIComponent(s.segment_id); }
      catch (err) { document.getElementById("aout").innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
    document.getElementById("discover").addEventListener("click", async (e) => {
      e.target.disabled = true; e.target.textContent = t("discovering");
      try { await api("POST", "/v1/segments/discover", {}); viewSegments(); } catch (err) { fail(err); }
    });
    const body = () => {
      const fil = document.getElementById("dfil").value.split(",").map((s) => s.trim()).filter(Boolean);
      return { name: document.getElementById("dname").value, description: document.getElementById("ddesc").value,
               // empty: read like a question is counted (the calibrated cut-off); a number: a raw cosine
               threshold: document.getElementById("dthr").value === "" ? null : Number(document.getElementById("dthr").value),
               filters: fil.length ? fil : null };
    };
    document.getElementById("dpreview").addEventListener("click", async () => {
      const out = document.getElementById("dout");
      try { const p = await api("POST", "/v1/segments/preview", body());
        out.innerHTML = `<strong data-preview-size="${p.size}">${int(p.size)} ${t("customers")}</strong> (${pct(p.share)})${p.capped ? " – " + t("capped") : ""}`;
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
  html(`<p class="muted">${t("loading")}</p>`);
  try {
    const [s, m] = await Promise.all([api("GET", `/v1/segments/${encodeURIComponent(id)}`),
                                      api("GET", `/v1/segments/${encodeURIComponent(id)}/members?limit=50`)]);
    const rule = (kind) => { const r = (s.rules || {})[kind]; if (!r) return `<p class="muted">${t("none")}</p>`;
      return r[kind] ? `<p class="small">${t("precision")} ${num(r.precision, 2)} · ${t("recall")} ${num(r.recall, 2)}</p><pre>${esc(r[kind])}</pre>`
                     : `<p class="small muted">${esc(r.note || t("not_expressible"))}</p>`; };
    html(`<h1>${esc(s.name)}</h1>
      <p><span class="badge">${esc(s.kind)}</span><span class="badge">${esc(s.status)}</span> ${int(s.size)} ${t("customers")} ${s.share != null ? "(" + pct(s.share) + ")" : ""}
        ${s.stability != null ? ` · ${t("stability")} ${num(s.stability, 2)}` : ""}</p>
      <p>${esc(s.description)}</p>
      <div class="row"><button id="publish" class="primary">${t("publish")}…</button>
        <button id="lookalike">${t("lookalikes")}…</button><span id="pout" class="small" aria-live="polite"></span></div>
      <div class="two"><section><h2>${t("apart")}</h2><table><thead><tr><th>${t("feature")}</th><th>${t("in_segment")}</th><th>${t("everyone")}</th><th>${t("lift")}</th></tr></thead><tbody>
        ${(s.features || []).map((f) => `<tr><td>${esc(f.label)}</td><td>${f.kind === "flag" ? pct(f.share) : num(f.mean, 2)}</td><td>${f.kind === "flag" ? pct(f.population_share) : num(f.population_mean, 2)}</td><td>${f.lift ?? ""}</td></tr>`).join("") || `<tr><td colspan="4" class="muted">–</td></tr>`}
        </tbody></table>
        <h2>${t("rule_sql")}</h2>${rule("sql")}<h2>${t("rule_tql")}</h2>${rule("tql")}</section>
      <section><h2>${t("members")}</h2><ol class="small">${m.members.map((x) => `<li><a href="#/customer/${encodeURIComponent(x.profile_id)}">${esc(x.profile_id)}</a>${x.arm === "control" ? ` <span class="badge">control</span>` : ""}</li>`).join("")}</ol></section></div>
      <section data-lift><h2>${t("lift_title")}</h2>
        <form id="liftform" class="row"><label>${t("outcome")} <input name="outcome" value="purchase" maxlength="206"></label>
          <label>${t("days")} <input name="days" type="number" min="1" max="730" value="30"></label>
          <button>${t("measure")}</button><button type="button" id="uplift">${t("who_changed")}</button></form>
        <div id="lout" aria-live="polite"></div><div id="uout" aria-live="polite"></div></section>`);
    document.getElementById("uplift").addEventListener("click", async () => {
      const f = new FormData(document.getElementById("liftform"));
      const out = document.getElementById("uout");
      out.innerHTML = `<p class="muted">${t("loading")}</p>`;
      try {
        const q = new URLSearchParams({ outcome: f.get("outcome"), days: f.get("days") });
        const u = await api("GET", `/v1/segments/${encodeURIComponent(id)}/uplift?${q}`);
        out.innerHTML = `<p data-uplift>${esc(u.note)}</p>${(u.rules || []).length ? `<table><thead><tr><th>${t("rule")}</th><th>${t("members")}</th><th>${t("lift")}</th></tr></thead><tbody>
          ${u.rules.map((r) => `<tr><td>${esc(r.rule)}</td><td>${int(r.members)}</td><td>${num(100 * r.uplift, 1)} [${num(100 * r.interval[0], 1)}, ${num(100 * r.interval[1], 1)}]</td></tr>`).join("")}</tbody></table>` : ""}`;
      } catch (err) { out.innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
    document.getElementById("liftform").addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = new FormData(e.target);
      const out = document.getElementById("lout");
      try {
        const q = new URLSearchParams({ outcome: f.get("outcome"), days: f.get("days") });
        const r = await api("GET", `/v1/segments/${encodeURIComponent(id)}/lift?${q}`);
        const est = r.lift.absolute || r.lift;  // a rate difference, or a difference of means
        const [lo, hi] = est.interval;
        const span = Math.max(Math.abs(lo), Math.abs(hi), 1e-9) * 1.2;
        const x = (v) => 150 + 140 * v / span;  // zero in the middle of a 300-wide chart
        out.innerHTML = `<table><thead><tr><th>${t("arm")}</th><th>${t("members")}</th><th>${t("converted")}</th><th>${t("rate")}</th></tr></thead><tbody>
          ${Object.entries(r.arms).map(([a, v]) => `<tr><td>${esc(a)}</td><td>${int(v.members)}</td><td>${int(v.converters)}</td><td>${pct(v.rate)}</td></tr>`).join("")}</tbody></table>
          <svg width="300" height="40" role="img" aria-label="${esc(r.verdict)}" data-interval="${lo},${hi}">
            <line x1="150" y1="4" x2="150" y2="36" stroke="currentColor" stroke-dasharray="2"/>
            <line x1="${x(lo)}" y1="20" x2="${x(hi)}" y2="20" stroke="currentColor" stroke-width="3"/>
            <circle cx="${x(est.estimate || 0)}" cy="20" r="5"/></svg>
          <p>${esc(r.verdict)}</p>`;
      } catch (err) { out.innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
    document.getElementById("publish").addEventListener("click", async () => {
      try {
        const p = await api("GET", `/v1/segments/${encodeURIComponent(id)}/publish-preview`);
        document.getElementById("confirm-title").textContent = `${t("publish")} “${p.name}”?`;
        document.getElementById("confirm-body").innerHTML = `<p>${t("will_write")}</p><ul>${p.writes.map((w) => `<li>${esc(w)}</li>`).join("")}</ul>
          <label>${t("holdout")} <input id="holdout" type="number" min="0" max="50" step="1" value="0"></label>`;
        const dlg = document.getElementById("confirm");
        dlg.returnValue = "";
        dlg.showModal();
        dlg.addEventListener("close", async () => {
          if (dlg.returnValue !== "ok") return;
          const share = Number(document.getElementById("holdout").value || 0) / 100;
          const r = await api("POST", `/v1/segments/${encodeURIComponent(id)}/publish`, share > 0 ? { holdout: share } : undefined);
          document.getElementById("pout").textContent = `${t("published")}: ${int(r.members)} ${t("members_n")}, ${int(r.queued)} ${t("queued")}` + (r.delivered != null ? `, ${int(r.delivered)} ${t("delivered")}` : "");
        }, { once: true });
      } catch (err) { document.getElementById("pout").innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
    });
    document.getElementById("lookalike").addEventListener("click", async () => {
      const size = Number(prompt(t("how_many"), "100"));
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
  html(`<p class="muted">${t("loading")}</p>`);
  try {
    const { models } = await api("GET", "/v1/models");
    const active = models.filter((m) => m.status === "active");
    html(`<h1>${t("predictions")}</h1>${active.length ? `<div class="cards">${active.map((m) => `
      <article class="card"><h3><a href="#/model/${encodeURIComponent(m.model_id)}">${esc(m.goal)}</a></h3>
        <div class="small muted">${esc(m.model_id)} · ${int(m.horizon_days)} ${t("days")} · ${t("as_of")} ${date(m.as_of)} · ${int(m.scored)} ${t("scored")}</div>
        <p>${esc(m.card.quality || "")}</p>${m.card.warning ? `<p class="warn small">${esc(m.card.warning)}</p>` : ""}</article>`).join("")}</div>`
      : `<p class="muted">${t("models.none")} <code>profile-ai train --goal churn --horizon-days 30</code>.</p>`}`);
  } catch (e) { fail(e); }
}

async function viewModel(id) {
  setNav("models");
  html(`<p class="muted">${t("loading")}</p>`);
  try {
    const [m, d] = await Promise.all([api("GET", `/v1/models/${encodeURIComponent(id)}`),
                                      api("GET", `/v1/models/${encodeURIComponent(id)}/distribution`)]);
    const c = m.card, keys = Object.keys(c.holdout || {}).filter((k) => !k.startsWith("total"));
    const rows = [[t("this_model"), c.holdout], ...Object.entries(c.baselines || {})];
    const maxCount = Math.max(1, ...d.histogram.map((h) => h.count));
    // the active model's top customers, with their reasons (the same ranking agents get: top_customers)
    const top = m.status === "active" ? await api("POST", "/v1/predictions/top", { goal: m.goal, limit: 10 }).catch(() => null) : null;
    const reason = (x) => esc(x.label || x.feature || x.name || JSON.stringify(x));
    // live quality: each scoring's drift and, once matured, what came true beside the holdout's AUC
    const qual = await api("GET", `/v1/models/${encodeURIComponent(id)}/quality`).catch(() => null);
    const snaps = qual ? qual.snapshots : [];
    const aucs = snaps.map((s) => (s.realized || {}).auc).filter((a) => a != null);
    const ya = (a) => (110 - 100 * a).toFixed(1);  // AUC 1 at the top, 0.1 at the bottom of a 120-high chart
    const qualHtml = snaps.length ? `<h2>${t("live_quality")}</h2>
      ${aucs.length ? `<svg width="320" height="120" role="img" aria-label="${t("live_quality")}" data-quality>
        ${c.holdout && c.holdout.auc != null ? `<line x1="0" x2="320" y1="${ya(c.holdout.auc)}" y2="${ya(c.holdout.auc)}" stroke="currentColor" stroke-dasharray="3"/>` : ""}
        ${snaps.map((s, i) => { const r = s.realized || {}; if (r.auc == null) return "";
          const x = (20 + 280 * i / Math.max(1, snaps.length - 1)).toFixed(1); const [lo, hi] = r.auc_interval || [r.auc, r.auc];
          return `<line x1="${x}" x2="${x}" y1="${ya(hi)}" y2="${ya(lo)}" stroke="currentColor"/><circle cx="${x}" cy="${ya(r.auc)}" r="4"/>`; }).join("")}</svg>` : ""}
      <div class="scroll"><table data-snapshots><thead><tr><th>${t("scored_at")}</th><th>${t("profiles")}</th><th>PSI</th><th>AUC</th><th>Brier</th></tr></thead><tbody>
        ${snaps.map((s) => { const r = s.realized || {}; return `<tr><td>${date(s.as_of)}</td><td>${int(s.profiles)}</td><td>${s.drift.score ?? "–"}</td><td>${r.auc != null ? num(r.auc, 3) : (s.matures_at ? t("matures") + " " + date(s.matures_at) : "–")}</td><td>${r.brier != null ? num(r.brier, 4) : "–"}</td></tr>`; }).join("")}</tbody></table></div>
      ${qual.replaces ? `<p class="small">${t("replaces")} ${esc(qual.replaces.model_id)}: ${esc(qual.replaces.reason)}</p>` : ""}` : "";
    const topHtml = top && top.ranked.length ? `<h2>${t("top_customers")}</h2><div class="scroll"><table data-top><thead><tr><th>#</th><th>${t("customer")}</th><th>${t("score")}</th><th>${t("tier")}</th><th>${t("reasons")}</th></tr></thead><tbody>
        ${top.ranked.map((r) => `<tr><td>${r.rank}</td><td><a href="#/customer/${encodeURIComponent(r.profile_id)}">${esc(r.profile_id.slice(0, 12))}</a></td><td>${num(r.probability ?? r.value)}</td><td>${esc(r.tier)}</td><td class="small">${(r.drivers || []).map(reason).join("; ")}</td></tr>`).join("")}</tbody></table></div>` : "";
    html(`<h1>${esc(m.goal)} <span class="muted small">${esc(m.model_id)}</span></h1>
      <p><strong>${esc(c.quality || "")}</strong></p>${c.warning ? `<p class="warn">${esc(c.warning)}</p>` : ""}
      <p class="small muted">${t("horizon")} ${int(m.horizon_days)} ${t("days")} · ${t("evaluated_at")} ${date(m.as_of)} · ${int(c.rows)} ${t("profiles")}, ${int(c.positives)} ${t("positives")} · ${t("data")}: ${esc(t("verdict." + ((c.sufficiency || {}).verdict || "")))}</p>
      <h2>${t("baselines")}</h2><div class="scroll"><table><thead><tr><th>${t("model")}</th>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}</tr></thead><tbody>
        ${rows.map(([n, r]) => `<tr><td>${esc(n)}</td>${keys.map((k) => `<td>${typeof r[k] === "number" ? num(r[k], 4) : esc(r[k] ?? "–")}</td>`).join("")}</tr>`).join("")}</tbody></table></div>
      <div class="two"><section><h2>${t("drivers")}</h2><ol class="small">${(c.drivers || []).map((x) => `<li title="${esc(x.feature)}">${esc(x.label || x.feature)} <span class="muted">${x.importance}</span></li>`).join("") || "<li class=muted>–</li>"}</ol>
        <h2>${t("tiers")}</h2><table><tbody>${["top 1%", "top 10%", "top 50%", "rest"].filter((k) => k in d.tiers).map((k) => [k, d.tiers[k]]).map(([k, n]) => `<tr><td>${m.status === "active" ? `<button type="button" class="link" data-tier="${esc(k)}">${esc(t("tier." + k))}</button>` : esc(t("tier." + k))}</td><td>${int(n)}</td></tr>`).join("")}</tbody></table>
        <div class="small" data-tier-out aria-live="polite"></div></section>
      <section><h2>${t("distribution")}</h2><table aria-label="${t("histogram")}"><tbody>${d.histogram.map((h) => `<tr><td class="small">${num(h.from, 2)}–${num(h.to, 2)}</td><td style="width:70%"><div class="bar" style="width:${(100 * h.count / maxCount).toFixed(1)}%"></div></td><td class="small">${h.count}</td></tr>`).join("")}</tbody></table></section></div>
      ${topHtml}
      ${qualHtml}
      <h2>${t("by_segment")}</h2>${d.by_segment.length ? `<table><thead><tr><th>${t("segment")}</th><th>${t("members_scored")}</th><th>${t("mean")}</th><th>${t("top10_share")}</th></tr></thead><tbody>
        ${d.by_segment.map((s) => `<tr><td><a href="#/segment/${encodeURIComponent(s.segment_id)}">${esc(s.name)}</a></td><td>${s.members}</td><td>${num(s.mean)}</td><td>${pct(s.top10_share)}</td></tr>`).join("")}</tbody></table>` : `<p class="muted">${t("segments.none")}</p>`}`);
    // a tier's breakdown: what sets its members apart from everyone (the same answer agents get)
    for (const b of document.querySelectorAll("[data-tier]")) {
      b.addEventListener("click", async () => {
        const out = document.querySelector("[data-tier-out]");
        try {
          const r = await api("POST", "/v1/customers/describe", { tier: `${m.goal}:${b.dataset.tier}`, max_tokens: 4000 });
          out.innerHTML = `<p><strong>${esc(t("tier." + b.dataset.tier))}</strong>: ${int(r.size)} ${t("customers")}</p><ul>${r.distinctive.slice(0, 6).map((f) =>
            `<li>${esc(f.label)} <span class="muted">${f.share != null ? pct(f.share) + " / " + pct(f.population_share) : num(f.mean, 1) + " / " + num(f.population_mean, 1)}</span></li>`).join("")}</ul>`;
        } catch (err) { out.innerHTML = `<span class="warn">${esc(err.message)}</span>`; }
      });
    }
  } catch (e) { fail(e); }
}

async function viewJobs() {
  setNav("jobs");
  html(`<p class="muted">${t("loading")}</p>`);
  try {
    const [{ schedules }, j] = await Promise.all([api("GET", "/v1/schedules"), api("GET", "/v1/jobs?limit=20")]);
    html(`<h1>${t("jobs")}</h1>
      <h2>${t("jobs.schedules")}</h2><div class="scroll"><table><thead><tr><th>${t("name")}</th><th>${t("jobs.job")}</th><th>cron</th><th>${t("jobs.next")}</th><th>${t("jobs.last")}</th></tr></thead><tbody>
        ${schedules.map((s) => `<tr><td>${esc(s.name)}${s.enabled ? "" : ` <span class="muted small">(off)</span>`}</td><td>${esc(s.job)}</td><td><code>${esc(s.cron)}</code></td><td>${date(s.next_run_at)}</td><td>${s.last_run_at ? date(s.last_run_at) : "–"}</td></tr>`).join("")}</tbody></table></div>
      <h2>${t("jobs.queued")}</h2>${j.jobs.length ? `<div class="scroll"><table><thead><tr><th>#</th><th>${t("jobs.job")}</th><th>${t("jobs.status")}</th><th>queue</th></tr></thead><tbody>
        ${j.jobs.map((x) => `<tr><td>${int(x.id)}</td><td>${esc(x.job)}</td><td>${esc(x.status)}</td><td>${esc(x.queue)}</td></tr>`).join("")}</tbody></table></div>` : `<p class="muted">${t("jobs.none")}</p>`}
      ${j.backfills.length ? `<h2>${t("jobs.backfills")}</h2><ul>${j.backfills.map((b) => `<li>${esc(b.run_id)}: ${esc(b.status)}, ${int(b.partitions_done)}/${int(b.partitions)} ${t("jobs.partitions")}</li>`).join("")}</ul>` : ""}
      <h2>${t("jobs.runs")}</h2><div class="scroll"><table><thead><tr><th>${t("jobs.job")}</th><th>${t("jobs.status")}</th><th>${t("jobs.worker")}</th><th>${t("jobs.seconds")}</th><th>${t("jobs.error")}</th></tr></thead><tbody>
        ${j.runs.map((r) => `<tr><td>${esc(r.job)}</td><td>${esc(r.status)}</td><td class="small">${esc(r.worker)}</td><td>${r.seconds == null ? "–" : num(r.seconds, 1)}</td><td class="small warn">${esc((r.error || "").slice(0, 200))}</td></tr>`).join("")}</tbody></table></div>`);
  } catch (e) { fail(e); }
}

// ---- routing
function route() {
  const [path, query] = (location.hash.slice(1) || "/search").split("?");
  const params = new URLSearchParams(query || "");
  const [, view, arg] = path.split("/");
  const id = arg ? decodeURIComponent(arg) : "";
  ({ search: () => viewSearch(params), customer: () => viewCustomer(id), segments: viewSegments,
     segment: () => viewSegment(id), models: viewModels, model: () => viewModel(id), jobs: viewJobs }[view] || (() => viewSearch(params)))();
  $main.focus({ preventScroll: true });
}
window.addEventListener("hashchange", route);
document.getElementById("lang").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem("profileAiLang", lang);
  applyStaticText();
  route();
});
let ERROR_WORDS = {};
fetch("/static-words/errors.json").then((r) => (r.ok ? r.json() : {})).then((w) => { ERROR_WORDS = w; }).catch(() => {});
applyStaticText();
route();
