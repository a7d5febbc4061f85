import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { BenchReport } from "../../../bench/engine/report/report.ts";
import { startServer } from "../../helpers/server-process.ts";
import { tempDir } from "../../helpers/tmp.ts";

/**
 * The CI smoke version of the benchmarks: a small spike through the real
 * tool against a real `stampede start`, checking the tool's own verdicts and
 * that its counts add up. Speed is not judged here (see bench/).
 */
const BIN = fileURLToPath(new URL("../../../bin/stampede.js", import.meta.url));
const TOKEN = "smoke-admin-token-0123456789";

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "bench", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

test("2,000 users (+10% re-sends) at once against stampede start: every invariant PASS and the counts add up", async (t) => {
  const dir = tempDir(t);
  const server = await startServer("start", { DATA_DIR: join(dir, "data"), ADMIN_TOKEN: TOKEN });
  t.after(() => server.stop());
  const page = join(dir, "report.html");
  const run = await bench([
    "--target",
    server.url,
    "--admin-token",
    TOKEN,
    "--users",
    "2000",
    "--stock",
    "100",
    "--duplicates",
    "0.1",
    "--json",
    "--out",
    page,
  ]);
  assert.equal(run.code, 0, `bench failed:\n${run.stderr}\n${run.stdout.slice(0, 4000)}`);
  const report = JSON.parse(run.stdout) as BenchReport;

  assert.deepEqual(
    report.invariants.map((i) => [i.id, i.pass]),
    [
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
    ],
  );
  assert.equal(report.pass, true);
  assert.equal(report.load.requests, 2200);
  const s = report.answers.byStatus;
  assert.equal(total(s), 2200, "every request is counted once");
  assert.deepEqual(report.answers.connectionErrors, {});
  assert.equal(s["202"], 100, "exactly the stock is admitted");
  assert.equal((s["202"] ?? 0) + (s["409"] ?? 0) + (s["410"] ?? 0), 2200, "no other answer");
  assert.equal(report.counters?.final?.issued, 100);
  assert.equal(report.counters?.final?.pending, 0);
  assert.equal(report.latency.admission.count, 2200);
  assert.equal(report.latency.admissionToIssued?.count, 100);
  assert.ok(report.latency.admission.p50 <= report.latency.admission.p99);
  assert.ok(report.latency.admission.p99 <= report.latency.admission.max);
  assert.equal(
    report.histogram.reduce((n, b) => n + b.count, 0),
    2200,
  );
  assert.equal(
    report.firing.timeline.reduce((a, b) => a + b, 0),
    2200,
  );
  assert.ok(report.firing.requestsPerSecond > 0);
  assert.equal(report.settle?.quiet, true);

  assert.ok(existsSync(page));
  const html = readFileSync(page, "utf8");
  assert.match(html, /<svg/);
  assert.match(html, /PASS/);
  assert.doesNotMatch(html, /<script/, "the page is self-contained and static");
});

test("the ceiling mode starts its own constant-410 server and answers every request", async () => {
  const run = await bench(["--ceiling", "--users", "2000", "--concurrency", "200", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout) as BenchReport;
  assert.equal(report.kind, "ceiling");
  assert.deepEqual(report.answers.byStatus, { "410": 2000 });
  assert.deepEqual(report.invariants, []);
});

test("an over-issuing server makes the tool exit non-zero with invariant 1 FAIL", async (t) => {
  // A broken stand-in for stampede: it admits everyone, whatever the stock.
  let admitted = 0;
  let stock = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      const now = new Date().toISOString();
      if (req.method === "POST" && req.url === "/v1/campaigns") {
        stock = (JSON.parse(body) as { stock: number }).stock;
        return send(201, { id: "x", stock, issued: 0, pending: 0, remaining: stock });
      }
      if (req.method === "POST") {
        admitted++;
        const { userId } = JSON.parse(body) as { userId: string };
        return send(202, { claimId: `c-${userId}`, userId, status: "pending", admittedAt: now });
      }
      const claim = /^\/v1\/claims\/c-(.+)$/.exec(req.url ?? "");
      if (claim)
        return send(200, {
          claimId: `c-${claim[1]}`,
          userId: claim[1],
          status: "issued",
          couponCode: "C0DE",
          admittedAt: now,
          issuedAt: now,
        });
      return send(200, { id: "x", stock, issued: admitted, pending: 0, remaining: stock - admitted });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  const run = await bench([
    "--target",
    `http://127.0.0.1:${port}`,
    "--admin-token",
    TOKEN,
    "--users",
    "50",
    "--stock",
    "10",
    "--json",
  ]);
  assert.equal(run.code, 1);
  const report = JSON.parse(run.stdout) as BenchReport;
  const first = report.invariants.find((i) => i.id === 1)!;
  assert.equal(first.pass, false);
  assert.match(first.failures.join(), /50 distinct claims were answered 202 for a stock of 10/);
  assert.equal(report.pass, false);
});

test("bench --help lists its own flags; a bad flag exits 2 with one line", async () => {
  const help = await bench(["--help"]);
  assert.equal(help.code, 0);
  for (const flag of [
    "--target",
    "--users",
    "--concurrency",
    "--rate",
    "--duplicates",
    "--json",
    "--out",
    "--ceiling",
  ])
    assert.match(help.stdout, new RegExp(`\\${flag}\\b`));
  const bad = await bench(["--users", "many"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--users: expected an integer/);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});
