// gridmesh dashboard: renders the JSON snapshots of the "events" stream
// (Server-Sent Events, one a second). Every URL is relative, so the page
// works wherever it is mounted. No library, no build step.
"use strict";

const STALE_MS = 3500;      // no snapshot for this long: the figures are marked stale
const RECONNECT_MS = 2000;  // after the stream was refused or closed
const HISTORY = 180;        // sparkline points: three minutes at one a second

const $ = (id) => document.getElementById(id);
let lastMsg = 0;
let source = null;
const history = [];         // {target, feeder} of the shown neighborhood

// Formatting: powers in W below 1 kW, in kW above; charge in %; energy in kWh.
function power(w) {
  if (w === null || w === undefined) return "–";
  const a = Math.abs(w);
  return a >= 1000 ? (w / 1000).toFixed(2) + " kW" : Math.round(w) + " W";
}
function pct(x) { return x === null || x === undefined ? "–" : (x * 100).toFixed(1) + " %"; }
function kwh(x) { return x === null || x === undefined ? "–" : x.toFixed(2) + " kWh"; }
function age(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms < 1000 ? ms + " ms" : ms < 120000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms / 60000) + " min";
}
function clock(ms) { return new Date(ms).toLocaleTimeString(); }
function shortPeer(p) { return p ? "…" + p.slice(-6) : ""; }
function text(el, s) { if (el.textContent !== s) el.textContent = s; }
function setValue(el, v) { el.dataset.value = v === null || v === undefined ? "" : String(v); }

function cell(tr, s, cls) {
  const td = document.createElement("td");
  td.textContent = s;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}
function badge(td, s, cls) {
  const b = document.createElement("span");
  b.className = "badge " + cls;
  b.textContent = s;
  td.appendChild(b);
}
function fillRows(tbody, rows, build) {
  tbody.replaceChildren(...rows.map((r) => { const tr = document.createElement("tr"); build(tr, r); return tr; }));
}

function renderHome(p) {
  const h = p.home;
  $("home-view").hidden = false;
  $("city-view").hidden = true;
  text($("title"), "gridmesh · home " + h.id);
  document.title = "gridmesh · " + h.id;
  text($("net"), power(h.net_w)); setValue($("net"), h.net_w);
  text($("net-note"), h.net_w === null ? "meter not answering" : h.net_w >= 0 ? "drawn from the grid" : "fed into the grid");
  text($("soc"), pct(h.soc)); setValue($("soc"), h.soc);
  text($("battery"), h.battery_w === null ? "battery not answering" : h.battery_w > 0 ? "charging " + power(h.battery_w) : h.battery_w < 0 ? "discharging " + power(-h.battery_w) : "idle");
  text($("base"), power(h.base_w));
  text($("mode"), h.mode === "plan" ? "following plan" : "on its own"); setValue($("mode"), h.mode);
  text($("aim"), "aiming for " + power(h.aim_net_w) + " at the meter");
  const pl = h.plan;
  $("plan").dataset.epoch = pl.has ? pl.epoch : "";
  text($("plan"), pl.has ? "epoch " + pl.epoch + ", issued " + age(pl.age_ms) + " ago, lease " + age(pl.lease_left_ms) + " left; neighborhood target " + power(pl.target_w)
    : "none valid: the home self-consumes until the next plan");
  const f = h.frequency_hz === null ? "frequency not measured" : h.frequency_hz.toFixed(3) + " Hz";
  text($("droop"), (h.droop_w === 0 ? "none" : power(h.droop_w) + " in the battery command") + " (" + f + ")");
  const island = $("island");
  setValue(island, h.grid_ok ? "connected" : "islanded");
  text(island, h.grid_ok ? "connected" : "grid lost: islanded" + (h.shed.length ? ", shedding " + h.shed.join(", ") : ""));
  island.className = h.grid_ok ? "ok" : "bad";

  fillRows($("devices").tBodies[0], h.devices, (tr, d) => {
    tr.dataset.kind = d.kind;
    cell(tr, d.kind.replace("_", " "));
    cell(tr, power(d.power_w), "num");
    cell(tr, d.soc === null ? "" : pct(d.soc), "num");
    cell(tr, d.breaker, d.breaker === "closed" ? "ok" : "bad");
    const st = cell(tr, d.available ? "answering" : "not answering", d.available ? "ok" : "warn");
    if (d.last_error) st.title = d.last_error;
  });

  const e = h.energy_today;
  text($("energy-since"), e ? "since " + clock(e.since_ms) : "");
  const rows = e ? [["Drawn from the grid", e.grid_import_kwh], ["Fed into the grid", e.grid_export_kwh], ["Solar produced", e.pv_production_kwh],
    ["Battery charged", e.battery_charge_kwh], ["Battery discharged", e.battery_discharge_kwh], ["Load served", e.load_served_kwh], ["Load shed", e.load_shed_kwh]] : [];
  fillRows($("energy").tBodies[0], rows, (tr, r) => { cell(tr, r[0]); cell(tr, kwh(r[1]), "num"); });

  renderNeighborhood(p.neighborhood, h.id);
  renderRegion(p.region);
}

