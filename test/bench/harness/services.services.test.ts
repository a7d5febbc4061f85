import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import type { System } from "../../../bench/harness/modes.ts";
import { redisMemoryHooks } from "../../../bench/harness/redis-memory.ts";
import { DATABASE_URL, keysUnder, redisClient, removeRunState } from "../../../bench/harness/services.ts";
import { skipWithoutServices, uniqueName } from "../../helpers/services.ts";

/** The bench harness against the shared services (key families, without them: redis-memory.test.ts). */
test("a run's Redis memory is measured by family, and its keys and schema are removed, nobody else's", {
  skip: await skipWithoutServices(),
}, async () => {
  const prefix = `${uniqueName("bench")}:`;
  const schema = uniqueName("bench");
  const other = `${uniqueName("other")}:`;
  const redis = redisClient();
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const hooks = redisMemoryHooks();
    const system = { redisPrefix: prefix } as System;
    await hooks.beforeSystemRun(system);
    for (let i = 0; i < 600; i++) await redis.set(`${prefix}claim:${i}`, "x".repeat(100));
    await redis.set(`${prefix}state`, "1");
    await redis.set(`${other}keep`, "1");
    await client.query(`CREATE SCHEMA "${schema}"`);
    const memory = await hooks.afterSystemRun(system, { counters: { final: { issued: 600 } } } as never);
    assert.equal(memory.families?.[`${prefix}claim:*`]?.keys, 600);
    assert.equal(memory.families?.[`${prefix}state`]?.keys, 1);
    assert.ok(memory.families![`${prefix}claim:*`]!.bytes >= 600 * 100);
    assert.ok(Number.isFinite(memory.bytesPerAdmittedClaim));

    await removeRunState({ redisPrefix: prefix, schema });
    const left: string[] = [];
    for await (const key of keysUnder(redis, prefix)) left.push(key);
    assert.deepEqual(left, []);
    assert.equal(await redis.get(`${other}keep`), "1");
    const schemas = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    assert.equal(schemas.rowCount, 0);
  } finally {
    await redis.del(`${other}keep`);
    redis.disconnect();
    await client.end();
  }
});
