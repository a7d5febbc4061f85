/**
 * The 10,000-user spike against distributed mode with Redis Streams (or Kafka, --queue kafka):
 * starts 1 `stampede api` + 1 `stampede worker` (or targets --api URL), creates a
 * campaign (stock 100), fires one claim per user all at once, waits until
 * every admitted claim is issued, and prints requests/s, admission latency
 * percentiles and admission-to-issued p99 (from the server's admittedAt /
 * issuedAt of the issued claims).
 *
 *   node bench/redis-spike.ts [--users 10000] [--stock 100] [--concurrency 10000] [--memory]
 *     --memory: also report Redis bytes per admitted claim once drained and trimmed
 *     --queue kafka: QUEUE=kafka on KAFKA_BROKERS (default: the broker of scripts/kafka.sh),
 *     a topic and consumer group of this run's own (deleted afterwards); the spike
 *     starts once the worker is ready (in the consumer group)
 *     (REDIS_URL, DATABASE_URL default to the local services; a fresh key
 *     prefix and schema are used and removed)
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { parseArgs } from "node:util";
import { Admin } from "@platformatic/kafka";
import { Redis } from "ioredis";
import pg from "pg";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "10000" },
    stock: { type: "string", default: "100" },
    concurrency: { type: "string", default: "0" },
    memory: { type: "boolean", default: false },
    queue: { type: "string", default: "redis" },
  },
});
const USERS = Number(values.users);
const STOCK = Number(values.stock);
const CONCURRENCY = Number(values.concurrency) || USERS;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const ADMIN_TOKEN = "bench-admin-token-0123456789";
const id = `bench_${randomBytes(4).toString("hex")}`;
const BIN = new URL("../../bin/stampede.js", import.meta.url).pathname;
const KAFKA = values.queue === "kafka";
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? "127.0.0.1:19092";
const kafkaEnv: Record<string, string> = KAFKA
  ? {
      QUEUE: "kafka",
      KAFKA_BROKERS,
      KAFKA_TOPIC: id,
      KAFKA_GROUP: id,
      KAFKA_TASKS_TOPIC: `${id}.tasks`,
      KAFKA_TASKS_GROUP: `${id}.tasks`,
    }
  : { QUEUE: "redis" };

function start(command: string): Promise<{ url: string; kill: () => void }> {
  const child = spawn(process.execPath, [BIN, command], {
    env: {
      ...process.env,
      PORT: "0",
      LOG_LEVEL: "warn",
      ADMIN_TOKEN,
      REDIS_URL,
      DATABASE_URL,
      REDIS_PREFIX: id,
      DATABASE_SCHEMA: id,
      ...kafkaEnv,
      // e.g. BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=.tmp/prof" to profile the servers
      NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? "",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, kill: () => child.kill("SIGTERM") });
    });
    child.once("exit", (code) => reject(new Error(`${command} exited ${code}: ${out}`)));
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise<{ status: number; body: Record<string, unknown>; ms: number }>((resolve) => {
    const t0 = performance.now();
    const req = http.request(
      new URL(path, base),
      {
        method,
        agent,
        headers: payload
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers }
          : headers,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? JSON.parse(text) : {},
            ms: performance.now() - t0,
          }),
        );
      },
    );
    req.on("error", () => resolve({ status: 0, body: {}, ms: performance.now() - t0 }));
    req.end(payload);
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Bytes of every key under the prefix (MEMORY USAGE), once the workers trimmed the stream. */
async function redisBytes(admitted: number) {
  const redis = new Redis(REDIS_URL);
  await new Promise((r) => setTimeout(r, 2500)); // a few trimming rounds
  const byFamily: Record<string, number> = {};
  let total = 0;
  for (const key of await redis.keys(`${id}:*`)) {
    const bytes = (await redis.memory("USAGE", key, "SAMPLES", 0)) ?? 0;
    const family = key.replace(/^[^:]+:(\{[^}]+\}:)?(c:[^:]+:?)?/, "").replace(/:.*$/, "") || "state";
    byFamily[family] = (byFamily[family] ?? 0) + bytes;
    total += bytes;
  }
  redis.disconnect();
  return { totalBytes: total, bytesPerAdmittedClaim: Math.round(total / admitted), byFamily };
}

const api = await start("api");
const worker = await start("worker");
try {
  // A Kafka worker consumes once it joined the consumer group: its /readyz says when.
  for (let i = 0; KAFKA && (await call(worker.url, "GET", "/readyz")).status !== 200; i++) {
    if (i > 600) throw new Error("the worker never became ready");
    await new Promise((r) => setTimeout(r, 50));
  }
  const created = await call(
    api.url,
    "POST",
    "/v1/campaigns",
    { id: "spike", name: "spike", stock: STOCK },
    { authorization: `Bearer ${ADMIN_TOKEN}` },
  );
  if (created.status !== 201) throw new Error(`create: ${created.status}`);
  const answers: { status: number; body: Record<string, unknown>; ms: number }[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, USERS) }, async () => {
      while (next < USERS) {
        const i = next++;
        answers.push(await call(api.url, "POST", "/v1/campaigns/spike/claims", { userId: `user-${i}` }));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const statuses: Record<number, number> = {};
  for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  const latency = answers.map((a) => a.ms).sort((a, b) => a - b);
  // Wait until every admitted claim is issued.
  for (;;) {
    const c = await call(api.url, "GET", "/v1/campaigns/spike");
    if (c.body.pending === 0 && c.body.issued === Math.min(STOCK, USERS)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const admittedIds = answers.filter((a) => a.status === 202).map((a) => String(a.body.claimId));
  const toIssued: number[] = [];
  let read = 0;
  await Promise.all(
    Array.from({ length: Math.min(100, admittedIds.length) }, async () => {
      while (read < admittedIds.length) {
        const c = await call(api.url, "GET", `/v1/claims/${admittedIds[read++]}`);
        if (c.body.status !== "issued") throw new Error(`claim not issued: ${JSON.stringify(c.body)}`);
        toIssued.push(Date.parse(String(c.body.issuedAt)) - Date.parse(String(c.body.admittedAt)));
      }
    }),
  );
  toIssued.sort((a, b) => a - b);
  const report = {
    users: USERS,
    stock: STOCK,
    concurrency: Math.min(CONCURRENCY, USERS),
    statuses,
    seconds: Number(seconds.toFixed(2)),
    requestsPerSecond: Math.round(USERS / seconds),
    admissionMs: {
      p50: Math.round(pct(latency, 50)),
      p90: Math.round(pct(latency, 90)),
      p99: Math.round(pct(latency, 99)),
      max: Math.round(latency.at(-1)!),
    },
    admissionToIssuedMs: { p50: pct(toIssued, 50), p99: pct(toIssued, 99), max: toIssued.at(-1) },
  };
  if (values.memory) Object.assign(report, { redis: await redisBytes(admittedIds.length) });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  api.kill();
  worker.kill();
  agent.destroy();
  await new Promise((r) => setTimeout(r, 500));
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${id}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${id}" CASCADE`);
  await client.end();
  if (KAFKA) {
    const admin = new Admin({ clientId: "stampede-bench", bootstrapBrokers: KAFKA_BROKERS.split(",") });
    await admin.deleteGroups({ groups: [id, `${id}.tasks`] }).catch(() => undefined);
    await admin.deleteTopics({ topics: [id, `${id}.tasks`] }).catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}
