import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { countBy, pool, sampleUntilStopped } from "./load.ts";
import { type FinalAnswer, retryingClient } from "./retrying-client.ts";

/**
 * Issue 16's holds scenarios (docs/api.md "Holds"), written against the HTTP
 * API only, so that every mode runs the same ones: give them a base URL (or a
 * function naming the live one, for restarts), the admin token, and a way to
 * read the campaign's rows from the ledger (embeddedLedgerRows below;
 * distributed mode reads PostgreSQL's claims table into the same shape).
 *
 * - holdsLoad: users claim a stock of holds; 60% confirm at random moments,
 *   20% release, 20% let theirs expire; a second wave takes the returned
 *   units; invariants checked from frequent samples and the ledger.
 * - holdsRace: confirms sent within 50 ms either side of expiresAt.
 * - HoldsClient: claim/confirm/release that retry what is not definitive
 *   (503, a connection cut by a kill) as a client does.
 */

/** A claim's row in the ledger, every status (times epoch ms). */
export interface LedgerRow {
  claimId: string;
  userId: string;
  unit: number;
  status: "held" | "issued" | "expired" | "released";
  /** When admission decided it (optional: a reader may leave it out). */
  admittedAt?: number;
  expiresAt: number | null;
  issuedAt: number | null;
  endedAt: number | null;
}

/** What a request was answered, once definitive. */
export interface HoldAnswer {
  status: number;
  body: Record<string, unknown>;
  claimId?: string;
  /** The claim's status in the body (pending, issued, released, expired...). */
  claimStatus?: string;
  /** Epoch ms. */
  expiresAt?: number;
  /** How many times it was sent (1 unless a 503 or a cut connection made the client retry). */
  attempts: number;
}

export interface CampaignCounters {
  stock: number;
  issued: number;
  pending: number;
  held: number;
  remaining: number;
}

/** Statuses that end a request; anything else (503, a connection error) is sent again. */
const DEFINITIVE = new Set([200, 201, 202, 400, 403, 404, 409, 410]);

export interface HoldsClient {
  claim(campaignId: string, userId: string): Promise<HoldAnswer>;
  confirm(claimId: string): Promise<HoldAnswer>;
  release(claimId: string): Promise<HoldAnswer>;
  /** The campaign's counters, or undefined when it cannot be read now. */
  counters(campaignId: string): Promise<CampaignCounters | undefined>;
  /** Creates a campaign (admin); throws unless 201. */
  createCampaign(body: Record<string, unknown>): Promise<void>;
  close(): void;
}

/**
 * A client of one stampede API (`baseUrl`: a URL, or a function returning
 * the one to use now). Requests that get no definitive answer are retried
 * for up to `retryForMs`, as a client that lost its answer does.
 */
export function holdsClient(
  baseUrl: string | (() => string),
  adminToken: string,
  options: { retryForMs?: number; maxSockets?: number } = {},
): HoldsClient {
  const { http: client, send: sendUntilFinal, close } = retryingClient(baseUrl, DEFINITIVE, options);
  const admin = { authorization: `Bearer ${adminToken}` };
  const send = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    toHoldAnswer(await sendUntilFinal(method, path, body, headers));

  return {
    claim: (campaignId, userId) => send("POST", `/v1/campaigns/${campaignId}/claims`, { userId }),
    confirm: (claimId) => send("POST", `/v1/claims/${claimId}/confirm`, undefined, admin),
    release: (claimId) => send("POST", `/v1/claims/${claimId}/release`, undefined, admin),
    async counters(campaignId) {
      const answer = await client().request({ method: "GET", path: `/v1/campaigns/${campaignId}` }, 5000);
      if (answer.status !== 200) return undefined;
      const b = answer.body as Record<string, number>;
      return {
        stock: b.stock!,
        issued: b.issued!,
        pending: b.pending!,
        held: b.held ?? 0,
        remaining: b.remaining!,
      };
    },
    async createCampaign(body) {
      const answer = await send("POST", "/v1/campaigns", body, admin);
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
    },
    close,
  };
}

function toHoldAnswer(answer: FinalAnswer): HoldAnswer {
  const b = answer.body;
  return {
    status: answer.status,
    body: b,
    claimId: typeof b.claimId === "string" ? b.claimId : undefined,
    claimStatus: typeof b.status === "string" ? b.status : undefined,
    expiresAt: typeof b.expiresAt === "string" ? Date.parse(b.expiresAt) : undefined,
    attempts: answer.attempts,
  };
}

