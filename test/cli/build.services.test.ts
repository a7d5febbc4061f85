import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { startServer } from "../helpers/server-process.ts";
import { tempDir } from "../helpers/tmp.ts";
import { eventually } from "../helpers/wait.ts";

/**
 * `npm run build` makes dist/, which bin/stampede.js runs when present (an
 * installed package). tsc copies only what it compiles; this builds into a
 * temporary package and starts it, so a file read at run time (migrations,
 * dashboard pages, Lua scripts) missing from the build fails here.
 */
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("the built package (tsc + copy-assets) starts and serves without the TypeScript sources", async (t) => {
  const pkg = tempDir(t, "stampede-build-");
  const dist = join(pkg, "dist");
  execFileSync(
    join(ROOT, "node_modules/.bin/tsc"),
    ["-p", join(ROOT, "tsconfig.build.json"), "--outDir", dist],
    {
      stdio: "pipe",
    },
  );
  execFileSync(process.execPath, [join(ROOT, "scripts/copy-assets.mjs"), dist]);
  for (const asset of [
    "src/adapters/redis/lua/admit-9.lua",
    "src/adapters/redis/lua/rate-limit-n.lua",
    "src/adapters/redis/lua/includes/redis-time.lua",
    "src/adapters/postgres/migrations",
    "src/ops/dashboard/public",
    "bench/engine/generator/child.js",
  ])
    assert.ok(existsSync(join(dist, asset)), `${asset} is in the build`);
  mkdirSync(join(pkg, "bin"));
  copyFileSync(join(ROOT, "bin/stampede.js"), join(pkg, "bin/stampede.js"));
  copyFileSync(join(ROOT, "package.json"), join(pkg, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(pkg, "node_modules"));

  const server = await startServer(
    "start",
    { DATA_DIR: join(pkg, "data"), ADMIN_TOKEN: "build-test-admin-token-0123456789abcdef" },
    { bin: join(pkg, "bin/stampede.js") },
  );
  t.after(() => server.stop());
  const created = await fetch(`${server.url}/v1/campaigns`, {
    method: "POST",
    headers: {
      authorization: "Bearer build-test-admin-token-0123456789abcdef",
      "content-type": "application/json",
    },
    body: JSON.stringify({ id: "built", name: "Built", stock: 1 }),
  });
  assert.equal(created.status, 201, "the ledger's migrations ran from dist/");
  const claim = await fetch(`${server.url}/v1/campaigns/built/claims`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: "u1" }),
  });
  assert.equal(claim.status, 202);
  // The worker issues it: the ledger's writer thread starts from dist/ too (it once looked for a .ts file).
  const { claimId } = (await claim.json()) as { claimId: string };
  await eventually(
    async () =>
      ((await (await fetch(`${server.url}/v1/claims/${claimId}`)).json()) as { status: string }).status ===
      "issued",
    10_000,
    "the claim issued by the built worker",
  );
  const page = await fetch(`${server.url}/`);
  assert.equal(page.status, 200, "the dashboard's page is in dist/");
  assert.match(await page.text(), /<html/i);

  // `stampede bench` ships too: its generator child and its ceiling server start from dist/.
  const bin = join(pkg, "bin/stampede.js");
  assert.match(execFileSync(process.execPath, [bin, "--help"], { encoding: "utf8" }), /bench/);
  assert.match(execFileSync(process.execPath, [bin, "bench", "--help"], { encoding: "utf8" }), /--ceiling/);
  const ceiling = JSON.parse(
    execFileSync(
      process.execPath,
      [bin, "bench", "--ceiling", "--users", "200", "--concurrency", "20", "--json"],
      {
        encoding: "utf8",
      },
    ),
  ) as { kind: string; answers: { byStatus: Record<string, number> } };
  assert.equal(ceiling.kind, "ceiling");
  assert.deepEqual(ceiling.answers.byStatus, { "410": 200 });
});
