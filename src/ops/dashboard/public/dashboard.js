import { drawLines } from "./chart.js";
import { adminStream, adminToken, api, bytes, el, fmt } from "./common.js";

// Two minutes of one-second snapshots; the charts start with a 30-second width.
const POINTS = 120;
const MIN_SLOTS = 30;
const history = { admitted: [], p50: [], p99: [] };
// Holds ended per snapshot window (about a second each): the last minute's, summed.
const HOLD_WINDOW_MS = 60_000;
const holdEnds = [];
const $ = (id) => document.getElementById(id);
let stream;
/** A campaign's counters, in the order shown ("held" for campaigns with holds). */
const COUNTS = ["issued", "pending", "held", "remaining", "stock"];

function showConnect(message = "") {
  stream?.stop();
  $("board").hidden = true;
  $("connect").hidden = false;
  $("connect-error").textContent = message;
  $("token").focus();
}

function connect() {
  $("connect").hidden = true;
  $("board").hidden = false;
  setLive("connecting");
  stream = adminStream("/v1/admin/stream", {
    open: () => setLive("live"),
    closed: () => setLive("reconnecting"),
    unauthorized: () => {
      adminToken.clear();
      showConnect("That token was refused.");
    },
    event: (name, data) => {
      if (name === "snapshot") onSnapshot(data);
      else if (name === "stats") onStats(data);
    },
  });
}

function setLive(state) {
  const live = $("live");
  live.dataset.state = state;
  live.textContent = state;
}

function push(list, value) {
  list.push(value);
  if (list.length > POINTS) list.shift();
}

function onSnapshot(snap) {
  const r = snap.rates;
  if (r) {
    push(history.admitted, r.admittedPerSec);
    push(history.p50, r.claimLatencyMs?.p50 ?? null);
    push(history.p99, r.claimLatencyMs?.p99 ?? null);
    $("tile-admitted").textContent = fmt.format(r.admittedPerSec);
    const rejected = Object.entries(r.rejectedPerSec);
    $("tile-rejected").textContent =
      rejected.length === 0
        ? "no rejections"
        : rejected.map(([k, v]) => `${k} ${fmt.format(v)}/s`).join(", ");
    $("tile-latency").textContent = r.claimLatencyMs
      ? `${r.claimLatencyMs.p50} / ${r.claimLatencyMs.p99}`
      : "–";
    const rateTop = drawLines($("chart-rate"), [{ values: history.admitted, className: "line" }], MIN_SLOTS);
    $("chart-rate-max").textContent = `(scale ${fmt.format(rateTop)}/s)`;
    const latencyTop = drawLines(
      $("chart-latency"),
      [
        { values: history.p50, className: "line p50" },
        { values: history.p99, className: "line p99" },
      ],
      MIN_SLOTS,
    );
    $("chart-latency-max").textContent = `(scale ${fmt.format(latencyTop)} ms)`;
  }
  if (r?.holdsEnded) onHoldsEnded(snap.t, r.holdsEnded);
  $("tile-lag").textContent = snap.queueLag === null ? "–" : fmt.format(snap.queueLag);
  renderCampaigns(snap.campaigns, snap.campaignCount);
}

function onHoldsEnded(t, ended) {
  holdEnds.push({ t, ...ended });
  while (holdEnds.length > 0 && holdEnds[0].t <= t - HOLD_WINDOW_MS) holdEnds.shift();
  const sum = (key) => holdEnds.reduce((n, e) => n + e[key], 0);
  $("tile-expiries").textContent = fmt.format(sum("expired"));
  $("tile-holds").textContent =
    `confirmed ${fmt.format(sum("confirmed"))} · released ${fmt.format(sum("released"))} in the last minute`;
}

function renderCampaigns(campaigns, total) {
  const list = $("campaigns");
  $("no-campaigns").hidden = campaigns.length > 0;
  $("campaign-count").textContent =
    total > campaigns.length ? `(newest ${campaigns.length} of ${fmt.format(total)})` : "";
  const existing = new Map([...list.children].map((li) => [li.dataset.campaign, li]));
  campaigns.forEach((c, i) => {
    let item = existing.get(c.id);
    if (!item) item = campaignItem(c);
    existing.delete(c.id);
    if (list.children[i] !== item) list.insertBefore(item, list.children[i] ?? null);
    for (const key of COUNTS) item.querySelector(`.${key}`).textContent = fmt.format(c[key] ?? 0);
    item.querySelector(".bar-issued").style.width = `${(100 * c.issued) / c.stock}%`;
    item.querySelector(".bar-pending").style.width = `${(100 * c.pending) / c.stock}%`;
    item.querySelector(".bar-held").style.width = `${(100 * (c.held ?? 0)) / c.stock}%`;
    // Held counts are shown for campaigns with holds only.
    item.querySelector(".count-held").hidden = !c.holdSeconds;
    item.dataset.soldOut = String(c.remaining === 0);
    renderLine(item.querySelector(".line"), c.line);
  });
  for (const stale of existing.values()) stale.remove();
}