/** The embedded mode's ledger (DATA_DIR/ledger.sqlite), read-only, every claim of the campaign. */
export function embeddedLedgerRows(dataDir: string, campaignId: string): LedgerRow[] {
  const db = new DatabaseSync(join(dataDir, "ledger.sqlite"), { readOnly: true });
  try {
    return db
      .prepare(
        `SELECT claim_id AS claimId, user_id AS userId, unit, status, admitted_at AS admittedAt, expires_at AS expiresAt,
                issued_at AS issuedAt, ended_at AS endedAt
         FROM claims WHERE campaign_id = ?`,
      )
      .all(campaignId) as unknown as LedgerRow[];
  } finally {
    db.close();
  }
}

/**
 * Reads the campaign every `everyMs` until stopped; a sample with
 * `issued + pending + held > stock` (invariant 1 with holds) is kept.
 */
export function counterSampler(client: HoldsClient, campaignId: string, everyMs = 20) {
  return sampleUntilStopped(
    () => client.counters(campaignId),
    (c) => c.issued + c.pending + c.held > c.stock || c.remaining < 0,
    everyMs,
  );
}

/** Polls the ledger until `done(rows)`; fails after `timeoutMs`. */
export async function ledgerSettles(
  rows: () => LedgerRow[] | Promise<LedgerRow[]>,
  done: (rows: LedgerRow[]) => boolean,
  timeoutMs = 30_000,
): Promise<LedgerRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await rows();
    if (done(current)) return current;
    if (Date.now() > deadline)
      assert.fail(`the ledger did not settle: ${JSON.stringify(countBy(current, (r) => r.status))}`);
    await sleep(100);
  }
}

/** The active claims (held, issued) hold each unit at most once, all within 1..stock. */
export function assertUnitsOnce(rows: readonly LedgerRow[], stock: number): void {
  const active = rows.filter((r) => r.status === "held" || r.status === "issued");
  const units = active.map((r) => r.unit);
  assert.equal(new Set(units).size, units.length, "no unit held by two active claims");
  assert.ok(
    units.every((u) => u >= 1 && u <= stock),
    "every unit within 1..stock",
  );
}

export type Fate = "confirm" | "release" | "expire";

/** The fate of the `i`-th admitted hold, by admission order: 3 in 5 confirm, 1 releases, 1 lets it expire. */
export const fateOf = (i: number): Fate => (i % 5 < 3 ? "confirm" : i % 5 === 3 ? "release" : "expire");

export interface HoldsLoadOptions {
  campaignId: string;
  users: number;
  stock: number;
  holdSeconds: number;
  rows: () => LedgerRow[] | Promise<LedgerRow[]>;
  log: (message: string) => void;
  /** Requests in flight at once in the first wave (default 200). */
  concurrency?: number;
}

export interface HoldsLoadFigures {
  durationMs: number;
  admitted: number;
  confirmedFirst: number;
  released: number;
  expired: number;
  secondWave: number;
  secondWaveAttempts: number;
  samples: number;
  latestExpiryMs: number;
}

/**
 * The load test of issue 16. The campaign must not exist yet; it is created
 * with `holdSeconds` (the server's HOLD_MIN_SECONDS must allow it) and no
 * rate limit should hold the users back (RATE_LIMIT_USER=off).
 *
 * First wave: `users` claim at once; exactly `stock` are held. Of the holds,
 * 60% confirm and 20% release at random moments of their hold, 20% let it
 * expire. Second wave, from the first release on: the refused users keep
 * claiming (a few lanes, each trying the next user) until the returned
 * units are all taken again, and confirm at once. Checked: exactly `stock`
 * issued, `issued + pending + held <= stock` in every sample, every confirm
 * answered 200 issued once (and its repeat the same), every release 200
 * released, no expired or released hold ever issued, every unit once among
 * the active claims, every expiry within a second of its expiresAt.
 */