function renderNeighborhood(n, me) {
  if (!n) return;
  text($("nbhd-id"), n.id);
  const leader = $("leader");
  leader.dataset.peer = n.leader; leader.dataset.home = n.leader_home;
  text(leader, n.leader ? (n.leader_home || shortPeer(n.leader)) : "none");
  leader.title = n.leader;
  text($("term"), n.leader ? "Raft term " + n.term : "election under way");
  text($("target"), power(n.target_w)); setValue($("target"), n.target_w);
  text($("feeder"), power(n.feeder_w)); setValue($("feeder"), n.feeder_w);
  text($("feeder-note"), n.feeder_w !== null ? "sum of " + n.homes_heard + " homes' meters"
    : n.listening ? "no home heard yet" : "not heard here: this home does not vote, so it does not listen to its neighbors' reports");
  text($("voters"), "Voters: " + (n.voters.length ? n.voters.map((v) => v.home || shortPeer(v.peer)).join(", ") : "unknown") + " · " + n.members + " members in the Raft group");
  fillRows($("homes").tBodies[0], n.homes, (tr, x) => {
    tr.dataset.home = x.id;
    if (x.id === me) tr.className = "me";
    cell(tr, x.id);
    const role = cell(tr, "");
    if (x.leader) badge(role, "leader", "leader");
    if (x.voter) badge(role, "voter", "voter");
    cell(tr, power(x.net_w), "num");
    cell(tr, pct(x.soc), "num");
    cell(tr, power(x.up_w), "num");
    cell(tr, power(x.down_w), "num");
    cell(tr, power(x.setpoint_w), "num");
    cell(tr, age(x.report_age_ms), "num");
  });
  text($("homes-note"), n.homes_not_shown ? n.homes_not_shown + " more homes not shown" : "");
  pushHistory(n.target_w, n.feeder_w);
}

function renderRegion(r) {
  text($("region-name"), r ? "region " + r.name : "region not joined");
  const sigs = r ? r.signals : [];
  fillRows($("signals").tBodies[0], sigs, (tr, s) => {
    cell(tr, s.id); cell(tr, s.kind); cell(tr, clock(s.start_ms)); cell(tr, clock(s.end_ms));
    cell(tr, power(s.request_w), "num"); cell(tr, power(s.share_w), "num");
  });
  text($("signals-note"), sigs.length ? "Our neighborhood lowers its import by " + power(r.offset_w) + " for them." : "No operator signal in force.");
}

function pushHistory(target, feeder) {
  history.push({ target, feeder });
  if (history.length > HISTORY) history.shift();
  const vals = history.flatMap((h) => [h.target, h.feeder]).filter((v) => v !== null && v !== undefined);
  if (!vals.length) return;
  let lo = Math.min(...vals), hi = Math.max(...vals);
  if (hi - lo < 100) { lo -= 50; hi += 50; }
  const pts = (key) => history.map((h, i) => h[key] === null || h[key] === undefined ? null
    : (i * 300 / (HISTORY - 1)).toFixed(1) + "," + (58 - (h[key] - lo) / (hi - lo) * 56).toFixed(1)).filter((s) => s).join(" ");
  $("spark").querySelector("polyline.target").setAttribute("points", pts("target"));
  $("spark").querySelector("polyline.feeder").setAttribute("points", pts("feeder"));
}

function renderCity(p) {
  $("home-view").hidden = true;
  $("city-view").hidden = false;
  text($("title"), "gridmesh · city");
  const box = $("nbhds");
  box.replaceChildren(...p.city.neighborhoods.map((n) => {
    const div = document.createElement("div");
    div.className = "nbhd";
    div.dataset.nbhd = n.id;
    const h3 = document.createElement("h3");
    h3.textContent = n.id + " · leader " + (n.leader || "none") + (n.leader ? " (term " + n.term + ")" : "") +
      " · target " + power(n.target_w) + " · feeder " + power(n.feeder_w);
    h3.dataset.leader = n.leader;
    div.appendChild(h3);
    const table = document.createElement("table");
    table.innerHTML = '<thead><tr><th>home</th><th>role</th><th>control</th><th class="num">grid</th><th class="num">charge</th></tr></thead><tbody></tbody>';
    fillRows(table.tBodies[0], n.homes, (tr, x) => {
      tr.dataset.home = x.id;
      const name = cell(tr, "");
      if (x.url) { const a = document.createElement("a"); a.href = x.url; a.textContent = x.id; name.appendChild(a); } else name.textContent = x.id;
      const role = cell(tr, "");
      if (!x.alive) badge(role, "down", "dead");
      if (x.leader) badge(role, "leader", "leader");
      if (x.voter) badge(role, "voter", "voter");
      cell(tr, x.alive ? (x.mode === "plan" ? "following plan" : "on its own") : "");
      cell(tr, power(x.net_w), "num");
      cell(tr, pct(x.soc), "num");
    });
    div.appendChild(table);
    return div;
  }));
}

function render(p) {
  document.body.dataset.kind = p.kind;
  if (p.kind === "home") renderHome(p); else if (p.kind === "city") renderCity(p);
  const up = $("updated");
  up.dataset.atMs = String(p.at_ms);
  text(up, clock(p.at_ms));
}

function connect() {
  const $conn = $("conn");
  source = new EventSource("events");
  source.onmessage = (ev) => {
    lastMsg = Date.now();
    $conn.dataset.state = "live";
    text($conn, "live");
    render(JSON.parse(ev.data));
  };
  source.onerror = () => {
    // The browser retries on its own after a dropped stream; a refused
    // one (503, or the server gone) is closed for good: start anew.
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, RECONNECT_MS);
    }
  };
}

function watchStale() {
  const stale = lastMsg === 0 || Date.now() - lastMsg > STALE_MS;
  document.body.classList.toggle("stale", stale && lastMsg !== 0);
  $("stale-banner").hidden = !(stale && lastMsg !== 0);
  if (stale && lastMsg !== 0) {
    text($("stale-for"), age(Date.now() - lastMsg));
    $("conn").dataset.state = "stale";
    text($("conn"), "stale · reconnecting");
  }
}

connect();
setInterval(watchStale, 500);
