import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { StampedeError } from "../../../src/domain/errors.ts";
import type { Claim } from "../../../src/domain/types.ts";
import { userHashKey } from "../../../src/domain/user-hash.ts";
import { buildApp } from "../../../src/http/app.ts";
import { withTimeout } from "../../../src/http/plugins/request-timeout.ts";
import { Metrics } from "../../../src/ops/metrics/metrics.ts";
import { openEmbedded } from "../../../src/runtime/embedded.ts";
import { createServices } from "../../../src/services/index.ts";
import { TaskService } from "../../../src/services/tasks/task-service.ts";
import {
  ADMIN_TOKEN,
  admin,
  createCampaign,
  embeddedApp,
  embeddedConfig,
} from "../../helpers/embedded-app.ts";
import { tempDir } from "../../helpers/tmp.ts";
import { eventually } from "../../helpers/wait.ts";

const TIMEOUT_MS = 300;
/** What "within REQUEST_TIMEOUT_MS" may take on two shared, busy cores. */
const SLACK_MS = 1000;

test("withTimeout: an answer in time passes through; none becomes 503 unavailable near its bound", async () => {
  assert.equal(await withTimeout(Promise.resolve(42), 100), 42);
  await assert.rejects(withTimeout(Promise.reject(new Error("boom")), 100), /boom/);
  const started = performance.now();
  const error = await withTimeout(new Promise<never>(() => undefined), 100).catch((e: unknown) => e);
  assert.ok(error instanceof StampedeError);
  assert.equal(error.code, "unavailable");
  assert.equal(error.retryAfter, 1);
  assert.ok(performance.now() - started < 100 + SLACK_MS);
});

/** Every method of `port` hangs (never settles) while `frozen()` is true. */
function freezable<T extends object>(port: T, frozen: () => boolean): T {
  return new Proxy(port, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        frozen() ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
}

/** An embedded stampede whose every dependency (ledger, admission, notifier, task store and queue, probes) can hang. */
async function frozenApp(t: { after: (fn: () => Promise<void> | void) => void }) {
  let frozen = false;
  const isFrozen = () => frozen;
  const runtime = await openEmbedded(embeddedConfig({ DATA_DIR: tempDir(t) }), pino({ level: "silent" }));
  const { ledger } = runtime;
  const services = createServices(
    {
      admission: freezable(runtime.admission, isFrozen),
      ledger: freezable(ledger, isFrozen),
      notifier: freezable(runtime.notifier, isFrozen),
      lifecycle: freezable(ledger.lifecycle, isFrozen),
      deliveries: freezable(ledger.deliveries, isFrozen),
      tasks: new TaskService({
        registry: runtime.api.services.tasks!.registry,
        store: freezable(runtime.tasks.store, isFrozen),
        queue: freezable(runtime.tasks.queue, isFrozen),
        maxAttempts: 3,
      }),
    },
    { userHashKey: userHashKey(ADMIN_TOKEN), requestTimeoutMs: TIMEOUT_MS },
  );
  const hang = freezable({ probe: async () => [], lag: async () => [], collect: async () => ({}) }, isFrozen);
  const app = await buildApp(
    {
      services,
      access: { adminToken: ADMIN_TOKEN },
      ops: {
        readiness: () => hang.probe(),
        metrics: new Metrics({ defaultMetrics: false }),
        queueLag: () => hang.lag(),
        stats: [{ name: "ledger", collect: () => hang.collect() }],
      },
    },
    { requestTimeoutMs: TIMEOUT_MS },
  );
  t.after(async () => {
    await app.close();
    await runtime.close();
  });
  return { app, runtime, freeze: () => (frozen = true), thaw: () => (frozen = false) };
}

const SAMPLE_PARAMS: Record<string, string> = {
  id: "c",
  userId: "alice",
  claimId: "AAAAAAAAAAAAAAAAAAAAAA",
  taskId: "AAAAAAAAAAAAAAAAAAAAAA",
};

/** A body each route accepts, so that the request gets as far as its dependencies. */
const BODIES: Record<string, unknown> = {
  "POST /v1/campaigns": { name: "n", stock: 1 },
  "PATCH /v1/campaigns/{id}": { status: "paused" },
  "POST /v1/campaigns/{id}/claims": { userId: "alice" },
  "POST /v1/tasks": { type: "sleep", payload: { ms: 1 } },
  // An address literal: no DNS lookup, so the webhook store is the first dependency.
  "PUT /v1/campaigns/{id}/webhook": { url: "https://93.184.215.14/hook" },
  "POST /v1/campaigns/{id}/deliveries/dead/replay": {},
};

/** Routes that wait on nothing. */
const NO_DEPENDENCY = new Set(["GET /healthz"]);
/** Routes that report a silent section in a 200 rather than fail as a whole. */
const PARTIAL = new Set(["GET /v1/admin/stats"]);
/** Opens at once by design (the hub's reads are bounded on their own); inject would wait forever. */
const OPENS_AT_ONCE = new Set(["GET /v1/admin/stream"]);

async function answerWithin(
  app: FastifyInstance,
  route: string,
  url: string,
  body: unknown,
  boundMs: number,
) {
  const [method] = route.split(" ");
  const started = performance.now();
  const answer = app.inject({
    method: method as "GET",
    url,
    headers: admin,
    ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
  });
  const res = await Promise.race([answer, sleep(boundMs + 2000).then(() => undefined)]);
  return { res, ms: performance.now() - started };
}

test("every route answers within REQUEST_TIMEOUT_MS while every dependency hangs: 503 unavailable with Retry-After", {
  timeout: 120_000,
}, async (t) => {
  const { app, freeze } = await frozenApp(t);
  await createCampaign(app, { id: "c", name: "C", stock: 5 });
  await app.ready();
  freeze();
  const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
  const checked: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const method of Object.keys(methods)) {
      const route = `${method.toUpperCase()} ${path}`;
      if (method === "head" || OPENS_AT_ONCE.has(route)) continue;
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => SAMPLE_PARAMS[name] ?? "x");
      const { res, ms } = await answerWithin(app, route, url, BODIES[route], TIMEOUT_MS + SLACK_MS);
      assert.ok(res, `${route}: no answer within ${TIMEOUT_MS + SLACK_MS} ms`);
      assert.ok(ms < TIMEOUT_MS + SLACK_MS, `${route} answered after ${ms.toFixed(0)} ms`);
      checked.push(route);
      if (NO_DEPENDENCY.has(route)) {
        assert.equal(res.statusCode, 200, route);
        continue;
      }
      if (PARTIAL.has(route)) {
        assert.equal(res.statusCode, 200, `${route}: ${res.body}`);
        assert.match(String(res.json().ledger?.error), /no answer within/, route);
        continue;
      }
      assert.equal(res.statusCode, 503, `${route}: ${res.statusCode} ${res.body}`);
      assert.equal(res.json().error, "unavailable", route);
      assert.equal(res.headers["retry-after"], "1", route);
      assert.ok(ms >= TIMEOUT_MS - 50, `${route} waited on its dependency (${ms.toFixed(0)} ms)`);
    }
  }
  for (const route of [
    "GET /readyz",
    "GET /metrics",
    "GET /v1/campaigns/{id}",
    "GET /v1/claims/{claimId}",
    "GET /v1/claims/{claimId}/events",
    "GET /v1/campaigns/{id}/users/{userId}/claims",
    "PATCH /v1/campaigns/{id}",
    "POST /v1/campaigns/{id}/close",
    "GET /v1/campaigns/{id}/audit",
    "GET /v1/campaigns/{id}/export",
    "GET /v1/tasks/{taskId}/events",
  ])
    assert.ok(checked.includes(route), `${route} was checked`);
});

