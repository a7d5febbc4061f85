import assert from "node:assert/strict";
import { globSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * The rules of test/README.md that a file's text shows: unit files reach for
 * no service, and every file that does reach for one asks first (a skip
 * outside CI, a failure under CI=true), so no test can pass by silently
 * not running.
 */
const ROOT = fileURLToPath(new URL("./", import.meta.url));
const files = globSync("**/*.test.ts", { cwd: ROOT }).sort();
const text = new Map(files.map((f) => [f, readFileSync(ROOT + f, "utf8")]));
const isUnit = (f: string) => !/\.(services|e2e)\.test\.ts$/.test(f);

/** Helpers whose use means a shared service, a server process, or a broker. */
const SERVICE_HELPERS = ["services", "kafka", "own-postgres", "own-redis", "distributed", "issued-topic"];
const importsHelper = (source: string, names: string[]) =>
  names.some((name) => new RegExp(`from "(\\.\\./)+helpers/${name}\\.ts"`).test(source));
/** A value import (not `import type`) of a service's client library. */
const importsClient = (source: string) => /^import (?!type )[^;]*from "(ioredis|pg)";/m.test(source);

test("unit files use no service helper, no Redis or PostgreSQL client, no long-running server process", () => {
  const offenders = files.filter((f) => {
    const source = text.get(f)!;
    return (
      isUnit(f) && (importsHelper(source, [...SERVICE_HELPERS, "server-process"]) || importsClient(source))
    );
  });
  assert.deepEqual(offenders, [], "rename them *.services.test.ts or *.e2e.test.ts, or split them");
});

test("every file that uses Redis, PostgreSQL or Kafka takes its skip from a skipWithout* check (skipOrFail)", () => {
  const unchecked = files.filter((f) => {
    const source = text.get(f)!;
    return (
      (importsHelper(source, SERVICE_HELPERS) || importsClient(source)) &&
      !/skipWithout\w+\(|skipOrFail\(/.test(source)
    );
  });
  assert.deepEqual(unchecked, []);
});

test("no test file probes a service or reads CI on its own", () => {
  const own = files.filter((f) =>
    /process\.env\.CI\b|process\.env\.(TEST_)?(REDIS_URL|DATABASE_URL)\b/.test(text.get(f)!),
  );
  assert.deepEqual(own, [], "use the helpers' skipWithout* and REDIS_URL / DATABASE_URL");
});
