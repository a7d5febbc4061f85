import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { withoutSettings } from "../../src/config/config.ts";
import { freePort } from "../helpers/net.ts";
import { tempDir } from "../helpers/tmp.ts";

/**
 * The package as a user gets it (e2e tier: slow, it packs, installs from the
 * registry's cache and starts a server). `npm pack` runs prepack (a fresh
 * dist/ with .d.ts), the tarball is installed into an empty folder with Node
 * 24 first on PATH, and there:
 * - `npx stampede --version` and `npx stampede start` run from dist/ (the
 *   package has no src/), with a task module importing `stampede/tasks` from
 *   the installed package (TASK_MODULES);
 * - a claim is made over HTTP with the installed `stampede/client`, and the
 *   task runs through the server;
 * - a TypeScript file using both entry points type-checks against the
 *   emitted declarations.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
const ADMIN = "package-test-admin-token-0123456789abcdef";
// Node 24 (this process's) first, so that npm, npx and the bin all run on it.
const PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`;

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, {
    cwd,
    env: { ...withoutSettings(process.env), PATH },
    encoding: "utf8",
    stdio: "pipe",
    timeout: 180_000,
  });
/** The same, without blocking this process (whose event loop drains the server's output meanwhile). */
const runAsync = async (command: string, args: string[], cwd: string) =>
  (
    await promisify(execFile)(command, args, {
      cwd,
      env: { ...withoutSettings(process.env), PATH },
      encoding: "utf8",
      timeout: 60_000,
    })
  ).stdout;

test("npm pack, install the tarball into an empty folder, npx stampede start, claim, a task module on stampede/tasks", {
  timeout: 280_000,
}, async (t) => {
  const work = tempDir(t, "stampede-package-");
  run("npm", ["pack", "--pack-destination", work, "--loglevel=error"], ROOT);
  const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
  assert.ok(tarball, "npm pack made a tarball");
  const files = run("tar", ["-tzf", join(work, tarball)], work).split("\n");
  for (const file of [
    "package/bin/stampede.js",
    "package/dist/src/cli/main.js",
    "package/dist/src/client/index.js",
    "package/dist/src/client/index.d.ts",
    "package/dist/src/services/tasks/index.d.ts",
    "package/dist/src/adapters/redis/lua/admit-9.lua",
    "package/CHANGELOG.md",
  ])
    assert.ok(files.includes(file), `${file} is in the package`);
  assert.deepEqual(
    files.filter((f) => f.startsWith("package/src/") || f.startsWith("package/test/") || f.endsWith(".map")),
    [],
    "no sources, tests or source maps",
  );

  const app = join(work, "app");
  execFileSync("mkdir", [app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  run(
    "npm",
    ["install", join(work, tarball), "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
    app,
  );
  assert.ok(!existsSync(join(app, "node_modules/stampede/src")), "the installed package has no src/");
  assert.equal(run("npx", ["stampede", "--version"], app).trim(), PKG.version);

  writeFileSync(
    join(app, "tasks.js"),
    `import { defineTask } from "stampede/tasks";
export const greet = defineTask("greet", { type: "object", required: ["name"], properties: { name: { type: "string" } } },
  async ({ payload, attempt }) => ({ hello: payload.name, attempt }));
`,
  );
  writeFileSync(
    join(app, "claim.js"),
    `import { StampedeClient } from "stampede/client";
const client = new StampedeClient({ baseUrl: process.argv[2] });
const result = await client.claim(process.argv[3], process.argv[4]);
const watched = [];
const signal = AbortSignal.timeout(30_000);
if (result.ok) for await (const claim of client.watch(result.claimId, { signal })) watched.push(claim.status);
console.log(JSON.stringify({ result, watched }));
`,
  );
  writeFileSync(
    join(app, "typed.ts"),
    `import { type ClaimResult, StampedeClient, type StampedeClientError } from "stampede/client";
import { defineTask, PermanentTaskError, type TaskContext } from "stampede/tasks";
const client = new StampedeClient({ baseUrl: "http://127.0.0.1:8080", token: () => "t" });
export async function tryClaim(): Promise<string> {
  const result: ClaimResult = await client.claim("drop", "alice", { deadlineMs: 5000 });
  if (result.ok) return result.claimId;
  const error: StampedeClientError = result.error;
  if (error.code === "sold_out" || error.code === "network_error") return error.message;
  return String(error.retryAfterMs);
}
export const task = defineTask<{ n: number }, number>("double", { type: "object" }, async (ctx: TaskContext<{ n: number }>) => {
  if (ctx.payload.n < 0) throw new PermanentTaskError("negative");
  return ctx.payload.n * 2;
});
`,
  );
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2024",
        module: "nodenext",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        typeRoots: [join(ROOT, "node_modules/@types")],
        types: ["node"],
      },
      files: ["typed.ts"],
    }),
  );
  run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", app], app);

  const port = await freePort();
  const child = spawn("npx", ["stampede", "start"], {
    cwd: app,
    env: {
      ...withoutSettings(process.env),
      PATH,
      PORT: String(port),
      DATA_DIR: join(work, "data"),
      ADMIN_TOKEN: ADMIN,
      TASK_MODULES: "./tasks.js",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // npx runs the bin in a child of its own: stop the whole group
  });
  t.after(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; !/listening on/.test(output); waited += 100) {
    assert.ok(waited < 60_000 && child.exitCode === null, `npx stampede start did not listen:\n${output}`);
    await sleep(100);
  }

  const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const created = await fetch(`${url}/v1/campaigns`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ id: "packed", name: "Packed", stock: 3 }),
  });
  assert.equal(created.status, 201, await created.clone().text());

  const claimed = JSON.parse(await runAsync(process.execPath, ["claim.js", url, "packed", "alice"], app)) as {
    result: { ok: boolean; outcome: string; claimId: string };
    watched: string[];
  };
  assert.equal(claimed.result.ok, true, JSON.stringify(claimed));
  assert.equal(claimed.result.outcome, "admitted");
  assert.equal(claimed.watched.at(-1), "issued");
  const claim = (await (await fetch(`${url}/v1/claims/${claimed.result.claimId}`)).json()) as {
    status: string;
  };
  assert.equal(claim.status, "issued");

  const submitted = await fetch(`${url}/v1/tasks`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({ type: "greet", payload: { name: "package" } }),
  });
  assert.equal(submitted.status, 202, await submitted.clone().text());
  const { taskId } = (await submitted.json()) as { taskId: string };
  let task: { status: string; result?: unknown } = { status: "queued" };
  for (let waited = 0; task.status !== "succeeded" && waited < 20_000; waited += 100) {
    await sleep(100);
    task = (await (await fetch(`${url}/v1/tasks/${taskId}`, { headers: admin })).json()) as typeof task;
    assert.notEqual(task.status, "failed", JSON.stringify(task));
  }
  assert.deepEqual(task.result, { hello: "package", attempt: 1 });
});
