// xminer's built-in dashboard: polls the API of the miner that serves it, keeps 15 minutes of
// history in the page, and draws its own charts on <canvas> (no library, works offline).
"use strict";

const POLL_MS = 2000;
const SPAN_S = 15 * 60;
const TOKEN_KEY = "xminer.token";
const COLORS = ["#4c9be8", "#4caf7a", "#e0a33a", "#c678dd", "#e0574f", "#56b6c2", "#d19a66",
  "#98c379", "#61afef", "#be5046"];

const $ = (id) => document.getElementById(id);
const past = { backends: new Map(), threads: new Map(), shares: new Map(), latency: new Map() };
let restricted = true;
let configLoaded = false;
let rpcId = 0;
let timer = null;

// ---- the API ------------------------------------------------------------------------------
class AuthError extends Error {}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const reply = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  if (reply.status === 401) throw new AuthError(token ? "wrong token" : "");
  // 403 means a wrong token only where a right one always passes (restricted mode forbids
  // config and control with any token)
  if (reply.status === 403 && path === "/2/summary") throw new AuthError("wrong token");
  return reply;
}

async function json(path) {
  const reply = await api(path);
  if (!reply.ok) throw new Error(`${path}: HTTP ${reply.status}`);
  return reply.json();
}

async function metrics() {
  const reply = await api("/metrics");
  if (!reply.ok) return new Map();
  return parseMetrics(await reply.text());
}

// `name{a="b"} value` lines of the Prometheus text format into a Map keyed by `name{a="b"}`
function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m && !line.startsWith("#")) out.set(m[1], Number(m[2]));
  }
  return out;
}

// ---- formatting ---------------------------------------------------------------------------
function hashrate(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "n/a";
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} MH/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)} kH/s`;
  return `${v.toFixed(2)} H/s`;
}

// large counts with an SI prefix: 18446744073709551615 -> "18.45 E"
function count(v) {
  const prefixes = ["", " k", " M", " G", " T", " P", " E"];
  let i = 0;
  while (Math.abs(v) >= 1000 && i < prefixes.length - 1) { v /= 1000; i += 1; }
  return i ? `${v.toFixed(2)}${prefixes[i]}` : String(v);
}

function text(id, value) {
  const el = $(id);
  if (el.textContent !== String(value)) el.textContent = value;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}

// ---- history ------------------------------------------------------------------------------
function record(group, name, t, value) {
  let points = past[group].get(name);
  if (!points) past[group].set(name, (points = []));
  points.push([t, value]);
  while (points.length && points[0][0] < t - SPAN_S) points.shift();
}

// ---- charts -------------------------------------------------------------------------------
function niceStep(max, minStep) {
  const raw = Math.max(max / 4, minStep);
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function drawChart(group, format, minStep = 0.01) {
  const canvas = $(`chart-${group}`);
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (!w || !h) return;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  const left = 70, right = 8, top = 8, bottom = 20;
  const now = Date.now() / 1000;
  const series = [...past[group].entries()];
  let max = 0;
  for (const [, points] of series) for (const [, v] of points) if (v !== null) max = Math.max(max, v);
  const step = niceStep(max * 1.1, minStep);
  const ymax = Math.max(4 * step, Math.ceil((max * 1.1) / step) * step);
  const x = (t) => left + ((t - (now - SPAN_S)) / SPAN_S) * (w - left - right);
  const y = (v) => top + (1 - v / ymax) * (h - top - bottom);

  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#2c3440";
  ctx.fillStyle = "#8793a3";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let v = 0; v <= ymax + step / 2; v += step) {
    ctx.beginPath();
    ctx.moveTo(left, Math.round(y(v)) + 0.5);
    ctx.lineTo(w - right, Math.round(y(v)) + 0.5);
    ctx.stroke();
    ctx.fillText(format(v), left - 6, y(v));
  }
  ctx.textBaseline = "top";
  for (let m = 15; m >= 0; m -= 5) {
    ctx.textAlign = m === 15 ? "left" : m === 0 ? "right" : "center";
    ctx.fillText(m ? `-${m} min` : "now", x(now - m * 60), h - bottom + 4);
  }

  series.forEach(([, points], i) => {
    ctx.strokeStyle = COLORS[i % COLORS.length];
    ctx.lineWidth = 1.5;
    ctx.fillStyle = ctx.strokeStyle;
    // a window without a rate (null: too few samples yet) is bridged, not a gap
    const known = points.filter(([, v]) => v !== null);
    ctx.beginPath();
    known.forEach(([t, v], n) => (n ? ctx.lineTo(x(t), y(v)) : ctx.moveTo(x(t), y(v))));
    ctx.stroke();
    if (known.length) {
      const [t, v] = known[known.length - 1];
      ctx.beginPath();
      ctx.arc(x(t), y(v), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  });
  legend(group, series);
}

function legend(group, series) {
  const box = $(`legend-${group}`);
  const names = series.map(([name]) => name).join("\n");
  if (box.dataset.names === names) return;
  box.dataset.names = names;
  box.replaceChildren(...series.map(([name], i) => {
    const span = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = COLORS[i % COLORS.length];
    span.append(swatch, name);
    return span;
  }));
}

function drawAll() {
  drawChart("backends", hashrate);
  drawChart("threads", hashrate);
  drawChart("shares", (v) => String(Math.round(v)), 1);
  drawChart("latency", (v) => `${Math.round(v)} ms`, 10);
}

// ---- one poll -----------------------------------------------------------------------------
function showSummary(s, t) {
  restricted = s.restricted;
  text("version", s.version);
  text("worker", s.worker_id);
  const [h10, h60, h15] = s.hashrate.total;
  text("hr-10s", hashrate(h10));
  text("hr-60s", hashrate(h60));
  text("hr-15m", hashrate(h15));
  text("hr-highest", hashrate(s.hashrate.highest));
  text("algo", s.algo ?? "n/a");
  text("diff", count(s.results.diff_current));
  text("hugepages", `${s.hugepages[0]} / ${s.hugepages[1]}`);
  const c = s.connection;
  text("pool", c.pool || "none");
  text("ping", `${c.ping} ms`);
  text("failures", c.failures);
  record("latency", "ping", t, c.ping);
  const stopped = s.hashrate.total.every((v) => v === 0) && !s.paused;
  const state = s.paused ? "paused" : stopped ? "stopped" : "hashing";
  const pill = $("state");
  pill.className = `pill ${state}`;
  text("state", state);
  for (const b of document.querySelectorAll("#controls button")) {
    b.disabled = restricted;
    b.title = restricted ? "restricted mode: start xminer with --http-no-restricted" : "";
  }
}

function showBackends(backends, t) {
  const body = $("backends").tBodies[0];
  const health = $("health").tBodies[0];
  const rows = [];
  const gpus = [];
  for (const b of backends) {
    const threads = b.threads || [];
    const r = b.hashrate || [null, null, null];
    rows.push(row([b.type, b.enabled ? "yes" : "no", b.profile ?? "-", threads.length,
      hashrate(r[0]), hashrate(r[1]), hashrate(r[2])]));
    if (b.hashrate) record("backends", b.type, t, r[0]);
    threads.forEach((th, i) => {
      const label = b.type === "cpu" ? `cpu #${i}` : `${b.type} #${th.index ?? i} ${th.name ?? ""}`.trim();
      record("threads", label, t, th.hashrate[0]);
      if (th.health) {
        const hh = th.health;
        const fans = (hh.fan_speed || []).map((f, n) => `fan${n} ${f}%`).join(" ") || "-";
        gpus.push(row([b.type, th.index ?? i, th.name ?? "", th.bus_id ?? "",
          `${hh.temperature} °C`, `${hh.power} W`, `${hh.clock} / ${hh.mem_clock} MHz`, fans]));
      }
    });
  }
  body.replaceChildren(...rows);
  if (!gpus.length) gpus.push(row(["no GPU sensor readings", "", "", "", "", "", "", ""]));
  health.replaceChildren(...gpus);
}

