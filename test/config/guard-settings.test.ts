import assert from "node:assert/strict";
import { test } from "node:test";
import { httpOptions } from "../../src/cli/http-options.ts";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { runCli } from "../helpers/cli.ts";

test("protection defaults: 5/s per user, no per-address limit, no trusted proxy, overload guard on", () => {
  const config = loadConfig({});
  assert.deepEqual(config.RATE_LIMIT_USER, { intervalMs: 200, burst: 5, text: "5/s" });
  assert.equal(config.RATE_LIMIT_IP, undefined);
  assert.equal(config.TRUST_PROXY, false);
  assert.equal(config.MAX_HEADER_BYTES, 16 * 1024);
  const { overload, trustProxy, maxHeaderBytes } = httpOptions(config);
  assert.equal(trustProxy, false);
  assert.equal(maxHeaderBytes, 16 * 1024);
  assert.equal(overload?.maxEventLoopDelayMs, 5000);
  assert.ok((overload?.maxHeapUsedBytes ?? 0) > 100 * 2 ** 20, "a heap threshold near the V8 limit");
  assert.equal(overload?.maxRssBytes, 0);
});

test("rates, proxies and thresholds parse; bad ones are refused naming the setting", () => {
  const c = loadConfig({
    RATE_LIMIT_USER: "off",
    RATE_LIMIT_IP: "600/m:50",
    TRUST_PROXY: "10.0.0.0/8, 127.0.0.1",
  });
  assert.equal(c.RATE_LIMIT_USER, undefined);
  assert.deepEqual(c.RATE_LIMIT_IP, { intervalMs: 100, burst: 50, text: "600/m:50" });
  assert.equal(c.TRUST_PROXY, "10.0.0.0/8,127.0.0.1");
  assert.equal(loadConfig({ TRUST_PROXY: "2" }).TRUST_PROXY, 2);
  assert.equal(loadConfig({ TRUST_PROXY: "loopback,::1" }).TRUST_PROXY, "loopback,::1");
  assert.equal(loadConfig({ TRUST_PROXY: "off" }).TRUST_PROXY, false);
  assert.equal(loadConfig({ USER_TOKEN_SECRET: "s".repeat(32) }).USER_TOKEN_SECRET, "s".repeat(32));
  const bad: [NodeJS.ProcessEnv, string][] = [
    [{ RATE_LIMIT_USER: "lots" }, "RATE_LIMIT_USER"],
    [{ RATE_LIMIT_IP: "5/day" }, "RATE_LIMIT_IP"],
    [{ TRUST_PROXY: "my-proxy" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "10.0.0.0/8/1" }, "TRUST_PROXY"],
    [{ MAX_HEADER_BYTES: "10" }, "MAX_HEADER_BYTES"],
    [{ OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: "-1" }, "OVERLOAD_MAX_EVENT_LOOP_DELAY_MS"],
    [{ OVERLOAD_MAX_HEAP_MB: "lots" }, "OVERLOAD_MAX_HEAP_MB"],
    [{ USER_TOKEN_SECRET: "too-short" }, "USER_TOKEN_SECRET"],
  ];
  for (const [env, name] of bad)
    assert.throws(
      () => loadConfig(env),
      (e: Error) => e instanceof ConfigError && e.setting === name && !e.message.includes("\n"),
      name,
    );
});

test("stampede start refuses a bad rate in one line, exit status 2", async () => {
  const run = await runCli(["start", "--rate-limit-user", "fast"], {
    DATA_DIR: "/nonexistent-never-created",
  });
  assert.equal(run.status, 2);
  assert.equal(run.stderr.trim().split("\n").length, 1);
  assert.match(run.stderr, /RATE_LIMIT_USER/);
});
