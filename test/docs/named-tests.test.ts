import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";

/**
 * docs/security.md and docs/guarantees.md back each claim with a test named
 * beside it: `test/path.ts "test name"` (several names chained with commas
 * or "and"). Every file named exists, and every name is a test in it, so a
 * renamed or deleted test cannot leave a claim standing on nothing.
 */
const ROOT = new URL("../../", import.meta.url);
const DOCS = ["docs/security.md", "docs/guarantees.md"];
const REFERENCE = /(test\/[\w./-]+\.ts)((?:\s*(?:,|and|,\s*and)?\s*"[^"]+")*)/g;

const squash = (text: string) => text.replace(/\s+/g, " ").trim();

function namesIn(chain: string): string[] {
  return [...chain.matchAll(/"([^"]+)"/g)].map((m) => squash(m[1]!));
}

for (const doc of DOCS) {
  test(`${doc}: every test it names exists, under that name`, () => {
    const text = squash(readFileSync(new URL(doc, ROOT), "utf8"));
    const missing: string[] = [];
    let named = 0;
    for (const [, path, chain] of text.matchAll(REFERENCE)) {
      const file = new URL(path!, ROOT);
      if (!existsSync(file)) {
        missing.push(`${path}: no such file`);
        continue;
      }
      const source = squash(readFileSync(file, "utf8"));
      for (const name of namesIn(chain ?? "")) {
        named++;
        if (!source.includes(`"${name}"`) && !source.includes(`\`${name}\``))
          missing.push(`${path}: no test "${name}"`);
      }
    }
    assert.deepEqual(missing, []);
    assert.ok(named >= 10, `${doc} names ${named} tests`);
  });
}
