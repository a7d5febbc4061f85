import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runCli } from "../helpers/cli.ts";
import { ADMIN_TOKEN, type Reply, request } from "../helpers/distributed.ts";
import { startServer } from "../helpers/server-process.ts";
import { DATABASE_URL, REDIS_URL, skipWithoutServices, testPrefix, testSchema } from "../helpers/services.ts";

/**
 * `stampede api --processes N`: N processes accept on one port (SO_REUSEPORT),
 * /metrics sums them all, a child that dies is replaced, and SIGTERM to the
 * primary stops every child gracefully.
 */
const skip = await skipWithoutServices();
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** A request on a connection of its own, so the kernel picks a process for each. */
function fresh(url: string, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const req = http.get(new URL(path, url), { agent: false, headers, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          body: text.startsWith("{") ? JSON.parse(text) : { text },
          headers: res.headers,
        }),
      );
    });
    req.on("error", (e) => resolve({ status: 0, body: {}, headers: {}, error: e.message }));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("two API processes share one port, both answer, /metrics sums them, a dead one is replaced, SIGTERM stops all", {
  skip,
}, async (t) => {
  const env = {
    PROCESSES: "2",
    ADMIN_TOKEN,
    REDIS_URL,
    DATABASE_URL,
    REDIS_PREFIX: testPrefix(t, "procs"),
    DATABASE_SCHEMA: testSchema(t, "procs"),
    LOG_LEVEL: "info",
    SHUTDOWN_TIMEOUT_MS: "5000",
  };
  const api = await startServer("api", env, { timeoutMs: 60_000 });
  t.after(() => api.stop("SIGKILL"));
  assert.match(api.output(), /stampede api listening on http:\/\/127\.0\.0\.1:\d+ \(2 processes/);
  assert.equal(
    api.output().match(/^stampede: (warning: )?a 202 survives/gm)?.length,
    1,
    "one start report per host, not per child",
  );

  const pidsOf = async () => {
    const replies = await Promise.all(
      Array.from({ length: 40 }, () => fresh(api.url, "/v1/admin/stats", admin)),
    );
    for (const reply of replies) assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return new Set(replies.map((r) => (r.body.process as { pid: number }).pid));
  };
  const pids = await pidsOf();
  assert.equal(pids.size, 2, `connections answered by ${[...pids].join(", ")}`);
  assert.ok(!pids.has(api.child.pid!), "the primary serves nothing itself");

  // Every child's requests, summed by whichever child answers /metrics.
  const HEALTH_CHECKS = 30;
  for (let i = 0; i < HEALTH_CHECKS; i++) assert.equal((await fresh(api.url, "/healthz")).status, 200);
  const metrics = String((await fresh(api.url, "/metrics")).body.text);
  const healthz = /stampede_http_requests_total\{route="\/healthz",method="GET",status="200"\} (\d+)/.exec(
    metrics,
  );
  assert.equal(Number(healthz?.[1]), HEALTH_CHECKS, "healthz requests counted across both processes");

  // kill -9 of a child: the primary starts another, and the port keeps answering meanwhile.
  const [victim] = pids;
  process.kill(victim!, "SIGKILL");
  // (Connections the kernel queued on the dying child's socket die with it: SO_REUSEPORT's price.)
  for (let i = 0; i < 50 && alive(victim!); i++) await sleep(20);
  assert.equal((await request(api.url, "GET", "/healthz")).status, 200);
  for (let i = 0; i < 100 && !/api process restarted/.test(api.output()); i++) await sleep(100);
  assert.match(api.output(), /api process died; starting another/);
  assert.match(api.output(), /api process restarted/);
  const after = await pidsOf();
  assert.equal(after.size, 2);
  assert.ok(!after.has(victim!), "the dead child is not among those answering");

  // A second group on the same port fails instead of silently sharing it.
  const port = new URL(api.url).port;
  const second = await runCli(["api"], { ...env, PORT: port });
  assert.equal(second.status, 1, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(
      `^stampede: cannot listen on 127\\.0\\.0\\.1:${port} \\(HOST, PORT\\): .*EADDRINUSE[^\\n]*\\n$`,
    ),
  );

  // SIGTERM to the primary drains every child and exits 0; no child is left behind.
  assert.equal(await api.stop("SIGTERM"), 0, api.output().slice(-2000));
  for (let i = 0; i < 50 && [...after].some(alive); i++) await sleep(100);
  assert.deepEqual([...after].filter(alive), [], "every child exited");
  assert.match(api.output(), /"msg":"stopped"/);
});
