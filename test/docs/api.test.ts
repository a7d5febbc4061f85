import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ERROR_CODES } from "../../src/domain/errors.ts";
import { HTTP_STATUS } from "../../src/http/plugins/errors.ts";

/**
 * docs/api.md is the contract in the project's own words: its error table
 * must be the catalogue, and the sections the code cites by name
 * (`docs/api.md "Holds"`) must exist. Reads files only.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const API = readFileSync(join(ROOT, "docs/api.md"), "utf8");

const headings = new Set(
  [...API.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} +(.+?) *$/gm)].map((m) => m[1]!),
);

test('the error table of docs/api.md, "Errors", is the catalogue with its statuses', () => {
  const section = API.split(/^## /m).find((s) => s.startsWith("Errors\n"));
  assert.ok(section, 'docs/api.md has a section "Errors"');
  const rows = [...section.matchAll(/^\| `([a-z_]+)` +\| (\d{3}) +\|/gm)].map((m) => [m[1]!, Number(m[2])]);
  assert.deepEqual(Object.fromEntries(rows), HTTP_STATUS);
  assert.deepEqual(
    rows.map(([code]) => code),
    ERROR_CODES,
    "the table lists the codes in the catalogue's order",
  );
});

test("docs/api.md numbers the six invariants the tests and the bench refer to", () => {
  const section = API.split(/^## /m).find((s) => s.startsWith("Invariants\n"));
  assert.ok(section, 'docs/api.md has a section "Invariants"');
  const numbers = [...section.matchAll(/^(\d)\. \*\*/gm)].map((m) => Number(m[1]));
  assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6]);
});

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|js|lua|sql)$/.test(name)) yield path;
  }
}

test('every section of docs/api.md cited by name in src/, test/ and bench/ exists (docs/api.md "Claims")', () => {
  const missing: string[] = [];
  let cited = 0;
  for (const dir of ["src", "test", "bench"]) {
    for (const file of sourceFiles(dir)) {
      // Comments wrap: join a line to the next one's text after its comment marker.
      const text = readFileSync(join(ROOT, file), "utf8").replace(/\s*\n\s*(?:\*(?!\/)|\/\/|--)?\s*/g, " ");
      for (const m of text.matchAll(/docs\/api\.md,? "([^"]{1,80})"/g)) {
        cited++;
        if (!headings.has(m[1]!)) missing.push(`${file}: "${m[1]}"`);
      }
    }
  }
  assert.ok(cited > 10, `found only ${cited} citations`);
  assert.deepEqual(missing, []);
});
