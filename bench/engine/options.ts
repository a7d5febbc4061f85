/**
 * `stampede bench`'s own flags (it is a client, not a server: stampede's
 * settings table does not apply to it, except PORT/HOST/LISTEN_BACKLOG for
 * --serve-ceiling). A bad flag is one line naming it, exit status 2.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type FlagTable, flagHelp, int, parseFlags, UsageError } from "./flags.ts";
import { minUserIdLength } from "./generator/plan.ts";

export { UsageError };

export interface BenchOptions {
  targets: string[];
  users: number;
  stock: number;
  perUserLimit: number;
  /** shards of that campaign (docs/scaling.md "Hot campaign: shards"); 1 = none. */
  shards: number;
  /** Infinity = all at once (one connection per request). */
  concurrency: number;
  rate: number | undefined;
  duplicates: number;
  idempotencyKeys: boolean;
  userIdLength: number;
  campaignId: string | undefined;
  adminToken: string | undefined;
  timeoutMs: number;
  answerBoundMs: number;
  retries: number;
  maxRetryWaitMs: number;
  settleTimeoutMs: number;
  verifyUsers: number;
  sampleIntervalMs: number;
  databaseUrl: string | undefined;
  databaseSchema: string;
  json: boolean;
  out: string | undefined;
  ceiling: boolean;
  serveCeiling: boolean;
  progress: boolean;
  seed: number;
  warmup: number;
  /** Also summarize admission latency per window of this many ms (a soak's minutes). */
  latencyWindowMs: number | undefined;
  help: boolean;
}

const FLAGS: FlagTable = {
  target: {
    type: "string",
    multiple: true,
    doc: "stampede URL; repeat for several API instances",
    default: "http://127.0.0.1:8080",
  },
  users: { type: "string", doc: "distinct users, one claim each", default: "10000" },
  stock: { type: "string", doc: "stock of the campaign the run creates", default: "100" },
  "per-user-limit": { type: "string", doc: "perUserLimit of that campaign", default: "1" },
  shards: {
    type: "string",
    doc: "shards of that campaign (1-16; distributed mode splits its stock over that many Redis slots)",
    default: "1",
  },
  concurrency: {
    type: "string",
    doc: "requests in flight (all = every request at once, one connection each; with --rate: the cap)",
    default: "all",
  },
  rate: {
    type: "string",
    doc: "fixed rate in requests/s instead of fixed concurrency; latency counts from each request's due time",
    shown: "(off)",
  },
  duplicates: {
    type: "string",
    doc: "share of re-sends: 0.1 adds 10% more requests from users who already asked",
    default: "0",
  },
  "idempotency-keys": {
    type: "boolean",
    doc: "send Idempotency-Key: k-<userId>, so a re-send is an exact repeat",
    shown: "off",
  },
  "user-id-length": { type: "string", doc: "characters per user id", default: "16" },
  campaign: { type: "string", doc: "id of the campaign to create", shown: "bench-<random>" },
  "admin-token": {
    type: "string",
    doc: "admin token (else $ADMIN_TOKEN, else $DATA_DIR/admin-token)",
  },
  timeout: { type: "string", doc: "ms before the generator gives up on one request", default: "30000" },
  "answer-bound": {
    type: "string",
    doc: "ms within which every request must be answered (invariant 5)",
    default: "10000",
  },
  retries: { type: "string", doc: "retries of a 429/503 after its Retry-After", default: "3" },
  "max-retry-wait": { type: "string", doc: "ms, cap on one Retry-After wait", default: "10000" },
  "settle-timeout": {
    type: "string",
    doc: "ms to wait for every admitted claim to be issued",
    default: "120000",
  },
  "verify-users": {
    type: "string",
    doc: "users who re-sent whose claim list is read back (admin route)",
    default: "1000",
  },
  "sample-interval": {
    type: "string",
    doc: "ms between reads of the campaign counters (invariant 1)",
    default: "50",
  },
  "database-url": {
    type: "string",
    doc: "also check the PostgreSQL ledger rows (needs the pg package)",
    shown: "(off)",
  },
  "database-schema": { type: "string", doc: "schema of the ledger tables", default: "stampede" },
  json: { type: "boolean", doc: "print the report as JSON on stdout", shown: "off" },
  out: { type: "string", doc: "also write a self-contained HTML report to this file", shown: "(off)" },
  ceiling: {
    type: "boolean",
    doc: "bench the in-repo constant-410 server instead (started here unless --target is given)",
    shown: "off",
  },
  "serve-ceiling": {
    type: "boolean",
    doc: "run the constant-410 server in the foreground (PORT, HOST, LISTEN_BACKLOG as stampede)",
    shown: "off",
  },
  "no-progress": { type: "boolean", doc: "no progress bar (there is none off a TTY anyway)", shown: "off" },
  seed: { type: "string", doc: "seed of the re-send order", default: "1" },
  warmup: {
    type: "string",
    doc: "requests fired first (at concurrency 100, on a campaign of their own) and not measured: JIT warm-up",
    default: "0",
  },
  "latency-window": {
    type: "string",
    doc: "ms; also report admission latency per window of this length, by when each request was due (soak)",
    shown: "(off)",
  },
  help: { type: "boolean", short: "h", doc: "this text" },
};

