import assert from "node:assert/strict";
import { once } from "node:events";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { type CliRun, runCli, unprivilegedUser } from "../helpers/cli.ts";
import { ADMIN_TOKEN } from "../helpers/embedded-app.ts";
import { freePort } from "../helpers/net.ts";
import { DATABASE_URL, REDIS_URL, skipWithoutServices, testPrefix } from "../helpers/services.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * A start that fails prints one line naming the setting or the cause, never
 * a stack trace, and exits non-zero (SPEC: "refused at start with one clear
 * line"). One test per kind of failure, each through the real CLI.
 */
const skip = await skipWithoutServices();

function assertOneLine(run: CliRun, status: number, pattern: RegExp): void {
  assert.equal(run.status, status, `${run.stdout}\n${run.stderr}`);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(`${run.stdout}${run.stderr}`, /^\s+at /m, "no stack trace");
}

/** A directory others may enter (the permission tests run as another user when the runner is root). */
function openDir(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  return dir;
}

test("an unwritable DATA_DIR: one line naming DATA_DIR", async (t) => {
  const base = openDir(t);
  const locked = join(base, "locked");
  mkdirSync(locked, { mode: 0o555 });
  chmodSync(locked, 0o555);
  const run = await runCli(["start"], { DATA_DIR: join(locked, "data") }, { as: unprivilegedUser() });
  assertOneLine(run, 1, /^stampede: DATA_DIR: cannot create .*locked\/data: .*(EACCES|permission denied)/);
});

test("an admin token file that cannot be read (EACCES): one line naming DATA_DIR", async (t) => {
  const dataDir = join(openDir(t), "data");
  mkdirSync(dataDir, { mode: 0o777 });
  chmodSync(dataDir, 0o777);
  writeFileSync(join(dataDir, "admin-token"), "x".repeat(32), { mode: 0o000 });
  chmodSync(join(dataDir, "admin-token"), 0o000);
  const run = await runCli(["start"], { DATA_DIR: dataDir }, { as: unprivilegedUser() });
  assertOneLine(run, 1, /^stampede: DATA_DIR: cannot read or store the admin token in .*EACCES/);
});

test("a ledger file that cannot be opened: one line naming DATA_DIR", async (t) => {
  const dataDir = join(openDir(t), "data");
  mkdirSync(dataDir, { mode: 0o777 });
  chmodSync(dataDir, 0o777);
  writeFileSync(join(dataDir, "ledger.sqlite"), "", { mode: 0o000 });
  chmodSync(join(dataDir, "ledger.sqlite"), 0o000);
  const run = await runCli(["start"], { DATA_DIR: dataDir, ADMIN_TOKEN }, { as: unprivilegedUser() });
  assertOneLine(run, 1, /^stampede: DATA_DIR: cannot open the ledger in .*data: /);
});

test("a port in use: one line naming HOST and PORT", async (t) => {
  const taken = createServer();
  taken.listen(0, "127.0.0.1");
  await once(taken, "listening");
  t.after(() => taken.close());
  const port = (taken.address() as { port: number }).port;
  const run = await runCli(["start"], { DATA_DIR: tempDir(t), ADMIN_TOKEN, PORT: String(port) });
  assertOneLine(
    run,
    1,
    new RegExp(`^stampede: cannot listen on 127\\.0\\.0\\.1:${port} \\(HOST, PORT\\): .*EADDRINUSE`),
  );
});

test("an unreachable Redis: one line naming REDIS_URL", async () => {
  const port = await freePort();
  const run = await runCli(["api"], {
    ADMIN_TOKEN,
    REDIS_URL: `redis://127.0.0.1:${port}`,
    DATABASE_URL,
    PROCESSES: "1",
  });
  assertOneLine(run, 1, /^stampede: cannot connect to Redis \(REDIS_URL\): .*ECONNREFUSED/);
});

test("an unreachable PostgreSQL (stampede migrate): one line naming DATABASE_URL", async () => {
  const port = await freePort();
  const run = await runCli(["migrate"], { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test` });
  assertOneLine(run, 1, /^stampede: cannot migrate PostgreSQL \(DATABASE_URL\): .*ECONNREFUSED/);
});

test("a PostgreSQL database that does not exist: the worker refuses in one line, without waiting", {
  skip,
}, async (t) => {
  const missing = new URL(DATABASE_URL);
  missing.pathname = "/no_such_database_for_stampede";
  const run = await runCli(["worker"], {
    ADMIN_TOKEN,
    REDIS_URL,
    REDIS_PREFIX: testPrefix(t, "startfail"),
    DATABASE_URL: missing.href,
  });
  assertOneLine(run, 1, /^stampede: cannot use PostgreSQL \(DATABASE_URL\): .*does not exist/);
});

test("a TASK_MODULES entry that cannot be loaded: one line naming TASK_MODULES", async (t) => {
  const dir = tempDir(t);
  const run = await runCli(["start"], { DATA_DIR: dir, TASK_MODULES: join(dir, "no-such-tasks.ts") });
  assertOneLine(run, 2, /^stampede: invalid setting TASK_MODULES: cannot load ".*no-such-tasks\.ts"/);
});