function showMetrics(m, t) {
  for (const result of ["accepted", "rejected", "invalid", "stale"]) {
    const v = m.get(`xminer_shares_total{result="${result}"}`);
    if (v === undefined) continue;
    text(`sh-${result}`, v);
    record("shares", result, t, v);
  }
  const height = m.get("xminer_block_height");
  if (height !== undefined) text("height", height);
  const up = [...m.entries()].find(([k]) => k.startsWith("xminer_pool_up"));
  if (up) text("pool-up", up[1] ? "yes" : "no");
}

async function poll() {
  clearTimeout(timer);
  try {
    const t = Date.now() / 1000;
    const [summary, backends, m] = await Promise.all([json("/2/summary"), json("/2/backends"), metrics()]);
    showSummary(summary, t);
    showBackends(backends, t);
    showMetrics(m, t);
    drawAll();
    if (!configLoaded) await loadConfig();
    document.body.dataset.polls = Number(document.body.dataset.polls || 0) + 1;
  } catch (err) {
    if (err instanceof AuthError) { askToken(err.message); return; }
    $("state").className = "pill error";
    text("state", "unreachable");
    text("message", String(err.message || err));
  }
  timer = setTimeout(poll, POLL_MS);
}

// ---- control and config -------------------------------------------------------------------
async function rpc(method) {
  text("message", `${method}…`);
  try {
    const reply = await api("/json_rpc", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method }),
    });
    const body = await reply.json();
    text("message", body.error ? `${method}: ${body.error.message}` : `${method}: done`);
  } catch (err) {
    if (err instanceof AuthError) { askToken(err.message); return; }
    text("message", `${method}: ${err.message || err}`);
  }
  poll();
}

async function loadConfig() {
  const area = $("config");
  configLoaded = true;
  if (restricted) {
    text("config-note", "Restricted mode: the config is not shown (start xminer with --http-no-restricted).");
    area.value = "";
    area.hidden = true;
    $("config-save").disabled = $("config-reload").disabled = true;
    return;
  }
  const reply = await api("/2/config");
  area.hidden = false;
  area.readOnly = false;
  area.value = reply.ok ? JSON.stringify(await reply.json(), null, 2) : "";
  text("config-note", reply.ok ? "Edit and save: the whole document replaces the config." : `HTTP ${reply.status}`);
}

async function saveConfig() {
  try {
    const reply = await api("/2/config", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: $("config").value,
    });
    if (reply.status === 204) text("config-note", "Saved and applied.");
    else text("config-note", `Refused: ${(await reply.json()).error ?? reply.status}`);
  } catch (err) {
    if (err instanceof AuthError) askToken(err.message);
    else text("config-note", String(err.message || err));
  }
}

// ---- token --------------------------------------------------------------------------------
function askToken(why) {
  if (why) sessionStorage.removeItem(TOKEN_KEY);
  text("login-why", why ? `The token was refused (${why}).` : "This miner's API needs its access token.");
  $("login").hidden = false;
  $("token").focus();
}

function start() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    $("token").value = "";
    $("login").hidden = true;
    configLoaded = false;
    poll();
  });
  for (const b of document.querySelectorAll("#controls button")) {
    b.addEventListener("click", () => rpc(b.dataset.rpc));
  }
  $("config-reload").addEventListener("click", () => { configLoaded = false; loadConfig(); });
  $("config-save").addEventListener("click", saveConfig);
  window.addEventListener("resize", drawAll);
  poll();
}

start();
