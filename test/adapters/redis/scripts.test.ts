import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import {
  keyCount,
  SCRIPT_FILES,
  type ScriptName,
  scriptSource,
} from "../../../src/adapters/redis/scripts.ts";

/**
 * The script loader itself, without Redis (on a real client:
 * scripts.services.test.ts; the scripts' contracts: admission/scripts.services.test.ts
 * and each store's tests).
 */
const LUA_DIR = new URL("../../../src/adapters/redis/lua/", import.meta.url);
const names = Object.keys(SCRIPT_FILES) as ScriptName[];

test("every Lua file in lua/ is in the catalogue, and every catalogued script has its file", () => {
  const files = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith(".lua"))
    .map((f) => f.slice(0, -4))
    .sort();
  assert.deepEqual(files, Object.values(SCRIPT_FILES).sort());
});

test("each script opens with its contract, and its includes are in place", () => {
  const includes = readdirSync(new URL("includes/", LUA_DIR));
  assert.ok(includes.length >= 3, includes.join(", "));
  for (const name of names) {
    const source = scriptSource(name);
    assert.match(source, /^--\[\[\n {2}\S/, `${name} starts with its contract header`);
    assert.match(source, /Returns|returns/, `${name} says what it returns`);
    assert.doesNotMatch(source, /@include/, `${name}: every include replaced`);
    if (/redisTimeMs\(\)/.test(source))
      assert.match(source, /local function redisTimeMs\(\)/, `${name} defines what it calls`);
  }
});

test("key counts come from the file names; a call with the wrong number of keys is refused", async () => {
  assert.equal(keyCount("admit"), 9);
  assert.equal(keyCount("confirm"), 6);
  assert.equal(keyCount("rebuildLoad"), undefined);
  assert.equal(keyCount("rateLimit"), undefined);
});
