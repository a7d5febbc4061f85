import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { buildApp } from "../../../src/http/app.ts";
import { loadAssets } from "../../../src/ops/dashboard/routes.ts";
import { ADMIN_TOKEN, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";

const PAGE_LIMIT = 100 * 1024;

/** A page's own bytes plus everything it loads: stylesheets, scripts and the modules they import. */
function pageWeight(page: string): { bytes: number; files: string[] } {
  const assets = loadAssets();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const asset = assets.get(name);
    assert.ok(asset, `${name} is served`);
    seen.add(name);
    const text = asset.body.toString("utf8");
    for (const m of text.matchAll(/(?:href|src)="\/dashboard\/([\w.-]+)"/g)) visit(m[1]!);
    for (const m of text.matchAll(/from "\.\/([\w.-]+)"/g)) visit(m[1]!);
  };
  visit(page);
  let bytes = 0;
  for (const name of seen) bytes += assets.get(name)!.body.length;
  return { bytes, files: [...seen] };
}

test("each dashboard page weighs under 100 KB, everything it loads included", () => {
  for (const page of ["index.html", "claim.html"]) {
    const { bytes, files } = pageWeight(page);
    assert.ok(files.length >= 3, `${page} loads its css and scripts: ${files.join(", ")}`);
    assert.ok(bytes < PAGE_LIMIT, `${page}: ${bytes} bytes`);
  }
});

test("GET / and GET /claim serve the pages with a strict CSP; assets are cacheable by ETag", async (t) => {
  const { app } = await embeddedApp(t);
  const index = await app.inject({ method: "GET", url: "/" });
  assert.equal(index.statusCode, 200);
  assert.match(String(index.headers["content-type"]), /^text\/html/);
  assert.match(index.body, /<title>stampede · dashboard<\/title>/);
  assert.match(String(index.headers["content-security-policy"]), /script-src 'self'/);
  assert.equal(index.headers["x-content-type-options"], "nosniff");
  assert.doesNotMatch(index.body, /<script>(?!<)/, "no inline script (the CSP would block it)");

  const claim = await app.inject({ method: "GET", url: "/claim?campaign=x" });
  assert.equal(claim.statusCode, 200);
  assert.match(claim.body, /Try a claim/);

  const css = await app.inject({ method: "GET", url: "/dashboard/app.css" });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers["content-type"]), /^text\/css/);
  const again = await app.inject({
    method: "GET",
    url: "/dashboard/app.css",
    headers: { "if-none-match": String(css.headers.etag) },
  });
  assert.equal(again.statusCode, 304);
  const js = await app.inject({ method: "GET", url: "/dashboard/dashboard.js" });
  assert.match(String(js.headers["content-type"]), /^text\/javascript/);

  for (const url of ["/dashboard/nope.js", "/dashboard/..%2Fhub.ts", "/dashboard/routes.ts"]) {
    const res = await app.inject({ method: "GET", url });
    assert.equal(res.statusCode, 404, url);
    assert.equal(res.json().error, "not_found");
  }
  const post = await app.inject({ method: "POST", url: "/" });
  assert.equal(post.statusCode, 405);
});

test("GET /v1/admin/stream needs the admin token", async (t) => {
  const { app } = await embeddedApp(t);
  const res = await app.inject({ method: "GET", url: "/v1/admin/stream" });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error, "unauthorized");
});

