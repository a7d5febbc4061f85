import assert from "node:assert/strict";
import { test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Campaign } from "../../../src/domain/types.ts";
import type { EmbeddedRuntime } from "../../../src/runtime/embedded.ts";
import { ADMIN_TOKEN, embeddedApp, eventually } from "../../helpers/embedded-app.ts";
import { countBy, createClient } from "../../helpers/load.ts";
import { startServer } from "../../helpers/server-process.ts";
import { tempDir } from "../../helpers/tmp.ts";

/** Creates a campaign behind the API's back (the API itself is shedding load). */
async function seedCampaign(runtime: EmbeddedRuntime, id: string): Promise<void> {
  const campaign: Campaign = {
    id,
    name: id,
    stock: 1000,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    createdAt: Date.now(),
  };
  await runtime.ledger.createCampaign(campaign);
  await runtime.admission.putCampaign(campaign);
}

const admitted = async (runtime: EmbeddedRuntime, id: string) =>
  (await runtime.admission.counters(id))!.admitted;

function assertShed(res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }) {
  assert.equal(res.statusCode, 503);
  const body = res.json() as { error: string; message: string };
  assert.equal(body.error, "unavailable");
  assert.equal(typeof body.message, "string");
  const retryAfter = Number(res.headers["retry-after"]);
  assert.ok(retryAfter >= 1 && retryAfter <= 3, `Retry-After ${retryAfter}`);
  assert.ok(res.headers["x-request-id"]);
}

test("over the memory threshold every request is shed with 503 and nothing is admitted", async (t) => {
  const { app, runtime } = await embeddedApp(t, {
    app: { overload: { maxEventLoopDelayMs: 0, maxHeapUsedBytes: 1, maxRssBytes: 0, sampleIntervalMs: 10 } },
  });
  await seedCampaign(runtime, "c1");
  await app.ready();
  await eventually(() => app.isUnderPressure());
  await new Promise((r) => setTimeout(r, 50)); // past the samples taken while starting

  const answers = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      app.inject({ method: "POST", url: "/v1/campaigns/c1/claims", payload: { userId: `u${i}` } }),
    ),
  );
  for (const res of answers) assertShed(res);
  assert.equal(await admitted(runtime, "c1"), 0, "nothing was admitted for the 503s");
  assertShed(await app.inject({ method: "GET", url: "/readyz" }));
  assertShed(
    await app.inject({
      method: "POST",
      url: "/v1/campaigns",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { name: "x", stock: 1 },
    }),
  );
  assert.equal(
    (await app.inject({ method: "GET", url: "/healthz" })).statusCode,
    200,
    "the process is alive",
  );
});

/** Keeps the event loop busy in slices of `sliceMs` until stopped. */
function blockEventLoop(sliceMs: number): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + sliceMs;
    while (performance.now() < until) {
      // busy: this is the overload
    }
  }, 1);
  return () => clearInterval(timer);
}

test("a lagging event loop sheds load, admits nothing for the 503s, and recovers", async (t) => {
  const { app, runtime } = await embeddedApp(t, {
    app: { overload: { maxEventLoopDelayMs: 40, maxHeapUsedBytes: 0, maxRssBytes: 0, sampleIntervalMs: 20 } },
  });
  await seedCampaign(runtime, "c1");
  await app.ready();
  assert.equal(app.isUnderPressure(), false);
  await new Promise((r) => setTimeout(r, 60)); // past the samples taken while starting

  const unblock = blockEventLoop(100);
  t.after(unblock);
  await eventually(() => app.isUnderPressure());
  const answers: Awaited<ReturnType<FastifyInstance["inject"]>>[] = [];
  for (let i = 0; i < 20; i++)
    answers.push(
      await app.inject({ method: "POST", url: "/v1/campaigns/c1/claims", payload: { userId: `u${i}` } }),
    );
  unblock();

  const codes = countBy(answers, (a) => a.statusCode);
  assert.ok((codes["503"] ?? 0) >= 10, `mostly shed while lagging: ${JSON.stringify(codes)}`);
  assert.deepEqual(
    Object.keys(codes).filter((c) => c !== "503" && c !== "202"),
    [],
    JSON.stringify(codes),
  );
  for (const res of answers.filter((a) => a.statusCode === 503)) assertShed(res);
  assert.equal(await admitted(runtime, "c1"), codes["202"] ?? 0, "only the 202s were admitted");

  await eventually(() => !app.isUnderPressure());
  const after = await app.inject({
    method: "POST",
    url: "/v1/campaigns/c1/claims",
    payload: { userId: "later" },
  });
  assert.equal(after.statusCode, 202, "served again once the lag is gone");
});

test("stampede start sheds over a real socket, quickly (OVERLOAD_MAX_HEAP_MB)", async (t) => {
  const server = await startServer("start", {
    DATA_DIR: tempDir(t),
    ADMIN_TOKEN,
    FSYNC: "off",
    OVERLOAD_MAX_HEAP_MB: "1",
  });
  t.after(() => server.stop());
  const client = createClient(server.url);
  t.after(() => client.close());
  await eventually(async () => (await client.request({ method: "GET", path: "/readyz" })).status === 503);
  const answers = await client.fire(
    Array.from({ length: 500 }, (_, i) => ({
      method: "POST",
      path: "/v1/campaigns/c/claims",
      body: { userId: `u${i}` },
    })),
  );
  assert.deepEqual(
    countBy(answers, (a) => a.status),
    { 503: 500 },
  );
  for (const a of answers) {
    assert.equal(a.body.error, "unavailable");
    assert.ok(a.headers["retry-after"]);
  }
  const slowest = Math.max(...answers.map((a) => a.ms));
  assert.ok(slowest < 5000, `500 concurrent requests shed within ${slowest.toFixed(0)} ms`);
  assert.equal((await client.request({ method: "GET", path: "/healthz" })).status, 200);
});