export async function holdsLoad(client: HoldsClient, o: HoldsLoadOptions): Promise<HoldsLoadFigures> {
  const { campaignId, users, stock, holdSeconds } = o;
  await client.createCampaign({ id: campaignId, name: "Holds load", stock, holdSeconds });
  const holdMs = holdSeconds * 1000;
  const started = performance.now();
  const sampler = counterSampler(client, campaignId);
  const ids = Array.from({ length: users }, (_, i) => `user-${i}`);

  const wave1 = await pool(ids, o.concurrency ?? 200, (u) => client.claim(campaignId, u));
  const admitted = wave1.filter((a) => a.status === 202);
  const byStatus = countBy(wave1, (a) => a.status);
  o.log(`first wave: ${JSON.stringify(byStatus)} in ${Math.round(performance.now() - started)} ms`);
  assert.equal(admitted.length, stock, `the whole stock is held: ${JSON.stringify(byStatus)}`);
  assert.equal(byStatus[410], users - stock, "everyone else: sold_out");
  for (const a of admitted) {
    assert.equal(a.claimStatus, "pending");
    assert.ok(a.claimId && a.expiresAt, JSON.stringify(a.body));
  }

  const fates = new Map<string, Fate>();
  for (const [i, a] of admitted.entries()) fates.set(a.claimId!, fateOf(i));
  const target = [...fates.values()].filter((f) => f !== "confirm").length;

  // Second wave, running while units come back.
  const refused = ids.filter((_, i) => wave1[i]!.status === 410);
  const second: HoldAnswer[] = [];
  const secondConfirms: HoldAnswer[] = [];
  let secondAttempts = 0;
  let nextUser = 0;
  const lastExpiry = Math.max(...admitted.map((a) => a.expiresAt!));
  const waveDeadline = lastExpiry + 10_000;
  const lanes = Array.from({ length: 20 }, async () => {
    while (second.length < target && Date.now() < waveDeadline) {
      const userId = refused[nextUser++ % refused.length]!;
      secondAttempts++;
      const answer = await client.claim(campaignId, userId);
      if (answer.status === 202) {
        second.push(answer);
        secondConfirms.push(await client.confirm(answer.claimId!));
      } else {
        assert.ok(answer.status === 410 || answer.status === 409, JSON.stringify(answer.body));
        await sleep(25);
      }
    }
  });

  // First wave's decisions, each at a random moment of its hold (not in its last 10%).
  const decisions = new Map<string, HoldAnswer>();
  const firstWave = Promise.all(
    admitted.map(async (a) => {
      const fate = fates.get(a.claimId!)!;
      if (fate === "expire") return;
      const at = a.expiresAt! - holdMs + Math.random() * holdMs * 0.9;
      await sleep(Math.max(0, at - Date.now()));
      decisions.set(
        a.claimId!,
        await (fate === "confirm" ? client.confirm(a.claimId!) : client.release(a.claimId!)),
      );
    }),
  );
  await Promise.all([firstWave, ...lanes]);
  assert.equal(second.length, target, `the returned units are all taken again (${secondAttempts} tries)`);

  let confirmedFirst = 0;
  for (const [claimId, answer] of decisions) {
    const fate = fates.get(claimId)!;
    assert.deepEqual(
      [answer.status, answer.claimStatus],
      [200, fate === "confirm" ? "issued" : "released"],
      `${fate} of ${claimId}: ${JSON.stringify(answer.body)}`,
    );
    if (fate === "confirm") {
      confirmedFirst++;
      assert.ok(answer.body.couponCode, "a confirmation shows the coupon code");
    }
  }
  for (const c of secondConfirms) assert.deepEqual([c.status, c.claimStatus], [200, "issued"]);
  // A repeat of every confirmation answers the same, once more.
  const confirmed = [...decisions].filter(([id]) => fates.get(id) === "confirm");
  const repeats = await pool(confirmed, 50, ([id]) => client.confirm(id));
  confirmed.forEach(([id, first], i) => {
    assert.equal(repeats[i]!.status, 200, `repeat of ${id}`);
    assert.equal(repeats[i]!.body.couponCode, first.body.couponCode);
  });

  // Quiet: the ledger holds every decision; the counters read the stock issued.
  const all = new Map(fates);
  for (const a of second) all.set(a.claimId!, "confirm");
  const rows = await ledgerSettles(
    o.rows,
    (r) => r.length === all.size && r.every((x) => x.status !== "held"),
  );
  const counters = await waitCounters(client, campaignId, (c) => c.pending === 0 && c.held === 0);
  const { samples, over } = await sampler.stop();
  const durationMs = Math.round(performance.now() - started);
  assert.deepEqual(over, [], "never issued + pending + held > stock");
  assert.ok(samples >= 50, `sampled often (${samples})`);
  assert.deepEqual([counters.issued, counters.remaining], [stock, 0], "exactly the stock issued");

  const byId = new Map(rows.map((r) => [r.claimId, r]));
  let latestExpiryMs = 0;
  for (const [claimId, fate] of all) {
    const row = byId.get(claimId);
    assert.ok(row, `${claimId} in the ledger`);
    assert.equal(row.status, { confirm: "issued", release: "released", expire: "expired" }[fate], claimId);
    if (fate === "expire") latestExpiryMs = Math.max(latestExpiryMs, row.endedAt! - row.expiresAt!);
    if (fate === "confirm") assert.ok(row.issuedAt! < row.expiresAt!, "confirmed before it expired");
  }
  const issued = rows.filter((r) => r.status === "issued");
  assert.equal(issued.length, stock, "exactly the stock issued in the ledger");
  assert.equal(new Set(issued.map((r) => r.userId)).size, stock, "one per user");
  assertUnitsOnce(rows, stock);
  assert.deepEqual(
    issued.map((r) => r.unit).sort((a, b) => a - b),
    Array.from({ length: stock }, (_, i) => i + 1),
    "every unit issued once",
  );
  assert.ok(latestExpiryMs >= 0 && latestExpiryMs < 1000, `expiries within a second (${latestExpiryMs} ms)`);
  const figures: HoldsLoadFigures = {
    durationMs,
    admitted: admitted.length,
    confirmedFirst,
    released: [...fates.values()].filter((f) => f === "release").length,
    expired: [...fates.values()].filter((f) => f === "expire").length,
    secondWave: second.length,
    secondWaveAttempts: secondAttempts,
    samples,
    latestExpiryMs,
  };
  o.log(JSON.stringify(figures));
  return figures;
}

