import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ADMIN_TOKEN, createCampaign, embeddedApp } from "../../helpers/embedded-app.ts";

const ROWS = 1_000_000;
const WARM_ROWS = 100_000;
const MB = 1024 * 1024;
/** What the export may keep alive at once; the million rows are 226 MB of text. */
const LIVE_BUDGET = 40 * MB;

// A collection on demand, to measure what is live rather than when V8 gets round to collecting.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/** Memory held by live objects: the V8 heap after a full collection, plus Buffers. */
const live = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/**
 * The export streams: a million claims leave with the process's memory
 * bounded. Rows go straight into the ledger in one transaction (the pipeline
 * is not what is measured here); the export is read over a real socket by a
 * client that counts lines and keeps nothing. A warm-up export of 100,000
 * rows first lets V8 grow its young generation to what a busy process has
 * anyway (tens of MB, whatever the export's size). What is asserted is the
 * live memory (after a forced full collection, sampled through the export):
 * RSS, reported beside it, moves with when V8 chooses to collect (47-101 MB
 * of growth for the same run) and is too noisy to bound.
 */
test("a 1,000,000-row export streams with bounded memory", { timeout: 180_000 }, async (t) => {
  const { app, runtime } = await embeddedApp(t);
  await createCampaign(app, { id: "big", name: "Big", stock: ROWS });
  await createCampaign(app, { id: "warm", name: "Warm-up", stock: WARM_ROWS });
  const db = runtime.ledger.database;
  const insertStarted = performance.now();
  const insert = db.prepare(
    `INSERT INTO claims (claim_id, campaign_id, user_id, seq, unit, coupon_code, admitted_at, issued_at)
     VALUES (?, ?, ?, 1, ?, ?, ?, ?)`,
  );
  const base = Date.UTC(2030, 0, 1);
  db.exec("BEGIN");
  for (const [campaign, rows] of [
    ["big", ROWS],
    ["warm", WARM_ROWS],
  ] as const)
    for (let unit = 1; unit <= rows; unit++) {
      const id = `${campaign}-${unit.toString(36).padStart(8, "0")}`;
      insert.run(
        `claim-${id}`,
        campaign,
        `user-${id}@example.com`,
        unit,
        `CODE-${id}`,
        base + unit,
        base + unit + 5,
      );
    }
  db.exec("COMMIT");
  t.diagnostic(
    `inserted ${ROWS + WARM_ROWS} rows in ${((performance.now() - insertStarted) / 1000).toFixed(1)} s`,
  );

  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  const cold = process.memoryUsage().rss;
  assert.equal((await download(port, "warm")).lines, WARM_ROWS);
  const baseline = process.memoryUsage().rss;
  const liveBaseline = live();
  let peak = baseline;
  let livePeak = liveBaseline;
  const rssSampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const liveSampler = setInterval(() => {
    livePeak = Math.max(livePeak, live());
  }, 100);

  const started = performance.now();
  const result = await download(port, "big");
  clearInterval(rssSampler);
  clearInterval(liveSampler);
  const seconds = (performance.now() - started) / 1000;
  const growth = peak - baseline;
  const liveGrowth = livePeak - liveBaseline;
  t.diagnostic(
    `exported ${result.lines} rows (${(result.bytes / 1e6).toFixed(0)} MB) in ${seconds.toFixed(1)} s; ` +
      `peak live memory growth ${(liveGrowth / MB).toFixed(1)} MB; ` +
      `peak RSS growth ${(growth / MB).toFixed(1)} MB (${((peak - cold) / MB).toFixed(1)} MB counting the warm-up)`,
  );
  assert.equal(result.status, 200);
  assert.equal(result.lines, ROWS);
  assert.equal(JSON.parse(result.first).unit, 1);
  assert.equal(JSON.parse(result.last).unit, ROWS);
  assert.ok(result.bytes > 5 * LIVE_BUDGET, "the export is much larger than the memory budget");
  assert.ok(liveGrowth < LIVE_BUDGET, `peak live memory grew by ${(liveGrowth / MB).toFixed(1)} MB`);
});

/** Reads an export over a real socket, counting lines and keeping only the first and the last. */
function download(port: number, campaignId: string) {
  return new Promise<{ lines: number; bytes: number; first: string; last: string; status: number }>(
    (resolve, reject) => {
      http
        .get(
          {
            host: "127.0.0.1",
            port,
            path: `/v1/campaigns/${campaignId}/export?format=ndjson`,
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          },
          (res) => {
            let lines = 0;
            let bytes = 0;
            let first = "";
            let tail = "";
            res.on("data", (chunk: Buffer) => {
              bytes += chunk.length;
              for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
              if (first === "")
                first = chunk.toString("utf8", 0, Math.min(chunk.length, 400)).split("\n")[0]!;
              tail = (tail + chunk.toString("utf8", Math.max(0, chunk.length - 400))).slice(-400);
            });
            res.on("end", () => {
              const parts = tail.trimEnd().split("\n");
              resolve({ lines, bytes, first, last: parts.at(-1)!, status: res.statusCode ?? 0 });
            });
            res.on("error", reject);
          },
        )
        .on("error", reject);
    },
  );
}
