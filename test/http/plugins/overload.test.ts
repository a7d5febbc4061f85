import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import type { Campaign } from "../../../src/domain/types.ts";
import type { EmbeddedRuntime } from "../../../src/runtime/embedded.ts";
import { ADMIN_TOKEN, embeddedApp } from "../../helpers/embedded-app.ts";
import { countBy } from "../../helpers/load.ts";
import { eventually } from "../../helpers/wait.ts";

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
  await sleep(50); // past the samples taken while starting

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
  await sleep(60); // past the samples taken while starting

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