function campaignItem(c) {
  const item = el("li", { class: "campaign", "data-campaign": c.id });
  const head = el("div", { class: "campaign-head" });
  head.append(el("strong", { class: "name" }, c.name), " ", el("code", { class: "id" }, c.id));
  const link = el("a", { href: `/claim?campaign=${encodeURIComponent(c.id)}` }, "try a claim");
  head.append(" ", link);
  const bar = el("div", { class: "bar", "aria-hidden": "true" });
  bar.append(
    el("span", { class: "bar-issued" }),
    el("span", { class: "bar-pending" }),
    el("span", { class: "bar-held" }),
  );
  const counts = el("dl", { class: "counts" });
  for (const key of COUNTS) {
    const cell = el("div", { class: `count-${key}` });
    cell.append(el("dt", {}, key), el("dd", { class: key }, "0"));
    counts.append(cell);
  }
  item.append(head, bar, counts, el("p", { class: "line", hidden: "" }));
  return item;
}

/** A waiting room's line: its length, release rate and the draw's commitment. */
function renderLine(row, line) {
  row.hidden = !line;
  if (!line) return;
  const rate =
    line.releasePerSecond === null ? "as fast as admission allows" : `${fmt.format(line.releasePerSecond)}/s`;
  const seen =
    line.observedPerSecond === null ? "" : ` (seen ${fmt.format(Math.round(line.observedPerSecond))}/s)`;
  row.replaceChildren(
    el("span", { class: "line-length" }, `line ${fmt.format(line.waiting)} waiting`),
    ` · ${fmt.format(line.admitted)} admitted · ${fmt.format(line.prequeued)} pre-queued · release ${rate}${seen}`,
    line.soldOut ? el("strong", { class: "line-sold-out" }, " · sold out") : "",
    el("br"),
    "draw commitment ",
    el("code", { class: "commitment", title: line.drawCommitment }, `${line.drawCommitment.slice(0, 16)}…`),
  );
}

function onStats(stats) {
  $("mode").textContent = `${stats.mode} mode`;
  const warnings = [];
  const details = [];
  if (stats.queue?.lag)
    for (const l of stats.queue.lag) details.push([`queue lag · ${l.source}`, fmt.format(l.lag)]);
  if (stats.ledger && !stats.ledger.error) {
    details.push(["ledger · campaigns", fmt.format(stats.ledger.campaigns)]);
    details.push(["ledger · issued claims", fmt.format(stats.ledger.issuedClaims)]);
  }
  if (stats.journal) details.push(["journal · fsyncs", fmt.format(stats.journal.fsyncs)]);
  for (const [name, section] of Object.entries(stats))
    if (section && typeof section === "object" && "error" in section)
      warnings.push(`${name}: ${section.error}`);
  const redis = stats.redis;
  if (redis && !redis.error) {
    const info = redis.info ?? {};
    $("tile-redis").textContent = bytes(Number(info.used_memory));
    $("tile-redis-sub").textContent = info.maxmemory
      ? `of ${bytes(Number(info.maxmemory))} · ${info.maxmemory_policy}`
      : `no maxmemory · ${info.maxmemory_policy ?? "?"}`;
    details.push(["redis · rss", bytes(Number(info.used_memory_rss))]);
    details.push(["redis · fragmentation", String(info.mem_fragmentation_ratio ?? "–")]);
    for (const f of redis.keyFamilies?.families ?? [])
      details.push([`redis keys · ${f.family}`, `${fmt.format(f.keys)} keys · ~${bytes(f.estimatedBytes)}`]);
    warnings.push(...(redis.warnings ?? []));
    $("memory-doctor").textContent =
      typeof redis.doctor === "string" ? redis.doctor : JSON.stringify(redis.doctor);
  } else {
    $("tile-redis").textContent = "–";
    $("tile-redis-sub").textContent = redis?.error ?? "no Redis in this mode";
  }
  $("warnings").replaceChildren(...warnings.map((w) => el("li", {}, w)));
  $("details").replaceChildren(
    ...details.flatMap(([k, v]) => {
      const row = el("div");
      row.append(el("dt", {}, k), el("dd", {}, v));
      return [row];
    }),
  );
}

async function createCampaign(event) {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const body = { name: data.get("name"), stock: Number(data.get("stock")) };
  if (data.get("id")) body.id = data.get("id");
  if (data.get("perUserLimit")) body.perUserLimit = Number(data.get("perUserLimit"));
  if (data.get("holdSeconds")) body.holdSeconds = Number(data.get("holdSeconds"));
  if (data.get("prequeueSeconds")) {
    body.waitingRoom = { prequeueSeconds: Number(data.get("prequeueSeconds")) };
    if (data.get("releasePerSecond"))
      body.waitingRoom.releasePerSecond = Number(data.get("releasePerSecond"));
  }
  for (const key of ["startsAt", "endsAt"])
    if (data.get(key)) body[key] = new Date(String(data.get(key))).toISOString();
  const result = $("create-result");
  result.textContent = "creating…";
  const res = await api("/v1/campaigns", { method: "POST", body, admin: true });
  if (res.status === 201) {
    result.textContent = `created ${res.data.id}`;
    form.reset();
  } else if (res.status === 401) {
    adminToken.clear();
    showConnect("That token was refused.");
  } else {
    result.textContent = `${res.status} ${res.data.error ?? ""}: ${res.data.message ?? ""}`;
  }
}

$("connect-form").addEventListener("submit", (event) => {
  event.preventDefault();
  adminToken.set($("token").value.trim());
  $("token").value = "";
  connect();
});
$("forget").addEventListener("click", () => {
  adminToken.clear();
  showConnect();
});
$("create-form").addEventListener("submit", createCampaign);

if (adminToken.get()) connect();
else showConnect();
