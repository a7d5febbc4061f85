import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_TOKEN, request, startCluster } from "../../helpers/distributed.ts";
import { skipWithoutServices } from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/** `stampede api` and `stampede worker` running against the shared Redis and PostgreSQL. */
const skip = await skipWithoutServices();

test("an api and a worker start, report readiness per role, and the api says what a 202 survives", {
  skip,
}, async (t) => {
  const cluster = await startCluster(t, { apis: 1, workers: 1 });
  assert.match(cluster.apis[0]!.output(), /a 202 survives kill -9 of any stampede process/);
  // The dependencies are listed to the admin token only.
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
  await eventually(
    async () =>
      (await request(cluster.apis[0]!.url, "GET", `/v1/tasks/${task.body.taskId}`, undefined, admin)).body
        .status === "succeeded",
    10_000,
    "the task succeeded",
  );
});
