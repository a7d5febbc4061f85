import assert from "node:assert/strict";
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { type ServerProcess, startServer } from "./server-process.ts";
import { DATABASE_URL, REDIS_URL, sql, testPrefix, testSchema } from "./services.ts";

/**
 * Distributed mode as separate processes (`stampede api` / `stampede worker`)
 * for spike and fault tests, each cluster with its own key prefix and schema.
 */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

type After = { after: (fn: () => Promise<void> | void) => void };

export interface Cluster {
  env: Record<string, string>;
  prefix: string;
  schema: string;
  apis: ServerProcess[];
  workers: ServerProcess[];
  startApi(): Promise<ServerProcess>;
  startWorker(): Promise<ServerProcess>;
  createCampaign(body: Record<string, unknown>): Promise<void>;
  /** The campaign's claims in PostgreSQL (a database that is reachable again, for outage tests). */
  rows(campaignId: string): Promise<LedgerRow[]>;
}

export interface LedgerRow {
  claim_id: string;
  user_id: string;
  seq: number;
  unit: number;
  coupon_code: string;
  admitted_at: number;
  issued_at: number;
}

export async function startCluster(
  t: After,
  options: {
    apis: number;
    workers: number;
    env?: Record<string, string>;
    redisUrl?: string;
    databaseUrl?: string;
  },
): Promise<Cluster> {
  const prefix = testPrefix(t, "dist", options.redisUrl ?? REDIS_URL);
  const databaseUrl = options.databaseUrl ?? DATABASE_URL;
  const schema = testSchema(t, "dist", databaseUrl);
  const env: Record<string, string> = {
    ADMIN_TOKEN,
    REDIS_URL: options.redisUrl ?? REDIS_URL,
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: prefix,
    DATABASE_SCHEMA: schema,
    LOG_LEVEL: "warn",
    CLAIM_IDLE_MS: "2000",
    LOSS_CHECK_MS: "500",
    BATCH_SIZE: "500",
    SHUTDOWN_TIMEOUT_MS: "5000",
    ...options.env,
  };
  const apis: ServerProcess[] = [];
  const workers: ServerProcess[] = [];
  const all: ServerProcess[] = [];
  t.after(async () => {
    await Promise.all(all.map((p) => p.stop("SIGKILL")));
  });
  const startApi = async () => {
    const p = await startServer("api", env, { timeoutMs: 30_000 });
    all.push(p);
    apis.push(p);
    return p;
  };
  const startWorker = async () => {
    const p = await startServer("worker", env, { timeoutMs: 30_000 });
    all.push(p);
    workers.push(p);
    return p;
  };
  // The first process migrates alone (the others would wait on the migration lock anyway).
  if (options.apis > 0) await startApi();
  await Promise.all([
    ...Array.from({ length: options.apis - 1 }, startApi),
    ...Array.from({ length: options.workers }, startWorker),
  ]);
  return {
    env,
    prefix,
    schema,
    apis,
    workers,
    startApi,
    startWorker,
    async createCampaign(body) {
      const res = await request(apis[0]!.url, "POST", "/v1/campaigns", body, {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    },
    rows: (campaignId) =>
      sql<LedgerRow>(
        `SELECT claim_id, user_id, seq, unit, coupon_code, admitted_at, issued_at
         FROM "${schema}".claims WHERE campaign_id = $1`,
        [campaignId],
        databaseUrl,
      ),
  };
}

/** A claim request for steadyClaims(): the n-th user claims on API process n modulo their number. */
export function claimOn(cluster: Cluster, campaignId: string) {
  return (userId: string, index: number): Promise<Reply> =>
    request(cluster.apis[index % cluster.apis.length]!.url, "POST", `/v1/campaigns/${campaignId}/claims`, {
      userId,
    });
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
  error?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

export function request(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<Reply> {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        timeout: timeoutMs,
        headers: {
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
        res.on("error", (e) => resolve({ status: 0, body: {}, headers: {}, error: e.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, body: {}, headers: {}, error: e.message }));
    req.end(payload);
  });
}

export interface SpikeResult {
  /** The final, definitive answer per user (202/409/410/403/404). */
  answers: Map<string, Reply>;
  /** Every 202 answered, even one a retry later turned into 409. */
  admitted: Map<string, string>;
  /** Answers that were not definitive (503, connection errors), retried. */
  retries: number;
  statuses: Record<string, number>;
  /** Connection-level failures by message (status 0). */
  errors: Record<string, number>;
  /** The longest any single request took to be answered (ms). */
  slowestMs: number;
}

/**
 * Fires one claim per user at a concurrency cap, spreading users over the
 * API processes, and retries what gets no definitive answer (a connection
 * error, a 503 with Retry-After) on the next API, as a real client would.
 */
export async function spike(
  apiUrls: () => string[],
  campaignId: string,
  users: string[],
  options: {
    concurrency: number;
    maxAttempts?: number;
    onAnswer?: (done: number) => void;
    /** Sees every reply, retried ones included, with when its request was sent (performance.now()). */
    onReply?: (userId: string, reply: Reply, sentAt: number) => void;
    /** Awaited before each request: a test holds the spike back while it breaks something. */
    gate?: () => Promise<void> | undefined;
    /** Checked before each new user: true ends the spike early (users not taken get no answer entry). */
    stop?: () => boolean;
  },
): Promise<SpikeResult> {
  const answers = new Map<string, Reply>();
  const admitted = new Map<string, string>();
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let retries = 0;
  let next = 0;
  let done = 0;
  let slowestMs = 0;
  const maxAttempts = options.maxAttempts ?? 60;
  const lane = async () => {
    while (next < users.length && !options.stop?.()) {
      const index = next++;
      const userId = users[index]!;
      for (let attempt = 0; ; attempt++) {
        await options.gate?.();
        const urls = apiUrls();
        const url = urls[(index + attempt) % urls.length]!;
        const sent = performance.now();
        const reply = await request(url, "POST", `/v1/campaigns/${campaignId}/claims`, { userId });
        slowestMs = Math.max(slowestMs, performance.now() - sent);
        options.onReply?.(userId, reply, sent);
        statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
        if (reply.error) errors[reply.error] = (errors[reply.error] ?? 0) + 1;
        if (reply.status === 202) admitted.set(userId, String(reply.body.claimId));
        if ([202, 403, 404, 409, 410].includes(reply.status)) {
          answers.set(userId, reply);
          break;
        }
        assert.ok(
          reply.status === 503 || reply.status === 0,
          `unexpected answer ${reply.status} ${JSON.stringify(reply.body)}`,
        );
        if (attempt + 1 >= maxAttempts)
          throw new Error(`no definitive answer for ${userId}: ${reply.status} ${reply.error ?? ""}`);
        retries++;
        const retryAfter = Number(reply.headers["retry-after"] ?? 0);
        await sleep(Math.min(1000, retryAfter > 0 ? retryAfter * 250 : 100));
      }
      options.onAnswer?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, users.length) }, lane));
  return { answers, admitted, retries, statuses, errors, slowestMs };
}

/**
 * Invariants 1-4 (docs/api.md) against the ledger's rows, once quiet:
 * 1 never over-issued (units distinct, within stock); 2 nobody past the limit;
 * 3 every 202 issued; 4 no lost sales (issued = min(stock, users answered
 * 202/409/410)), and no 410 to a user who holds a claim.
 */
export function checkInvariants(
  rows: LedgerRow[],
  answers: Map<string, Reply>,
  admitted: Map<string, string>,
  campaign: { stock: number; perUserLimit?: number },
): void {
  const limit = campaign.perUserLimit ?? 1;
  assert.ok(rows.length <= campaign.stock, `1: ${rows.length} issued > stock ${campaign.stock}`);
  const units = new Set(rows.map((r) => r.unit));
  assert.equal(units.size, rows.length, "1: a unit issued twice");
  assert.ok(
    rows.every((r) => r.unit >= 1 && r.unit <= campaign.stock),
    "1: a unit outside 1..stock",
  );
  const perUser = new Map<string, number>();
  for (const r of rows) perUser.set(r.user_id, (perUser.get(r.user_id) ?? 0) + 1);
  assert.ok(
    [...perUser.values()].every((n) => n <= limit),
    "2: a user holds more than perUserLimit",
  );
  const issuedIds = new Set(rows.map((r) => r.claim_id));
  for (const [user, claimId] of admitted)
    assert.ok(issuedIds.has(claimId), `3: the 202 of ${user} (${claimId}) was not issued`);
  for (const [user, reply] of answers) {
    if (reply.status === 409)
      assert.ok(issuedIds.has(String(reply.body.claimId)), `3: the 409 of ${user} names no issued claim`);
    if (reply.status === 410) assert.ok(!perUser.has(user), `4: ${user} holds a claim but was answered 410`);
  }
  const decided = [...answers.values()].filter((r) => [202, 409, 410].includes(r.status)).length;
  assert.equal(rows.length, Math.min(campaign.stock, decided), "4: issued != min(stock, users answered)");
}