export function benchHelp(): string {
  return `${[
    "Usage: stampede bench [--flag value ...]",
    "",
    "Creates a campaign, fires claims from N distinct users at one or more stampede URLs, waits until",
    "every admitted claim is issued, checks invariants 1-5 (docs/api.md) and prints a report. Exit status 0 when",
    "every invariant holds, 1 when one failed, 2 for a bad flag.",
    "",
    "Flags:",
    ...flagHelp(FLAGS),
    "",
    "Examples:",
    "  stampede bench                                   # 10,000 users at once, stock 100, http://127.0.0.1:8080",
    "  stampede bench --users 100000 --stock 100000 --concurrency 500 --out report.html",
    "  stampede bench --ceiling --users 100000 --concurrency 500   # the same load against a constant 410",
    "  stampede bench --target http://127.0.0.1:8081 --target http://127.0.0.1:8082 --duplicates 0.1",
  ].join("\n")}\n`;
}

export function parseBenchArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const v = parseFlags(argv, FLAGS);
  // Flags with a default in FLAGS always have a value here.
  const str = (name: string) => v[name] as string | undefined;
  const value = (name: string) => v[name] as string;
  const bool = (name: string) => v[name] === true;
  const optionalInt = (name: string, min: number, max?: number) =>
    str(name) === undefined ? undefined : int(name, value(name), min, max);

  const users = int("users", value("users"), 1, 100_000_000);
  const concurrencyRaw = value("concurrency");
  const concurrency =
    concurrencyRaw === "all" ? Number.POSITIVE_INFINITY : int("concurrency", concurrencyRaw, 1, 1_000_000);
  const rate = optionalInt("rate", 1, 10_000_000);
  const duplicates = Number(value("duplicates"));
  if (!Number.isFinite(duplicates) || duplicates < 0 || duplicates > 10)
    throw new UsageError(`--duplicates: expected a share between 0 and 10, got "${value("duplicates")}"`);
  const userIdLength = int("user-id-length", value("user-id-length"), 2, 128);
  if (userIdLength < minUserIdLength(users))
    throw new UsageError(
      `--user-id-length: ${users} users need ids of at least ${minUserIdLength(users)} characters`,
    );
  const targets = v.target as string[];
  for (const target of targets) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new UsageError(`--target: not a URL: "${target}"`);
    }
    if (url.protocol !== "http:")
      throw new UsageError(`--target: only http:// targets are supported, got "${target}"`);
  }
  const campaignId = str("campaign");
  if (campaignId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(campaignId))
    throw new UsageError("--campaign: 1-64 characters of [A-Za-z0-9_-]");

  return {
    targets: targets.map((t) => t.replace(/\/+$/, "")),
    users,
    stock: int("stock", value("stock"), 1, 1_000_000_000),
    perUserLimit: int("per-user-limit", value("per-user-limit"), 1, 1000),
    shards: int("shards", value("shards"), 1, 16),
    concurrency: rate !== undefined && concurrencyRaw === "all" ? 2000 : concurrency,
    rate,
    duplicates,
    idempotencyKeys: bool("idempotency-keys"),
    userIdLength,
    campaignId,
    adminToken: str("admin-token") ?? env.ADMIN_TOKEN ?? readStoredToken(env.DATA_DIR ?? "./data"),
    timeoutMs: int("timeout", value("timeout"), 100),
    answerBoundMs: int("answer-bound", value("answer-bound"), 1),
    retries: int("retries", value("retries"), 0, 100),
    maxRetryWaitMs: int("max-retry-wait", value("max-retry-wait"), 0),
    settleTimeoutMs: int("settle-timeout", value("settle-timeout"), 0),
    verifyUsers: int("verify-users", value("verify-users"), 0),
    sampleIntervalMs: int("sample-interval", value("sample-interval"), 5),
    databaseUrl: str("database-url"),
    databaseSchema: value("database-schema"),
    json: bool("json"),
    out: str("out"),
    ceiling: bool("ceiling"),
    serveCeiling: bool("serve-ceiling"),
    progress: !bool("no-progress"),
    seed: int("seed", value("seed"), 0, 2 ** 32 - 1),
    warmup: int("warmup", value("warmup"), 0, 10_000_000),
    latencyWindowMs: optionalInt("latency-window", 100),
    help: bool("help"),
  };
}

function readStoredToken(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, "admin-token"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