/** Opens the admin stream over a real socket and collects its events. */
function openStream(url: string) {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let waiters: (() => void)[] = [];
  const req = http.get(`${url}/v1/admin/stream`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on("response", resolve);
    req.on("error", reject);
  });
  let buffer = "";
  void response.then((res) => {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffer += chunk;
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) events.push({ event, data: JSON.parse(data) });
        end = buffer.indexOf("\n\n");
      }
      for (const wake of waiters.splice(0)) wake();
    });
  });
  const until = async (check: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`stream: condition not met; got ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    waiters = [];
  };
  return { events, response, until, close: () => req.destroy() };
}

test("the admin stream pushes snapshots (counters, rates, lag) and stats to every dashboard", async (t) => {
  // Fast ticks: a second app on the test runtime, built with its own dashboard timing.
  const { runtime } = await embeddedApp(t);
  const server = await buildApp(runtime.api, { dashboard: { intervalMs: 100, statsEvery: 3 } });
  t.after(() => server.close());
  await createCampaign(server, { id: "live", name: "Live", stock: 5 });
  const url = await server.listen({ host: "127.0.0.1", port: 0 });

  const a = openStream(url);
  const b = openStream(url);
  t.after(() => {
    a.close();
    b.close();
  });
  const res = await a.response;
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers["content-type"]), /^text\/event-stream/);
  await a.until(() => a.events.some((e) => e.event === "stats"));
  const first = a.events.find((e) => e.event === "snapshot")!.data as {
    campaigns: { id: string; remaining: number }[];
  };
  assert.deepEqual(
    first.campaigns.map((c) => [c.id, c.remaining]),
    [["live", 5]],
  );

  for (const user of ["u1", "u2", "u3"])
    await server.inject({ method: "POST", url: "/v1/campaigns/live/claims", payload: { userId: user } });
  type Snap = {
    campaigns: { issued: number; remaining: number }[];
    rates: { admittedPerSec: number } | null;
  };
  const issued = (e: { event: string; data: unknown }) =>
    e.event === "snapshot" && (e.data as Snap).campaigns[0]?.issued === 3;
  await a.until(() => a.events.some(issued));
  await b.until(() => b.events.some(issued));
  const snap = a.events.find(issued)!.data as Snap;
  assert.equal(snap.campaigns[0]!.remaining, 2);
  assert.ok(
    a.events.some((e) => e.event === "snapshot" && ((e.data as Snap).rates?.admittedPerSec ?? 0) > 0),
    "admissions per second moved",
  );
  await a.until(() => a.events.filter((e) => e.event === "stats").length >= 2);
  const stats = a.events.filter((e) => e.event === "stats").at(-1)!.data;
  assert.equal(stats.mode, "embedded");
  assert.ok(stats.ledger);

  // Shutdown ends the dashboards' streams instead of waiting for them.
  const ended = new Promise<void>((resolve) => res.on("end", () => resolve()));
  await server.close();
  await ended;
});

test("the snapshots carry held counts for campaigns with holds and the holds ended per window", async (t) => {
  const { runtime } = await embeddedApp(t, { settings: { HOLD_MIN_SECONDS: 1, HOLD_REAP_INTERVAL_MS: 50 } });
  const server = await buildApp(runtime.api, { dashboard: { intervalMs: 100, statsEvery: 10 } });
  t.after(() => server.close());
  await createCampaign(server, { id: "tickets", name: "Tickets", stock: 5, holdSeconds: 1 });
  const url = await server.listen({ host: "127.0.0.1", port: 0 });
  const stream = openStream(url);
  t.after(() => stream.close());
  for (const user of ["u1", "u2"])
    await server.inject({ method: "POST", url: "/v1/campaigns/tickets/claims", payload: { userId: user } });
  type Snap = {
    campaigns: { id: string; held: number; holdSeconds?: number }[];
    rates: { holdsEnded: { expired: number } } | null;
  };
  const snaps = () =>
    stream.events.filter((e) => e.event === "snapshot").map((e) => e.data as unknown as Snap);
  await stream.until(() => snaps().some((s) => s.campaigns[0]?.held === 2));
  assert.equal(snaps().at(-1)!.campaigns[0]!.holdSeconds, 1);
  // Both holds expire: the snapshots' windows add up to two expiries.
  await stream.until(() => snaps().reduce((n, s) => n + (s.rates?.holdsEnded.expired ?? 0), 0) === 2);
  await stream.until(() => snaps().at(-1)!.campaigns[0]!.held === 0);
});

test("the snapshots carry a waiting room's line: its length, release rate and the draw's commitment", async (t) => {
  const { runtime } = await embeddedApp(t, { settings: { RELEASE_INTERVAL_MS: 20 } });
  const server = await buildApp(runtime.api, { dashboard: { intervalMs: 100, statsEvery: 10 } });
  t.after(() => server.close());
  const created = (await createCampaign(server, {
    id: "room",
    name: "Room",
    stock: 1,
    startsAt: new Date(Date.now() + 1500).toISOString(),
    waitingRoom: { prequeueSeconds: 60, releasePerSecond: 5 },
  })) as { drawCommitment?: string };
  for (const user of ["u1", "u2", "u3"])
    await server.inject({ method: "POST", url: "/v1/campaigns/room/queue", payload: { userId: user } });
  const url = await server.listen({ host: "127.0.0.1", port: 0 });
  const stream = openStream(url);
  t.after(() => stream.close());
  type Line = {
    waiting: number;
    admitted: number;
    soldOut: boolean;
    releasePerSecond: number;
    drawCommitment: string;
  };
  const lines = () =>
    stream.events
      .filter((e) => e.event === "snapshot")
      .map((e) => (e.data as unknown as { campaigns: { line?: Line }[] }).campaigns[0]?.line);
  // One admitted, the other two sold out at once (counts may lag a second: the line is read once a second).
  await stream.until(() => lines().some((l) => l?.admitted === 1 && l.soldOut && l.waiting === 2));
  const last = lines().at(-1)!;
  assert.equal(last.releasePerSecond, 5);
  assert.equal(last.drawCommitment, created.drawCommitment);
});