test("a watch that arrives after the deadline is stopped: the event stream route leaves no subscription behind", {
  timeout: 30_000,
}, async (t) => {
  const { app, runtime } = await embeddedApp(t, { requestTimeoutMs: TIMEOUT_MS });
  await createCampaign(app, { id: "c", name: "C", stock: 5 });
  const claimed = await app.inject({
    method: "POST",
    url: "/v1/campaigns/c/claims",
    payload: { userId: "u" },
  });
  const { claimId } = claimed.json() as { claimId: string };
  // The status read after subscribing takes longer than the deadline, then answers.
  const getClaim = runtime.admission.getClaim.bind(runtime.admission);
  runtime.admission.getClaim = async (id) => {
    await sleep(TIMEOUT_MS + 200);
    return getClaim(id);
  };
  let live = 0;
  const subscribe = runtime.notifier.subscribe.bind(runtime.notifier);
  runtime.notifier.subscribe = async (id, listener) => {
    live++;
    const stop = await subscribe(id, listener);
    return () => {
      live--;
      stop();
    };
  };
  const res = await app.inject({ method: "GET", url: `/v1/claims/${claimId}/events` });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error, "unavailable");
  await eventually(() => live === 0, 5000);
});

test("a response already streaming is not cut by the deadline", { timeout: 30_000 }, async (t) => {
  const { app, runtime } = await embeddedApp(t, { requestTimeoutMs: TIMEOUT_MS });
  await createCampaign(app, { id: "c", name: "C", stock: 5 });
  for (const userId of ["a", "b"])
    await app.inject({ method: "POST", url: "/v1/campaigns/c/claims", payload: { userId } });
  runtime.worker.start();
  await eventually(async () => (await runtime.ledger.issuedCount("c")) === 2);
  // The export's second page comes long after the deadline.
  const pages = runtime.ledger.exportClaims.bind(runtime.ledger);
  runtime.ledger.exportClaims = (campaignId) =>
    (async function* () {
      for await (const page of pages(campaignId)) {
        for (const claim of page) {
          yield [claim] as readonly Claim[];
          await sleep(TIMEOUT_MS * 2);
        }
      }
    })();
  const res = await app.inject({ method: "GET", url: "/v1/campaigns/c/export", headers: admin });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body.trim().split("\n").length, 2, "both claims, the second after the deadline");
});

test("an admission that completes after the deadline's 503 is dropped quietly: no second answer, no warning; a retry finds it (409)", {
  timeout: 30_000,
}, async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => void lines.push(line) });
  const { app, runtime } = await embeddedApp(t, { requestTimeoutMs: TIMEOUT_MS, app: { logger } });
  await createCampaign(app, { id: "late", name: "Late", stock: 5 });
  const admit = runtime.admission.admit.bind(runtime.admission);
  let done = false;
  runtime.admission.admit = async (request) => {
    await sleep(TIMEOUT_MS + 200);
    const outcome = await admit(request);
    done = true;
    return outcome;
  };
  const res = await app.inject({
    method: "POST",
    url: "/v1/campaigns/late/claims",
    payload: { userId: "u" },
  });
  assert.equal(res.statusCode, 503);
  await eventually(() => done, 5000);
  await sleep(50);
  assert.deepEqual(
    lines.filter((l) => /already sent/i.test(l)),
    [],
    "the late 202 is not sent over the 503",
  );
  runtime.admission.admit = admit;
  const again = await app.inject({
    method: "POST",
    url: "/v1/campaigns/late/claims",
    payload: { userId: "u" },
  });
  assert.equal(again.statusCode, 409, again.body);
});
