import assert from "node:assert/strict";
import { chmodSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";

/** A JSON request to the server under test (it needs no service: no helper of distributed.ts). */
async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL(path, base), {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * DATA_DIR holds coupon codes, webhook secrets and the admin token:
 * `stampede start` creates it 0700 and every file in it 0600 (umask 077,
 * src/runtime/data-dir.ts), and warns about one that others can open.
 */
function modes(dir: string): { path: string; mode: number; directory: boolean }[] {
  const found = [{ path: dir, mode: statSync(dir).mode & 0o777, directory: true }];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...modes(path));
    else found.push({ path, mode: statSync(path).mode & 0o777, directory: false });
  }
  return found;
}

test("stampede start creates DATA_DIR 0700 and every file in it 0600", async (t) => {
  const dataDir = join(tempDir(t), "fresh", "data");
  const server = await startServer("start", { DATA_DIR: dataDir }, { timeoutMs: 60_000 });
  t.after(() => server.stop("SIGKILL"));
  const token = /generated an admin token .*:\n\s+(\S+)/.exec(server.output())?.[1];
  assert.ok(token, server.output());
  const admin = { authorization: `Bearer ${token}` };
  assert.equal(
    (await request(server.url, "POST", "/v1/campaigns", { id: "c", name: "C", stock: 3 }, admin)).status,
    201,
  );
  const claim = await request(server.url, "POST", "/v1/campaigns/c/claims", { userId: "ann" });
  assert.equal(claim.status, 202);
  const task = await request(server.url, "POST", "/v1/tasks", { type: "sleep", payload: { ms: 1 } }, admin);
  assert.equal(task.status, 202);
  for (let i = 0; i < 100; i++) {
    const read = await request(server.url, "GET", `/v1/claims/${claim.body.claimId}`);
    if (read.body.status === "issued") break;
    await sleep(50);
  }
  assert.doesNotMatch(server.output(), /warning/, "nothing to warn about in a fresh DATA_DIR");

  const found = modes(dataDir);
  const names = found.map((f) => f.path.slice(dataDir.length));
  for (const expected of [
    "/admin-token",
    "/ledger.sqlite",
    "/ledger.sqlite-wal",
    "/tasks.sqlite",
    "/journal",
  ])
    assert.ok(names.includes(expected), `${expected} among ${names.join(" ")}`);
  assert.ok(
    names.some((n) => n.startsWith("/journal/segment-")),
    "a journal segment was written",
  );
  for (const { path, mode, directory } of found)
    assert.equal(mode, directory ? 0o700 : 0o600, `${path} is ${mode.toString(8)}`);
  assert.equal(await server.stop("SIGTERM"), 0);
});

test("a DATA_DIR others can open, and FSYNC=off: the start warns, one line each", async (t) => {
  const dataDir = join(tempDir(t), "shared");
  mkdirSync(dataDir);
  chmodSync(dataDir, 0o755);
  const server = await startServer("start", { DATA_DIR: dataDir, FSYNC: "off" }, { timeoutMs: 60_000 });
  t.after(() => server.stop("SIGKILL"));
  const warnings = server.output().match(/^stampede: warning: .*$/gm) ?? [];
  assert.equal(warnings.length, 2, server.output());
  assert.match(warnings.join("\n"), /shared is open to other users \(mode 755\).*\(fix: chmod 700 /);
  assert.match(warnings.join("\n"), /FSYNC=off: a 202 survives kill -9 of the process but NOT a power loss/);
  assert.equal(await server.stop("SIGTERM"), 0, server.output());
});
