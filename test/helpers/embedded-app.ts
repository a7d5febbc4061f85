import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { type Config, loadConfig } from "../../src/config/config.ts";
import type { RateLimitOptions } from "../../src/domain/rate-policy.ts";
import { type ApiParts, type AppOps, type AppOptions, buildApp } from "../../src/http/app.ts";
import { type EmbeddedOverrides, type EmbeddedRuntime, openEmbedded } from "../../src/runtime/embedded.ts";
import type { Services } from "../../src/services/index.ts";
import { tempDir } from "./tmp.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface TestApp {
  app: FastifyInstance;
  runtime: EmbeddedRuntime;
  dataDir: string;
}

/** The settings a test names most, by their old option names; `settings` for any other. */
export interface EmbeddedTestOptions extends EmbeddedOverrides {
  dataDir?: string;
  batchSize?: number;
  flushIntervalMs?: number;
  requestTimeoutMs?: number;
  fsync?: Config["FSYNC"];
  ledgerWriter?: Config["LEDGER_WRITER"];
  /** RATE_LIMIT_USER / RATE_LIMIT_IP; off unless given. */
  rateLimit?: RateLimitOptions;
  userTokenSecret?: string;
  settings?: Partial<Config>;
}

/**
 * A configuration for openEmbedded in tests: the defaults, the test admin
 * token, small batches, no fsync, no rate limit; `settings` on top.
 */
export function embeddedConfig(settings: Partial<Config> & Pick<Config, "DATA_DIR">): Config {
  return {
    ...loadConfig({}),
    ADMIN_TOKEN,
    BATCH_SIZE: 100,
    FLUSH_INTERVAL_MS: 1,
    FSYNC: "off",
    RATE_LIMIT_USER: undefined,
    ...settings,
  };
}

/** What a test may swap in the parts the runtime hands buildApp. */
export interface PartsOverride {
  services?: Partial<Services>;
  ops?: Partial<AppOps>;
}

/** The runtime's parts with some services or ops swapped. */
function withParts(parts: ApiParts, override: PartsOverride = {}): ApiParts {
  return {
    ...parts,
    services: { ...parts.services, ...override.services },
    ops: { ...parts.ops, ...override.ops },
  };
}

/**
 * An embedded stampede in this process, for inject() tests. Closed when the
 * test ends. `requestTimeoutMs` goes to both the runtime and the app.
 */
export async function embeddedApp(
  t: { after: (fn: () => Promise<void> | void) => void },
  options: EmbeddedTestOptions & PartsOverride & { app?: AppOptions } = {},
): Promise<TestApp> {
  const dataDir = options.dataDir ?? tempDir(t);
  const given = (entries: Partial<Config>) =>
    Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<Config>;
  const config = embeddedConfig({
    DATA_DIR: dataDir,
    ...given({
      BATCH_SIZE: options.batchSize,
      FLUSH_INTERVAL_MS: options.flushIntervalMs,
      REQUEST_TIMEOUT_MS: options.requestTimeoutMs,
      FSYNC: options.fsync,
      LEDGER_WRITER: options.ledgerWriter,
      USER_TOKEN_SECRET: options.userTokenSecret,
    }),
    RATE_LIMIT_USER: options.rateLimit?.user,
    RATE_LIMIT_IP: options.rateLimit?.ip,
    ...options.settings,
  });
  const runtime = await openEmbedded(config, pino({ level: "silent" }), options);
  const app = await buildApp(withParts(runtime.api, options), {
    requestTimeoutMs: options.requestTimeoutMs,
    ...options.app,
  });
  t.after(async () => {
    await app.close();
    await runtime.close();
  });
  return { app, runtime, dataDir };
}

/** Creates a campaign through the API and returns its body. */
export async function createCampaign(app: FastifyInstance, body: Record<string, unknown>) {
  const res = await app.inject({ method: "POST", url: "/v1/campaigns", headers: admin, payload: body });
  if (res.statusCode !== 201) throw new Error(`create campaign: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string };
}

/** An inject() answer in the contract's error shape: the status, the code, a message. */
export function assertError(res: { statusCode: number; json: () => unknown }, status: number, code: string) {
  assert.equal(res.statusCode, status);
  const body = res.json() as { error: string; message: string };
  assert.equal(body.error, code);
  assert.equal(typeof body.message, "string");
  assert.ok(body.message.length > 0);
}
