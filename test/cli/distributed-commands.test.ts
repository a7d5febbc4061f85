import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ADMIN_TOKEN, request, startCluster } from "../helpers/distributed.ts";
import { freePort } from "../helpers/own-redis.ts";
import { DATABASE_URL, REDIS_URL, skipWithoutServices, sql, testSchema } from "../helpers/services.ts";

/** `stampede api | worker | migrate` in distributed mode, as an operator meets them. */
const skip = await skipWithoutServices();
const BIN = fileURLToPath(new URL("../../bin/stampede.js", import.meta.url));

async function run(args: string[], env: Record<string, string | undefined>) {
  const clean: Record<string, string | undefined> = { ...process.env };
  for (const name of ["ADMIN_TOKEN", "REDIS_URL", "DATABASE_URL", "QUEUE"]) delete clean[name];
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...clean, PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const [code] = (await once(child, "exit")) as [number];
  return { code, stdout, stderr };
}

const full = { ADMIN_TOKEN, REDIS_URL, DATABASE_URL };

for (const command of ["api", "worker"]) {
  for (const missing of ["ADMIN_TOKEN", "REDIS_URL", "DATABASE_URL"] as const) {
    test(`stampede ${command} refuses to start without ${missing}, in one line naming it`, async () => {
      const result = await run([command], { ...full, [missing]: undefined });
      assert.equal(result.code, 2);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, new RegExp(`^stampede: .*${missing}.*required`));
    });
  }
}

test("stampede api says plainly when Redis does not answer", async () => {
  const port = await freePort();
  const result = await run(["api"], { ...full, REDIS_URL: `redis://127.0.0.1:${port}` });
  assert.equal(result.code, 1);
  assert.match(result.stderr.trim(), /^stampede: cannot connect to Redis \(REDIS_URL\)/);
  assert.equal(result.stderr.trim().split("\n").length, 1);
});

test("stampede migrate uses PostgreSQL when DATABASE_URL is set; two at once are fine", {
  skip,
}, async (t) => {
  const schema = testSchema(t, "cli");
  const results = await Promise.all(
    [1, 2].map(() => run(["migrate"], { DATABASE_URL, DATABASE_SCHEMA: schema })),
  );
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PostgreSQL ledger .* is up to date/);
  }
  const tables = await sql<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    [schema],
  );
  assert.deepEqual(
    tables.map((r) => r.table_name),
    ["campaign_audit", "campaigns", "claims", "deliveries", "redis_epochs", "schema_migrations", "webhooks"],
  );
});

test("an api and a worker start, report readiness per role, and the api says what a 202 survives", {
  skip,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 1, workers: 1 });
  assert.match(cluster.apis[0]!.output(), /a 202 survives kill -9 of any stampede process/);
  const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const api = await request(cluster.apis[0]!.url, "GET", "/readyz", undefined, asAdmin);
  assert.equal(api.status, 200);
  assert.deepEqual(
    (api.body.dependencies as { name: string }[]).map((d) => d.name),
    ["redis"],
  );
  const worker = await request(cluster.workers[0]!.url, "GET", "/readyz", undefined, asAdmin);
  assert.equal(worker.status, 200);
  assert.deepEqual(
    (worker.body.dependencies as { name: string }[]).map((d) => d.name),
    ["redis", "postgresql"],
  );
  assert.equal(
    (await request(cluster.workers[0]!.url, "GET", "/v1/campaigns")).status,
    404,
    "a worker serves no API",
  );
  // A claim's whole life across the two processes, SSE included.
  await cluster.createCampaign({ id: "c1", name: "life", stock: 5 });
  const claim = await request(cluster.apis[0]!.url, "POST", "/v1/campaigns/c1/claims", { userId: "ann" });
  assert.equal(claim.status, 202);
  const events = await fetch(`${cluster.apis[0]!.url}/v1/claims/${claim.body.claimId}/events`);
  const text = await events.text(); // the stream ends once issued
  assert.match(text, /"status":"issued"/);
  assert.match(text, /"couponCode":"[0-9A-Z]{4}-/);
  // The task pipeline: submitted to an API process, run by the worker.
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const task = await request(
    cluster.apis[0]!.url,
    "POST",
    "/v1/tasks",
    { type: "sleep", payload: { ms: 10 } },
    admin,
  );
  assert.equal(task.status, 202, JSON.stringify(task.body));
  let status = "";
  for (let i = 0; i < 200 && status !== "succeeded"; i++) {
    status = String(
      (await request(cluster.apis[0]!.url, "GET", `/v1/tasks/${task.body.taskId}`, undefined, admin)).body
        .status,
    );
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(status, "succeeded");
});
