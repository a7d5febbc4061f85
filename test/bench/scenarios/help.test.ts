import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * Every scenario script loads and answers --help without starting anything
 * (the scenarios themselves are not run in tests: each takes minutes and the
 * whole machine), and refuses a bad flag with one line and exit status 2.
 */
const DIR = fileURLToPath(new URL("../../../bench/scenarios/", import.meta.url));
const scenarios = readdirSync(DIR)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3));

const run = (name: string, args: string[]) =>
  spawnSync(process.execPath, [`${DIR}${name}.ts`, ...args], { encoding: "utf8", timeout: 30_000 });

test("the eleven scenarios are there", () => {
  assert.deepEqual(scenarios.sort(), [
    "drain",
    "holds",
    "overload",
    "redis-spike",
    "soak",
    "sold-out",
    "spike-10k",
    "spike-1m",
    "spike-admit",
    "sustained",
    "waiting-room",
  ]);
});

for (const name of scenarios)
  test(`${name} --help says what it measures and lists its flags; a bad flag exits 2`, () => {
    const help = run(name, ["--help"]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^${name}: `));
    assert.match(help.stdout, new RegExp(`Usage: bench/run\\.sh ${name}`));
    assert.match(help.stdout, /--mode +embedded \| redis \| kafka/);
    const bad = run(name, ["--no-such-flag"]);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  });
