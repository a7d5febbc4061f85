import assert from "node:assert/strict";
import { test } from "node:test";
import { ADMIN_TOKEN } from "../../helpers/embedded-app.ts";
import { countBy, createClient } from "../../helpers/load.ts";
import { startServer } from "../../helpers/server-process.ts";
import { tempDir } from "../../helpers/tmp.ts";
import { eventually } from "../../helpers/wait.ts";

/** Load shedding of a real `stampede start` over real sockets (in process, with inject(): overload.test.ts). */
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