/** Polls the campaign's counters until `done`. */
export async function waitCounters(
  client: HoldsClient,
  campaignId: string,
  done: (c: CampaignCounters) => boolean,
  timeoutMs = 15_000,
): Promise<CampaignCounters> {
  const deadline = Date.now() + timeoutMs;
  let last: CampaignCounters | undefined;
  for (;;) {
    last = await client.counters(campaignId).catch(() => undefined);
    if (last && done(last)) return last;
    if (Date.now() > deadline) assert.fail(`counters did not settle: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

export interface HoldsRaceOptions {
  campaignId: string;
  holds: number;
  holdSeconds: number;
  rows: () => LedgerRow[] | Promise<LedgerRow[]>;
  log: (message: string) => void;
  /** How far either side of expiresAt the confirms are sent (default 50 ms). */
  spreadMs?: number;
}

/**
 * The race of issue 16: `holds` holds, each confirmed once at a random
 * moment within `spreadMs` either side of its expiresAt. Each ends either
 * issued (its confirm answered 200) or expired (answered 410), never both,
 * never neither; a repeat answers the same; the ledger agrees.
 */
export async function holdsRace(client: HoldsClient, o: HoldsRaceOptions) {
  const { campaignId, holds } = o;
  const spread = o.spreadMs ?? 50;
  await client.createCampaign({
    id: campaignId,
    name: "Holds race",
    stock: holds,
    holdSeconds: o.holdSeconds,
  });
  const ids = Array.from({ length: holds }, (_, i) => `racer-${i}`);
  const claims = await pool(ids, 100, (u) => client.claim(campaignId, u));
  assert.deepEqual(
    countBy(claims, (c) => c.status),
    { 202: holds },
  );
  const answers = await Promise.all(
    claims.map(async (c) => {
      const offset = Math.random() * 2 * spread - spread;
      await sleep(Math.max(0, c.expiresAt! + offset - Date.now()));
      const sentAt = Date.now();
      return {
        claimId: c.claimId!,
        expiresAt: c.expiresAt!,
        sentAt,
        answer: await client.confirm(c.claimId!),
      };
    }),
  );
  const won = answers.filter((a) => a.answer.status === 200);
  const lost = answers.filter((a) => a.answer.status === 410);
  assert.equal(won.length + lost.length, holds, JSON.stringify(countBy(answers, (a) => a.answer.status)));
  for (const a of won) assert.equal(a.answer.claimStatus, "issued");
  for (const a of lost) assert.equal(a.answer.body.error, "hold_expired");
  const repeats = await pool(answers, 50, (a) => client.confirm(a.claimId));
  for (const [i, a] of answers.entries())
    assert.equal(repeats[i]!.status, a.answer.status, `repeat of ${a.claimId}`);
  const rows = await ledgerSettles(o.rows, (r) => r.length === holds && r.every((x) => x.status !== "held"));
  const byId = new Map(rows.map((r) => [r.claimId, r]));
  for (const a of answers) {
    const row = byId.get(a.claimId)!;
    if (a.answer.status === 200) {
      assert.equal(row.status, "issued", a.claimId);
      assert.ok(row.issuedAt! < row.expiresAt!, "a confirmation that won came before expiresAt");
    } else {
      assert.equal(row.status, "expired", a.claimId);
      assert.ok(row.endedAt! >= row.expiresAt!, "an expiry comes at or after expiresAt");
    }
  }
  assertUnitsOnce(rows, holds);
  const sentBefore = answers.filter((a) => a.sentAt < a.expiresAt).length;
  const figures = { holds, confirmed: won.length, expired: lost.length, sentBeforeExpiresAt: sentBefore };
  o.log(JSON.stringify(figures));
  assert.ok(won.length > 0 && lost.length > 0, "both sides of the race happened");
  return figures;
}
