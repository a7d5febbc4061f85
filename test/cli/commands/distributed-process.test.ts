import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../../helpers/cli.ts";
import { freePort } from "../../helpers/net.ts";

/**
 * `stampede api | worker` refusing to start, as an operator meets them; no
 * process gets as far as a service (running ones: distributed-process.services.test.ts).
 */
/** Present, but never reached: every refusal comes before a connection. */
const full = {
  ADMIN_TOKEN: "test-admin-token-0123456789",
  REDIS_URL: "redis://127.0.0.1:1",
  DATABASE_URL: "postgres://postgres@127.0.0.1:1/test",
};

for (const command of ["api", "worker"]) {
  for (const missing of ["ADMIN_TOKEN", "REDIS_URL", "DATABASE_URL"] as const) {
    test(`stampede ${command} refuses to start without ${missing}, in one line naming it`, async () => {
      const result = await runCli([command], { ...full, [missing]: undefined });
      assert.equal(result.status, 2);
      const lines = result.stderr.trim().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, new RegExp(`^stampede: .*${missing}.*required`));
    });
  }
}

test("stampede api says plainly when Redis does not answer", async () => {
  const port = await freePort();
  const result = await runCli(["api"], { ...full, REDIS_URL: `redis://127.0.0.1:${port}` });
  assert.equal(result.status, 1);
  assert.match(result.stderr.trim(), /^stampede: cannot connect to Redis \(REDIS_URL\)/);
  assert.equal(result.stderr.trim().split("\n").length, 1);
});
