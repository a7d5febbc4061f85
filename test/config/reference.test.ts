import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { SETTINGS } from "../../src/config/config.ts";
import { configurationReference } from "../../src/config/reference.ts";

test("docs/configuration.md is what the settings table renders (run `npm run docs:config` after changing a setting)", () => {
  const committed = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
  assert.equal(
    committed,
    configurationReference(),
    "docs/configuration.md is out of date: npm run docs:config",
  );
});

test("the reference lists every setting once, with its flag and default", () => {
  const text = configurationReference();
  for (const name of Object.keys(SETTINGS)) {
    const lines = text.split("\n").filter((line) => line.startsWith(`| \`${name}\` `));
    assert.equal(lines.length, 1, name);
  }
  assert.match(text, /\| `PORT` +\| `--port` +\| `8080` +\| HTTP port +\|/);
  assert.match(
    text,
    /\| `QUEUE` +\| `--queue` +\| memory \(start\), redis \(api, worker\) +\| queue: memory /,
  );
  assert.match(
    text,
    /\| `OVERLOAD_MAX_HEAP_MB` +\|.*\| 90% of the V8 heap limit +\|/,
    "no machine-dependent default",
  );
});
