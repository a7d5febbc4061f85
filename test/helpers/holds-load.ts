import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { AdmissionStore, AdmitOutcome, HoldOutcome } from "../../src/ports/admission.ts";
import { ADMIN_TOKEN, type Reply, request } from "./distributed.ts";
import { type Fate, fateOf, type LedgerRow, ledgerSettles } from "./holds.ts";
import { countBy, pool, sampleUntilStopped } from "./load.ts";
import { DATABASE_URL, sql } from "./services.ts";

/**
 * The holds scenarios of issue 16 for distributed mode, written once and
 * driven two ways: through the HTTP API of `stampede api` processes
 * (docs/api.md "Holds": POST /v1/claims/:id/confirm and /release), or
 * through an admission store in the test's own process standing in for an
 * API process (what the routes call), both with real `stampede worker`
 * processes, Redis, PostgreSQL and the queue of the mode.
 */

/** What a claim request, a confirm or a release was answered, once definitive. */
export interface HoldAnswer {
  status: number;
  claimId?: string;
  /** The claim's status in the answer (pending, issued, released, expired...). */
  claimStatus?: string;
  /** Epoch ms. */
  expiresAt?: number;
  unit?: number;
}

export interface CampaignSample {
  issued: number;
  pending: number;
  held: number;
}

export interface HoldsDriver {
  claim(userId: string): Promise<HoldAnswer>;
  confirm(claimId: string): Promise<HoldAnswer>;
  release(claimId: string): Promise<HoldAnswer>;
  sample(): Promise<CampaignSample | undefined>;
}

const DEFINITIVE = new Set([200, 202, 404, 409, 410]);

async function untilDefinitive(send: (attempt: number) => Promise<Reply>, what: string): Promise<Reply> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const reply = await send(attempt);
    if (DEFINITIVE.has(reply.status)) return reply;
    assert.ok(
      reply.status === 503 || reply.status === 0,
      `${what}: unexpected ${reply.status} ${JSON.stringify(reply.body)}`,
    );
    await sleep(reply.status === 0 ? 50 : 150);
  }
  throw new Error(`${what}: no definitive answer`);
}

const time = (v: unknown) => (typeof v === "string" ? Date.parse(v) : undefined);

function fromHttp(reply: Reply): HoldAnswer {
  const b = reply.body;
  return {
    status: reply.status,
    claimId: typeof b.claimId === "string" ? b.claimId : undefined,
    claimStatus: typeof b.status === "string" ? b.status : undefined,
    expiresAt: time(b.expiresAt),
  };
}

/** Through the API processes (`urls()`: the ones alive), retrying what is not definitive on the next one. */
export function httpDriver(urls: () => string[], campaignId: string): HoldsDriver {
  let turn = 0;
  const on = (attempt: number) => {
    const alive = urls();
    return alive[(turn++ + attempt) % alive.length]!;
  };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    claim: async (userId) =>
      fromHttp(
        await untilDefinitive(
          (a) => request(on(a), "POST", `/v1/campaigns/${campaignId}/claims`, { userId }),
          `claim of ${userId}`,
        ),
      ),
    confirm: async (claimId) =>
      fromHttp(
        await untilDefinitive(
          (a) => request(on(a), "POST", `/v1/claims/${claimId}/confirm`, undefined, admin),
          `confirm of ${claimId}`,
        ),
      ),
    release: async (claimId) =>
      fromHttp(
        await untilDefinitive(
          (a) => request(on(a), "POST", `/v1/claims/${claimId}/release`, undefined, admin),
          `release of ${claimId}`,
        ),
      ),
    async sample() {
      const alive = urls();
      const reply = await request(alive[turn++ % alive.length]!, "GET", `/v1/campaigns/${campaignId}`);
      if (reply.status !== 200) return undefined;
      const { issued, pending, held } = reply.body as Record<string, number>;
      return { issued: Number(issued), pending: Number(pending), held: Number(held ?? 0) };
    },
  };
}

/** What the HTTP routes answer for an admission store's outcomes (docs/api.md). */
const ADMIT_STATUS: Record<AdmitOutcome["kind"], number> = {
  admitted: 202,
  already_claimed: 409,
  not_active: 403,
  sold_out: 410,
  campaign_not_found: 404,
  rate_limited: 429,
};
const HOLD_STATUS: Record<HoldOutcome["kind"], number> = {
  confirmed: 200,
  released: 200,
  hold_expired: 410,
  already_confirmed: 409,
  not_a_hold: 400,
  claim_not_found: 404,
};

/** Through an admission store in this process (what an API process's routes call). */
export function storeDriver(store: AdmissionStore, campaignId: string): HoldsDriver {
  const retrying = async <T>(work: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        // A 503 (StampedeError "unavailable"): retried as a client would.
        if ((error as { code?: string }).code !== "unavailable" || attempt > 100) throw error;
        await sleep(150);
      }
    }
  };
  const hold = async (decide: () => Promise<HoldOutcome>): Promise<HoldAnswer> => {
    const o = await retrying(decide);
    const claim = "claim" in o ? o.claim : undefined;
    return {
      status: HOLD_STATUS[o.kind],
      claimId: claim?.claimId,
      claimStatus: claim?.status,
      unit: claim?.unit,
    };
  };
  return {
    async claim(userId) {
      const o = await retrying(() => store.admit({ campaignId, userId }));
      const claim = "claim" in o ? o.claim : undefined;
      return {
        status: ADMIT_STATUS[o.kind],
        claimId: claim?.claimId,
        claimStatus: claim?.status,
        expiresAt: claim?.expiresAt,
        unit: claim?.unit,
      };
    },
    confirm: (claimId) => hold(() => store.confirm(claimId)),
    release: (claimId) => hold(() => store.release(claimId)),
    async sample() {
      const c = await store.counters(campaignId).catch(() => undefined);
      return c && { issued: c.issued, held: c.held, pending: c.admitted - c.issued - c.held };
    },
  };
}

/** The campaign's claims in PostgreSQL, every status, in the shape holds.ts reads. */
export function ledgerHolds(schema: string, campaignId: string, url = DATABASE_URL): Promise<LedgerRow[]> {
  return sql<LedgerRow>(
    `SELECT claim_id AS "claimId", user_id AS "userId", unit, status, expires_at::float8 AS "expiresAt",
            ended_at::float8 AS "endedAt", issued_at::float8 AS "issuedAt"
     FROM "${schema}".claims WHERE campaign_id = $1`,
    [campaignId],
    url,
  );
}

/**
 * Samples the campaign every `everyMs` until stopped; each sample must show
 * `issued + pending + held <= stock` (invariant 1 with holds).
 */
export function sampler(driver: HoldsDriver, stock: number, everyMs = 25) {
  return sampleUntilStopped(
    () => driver.sample(),
    (s) => s.issued + s.pending + s.held > stock,
    everyMs,
  );
}

/**
 * Issue 16's load test, smaller: `users` claim a stock of `stock` holds of
 * `holdMs`; of the admitted, 60% confirm and 20% release at random moments
 * before expiresAt, 20% let theirs expire; then a second wave (the users
 * refused the first time) takes the returned units and confirms. At the
 * end: exactly `stock` issued, never issued + pending + held > stock in the
 * samples, no ended hold issued, each confirm answered 200 issued once, each
 * unit issued once, and the expiries on time.
 */
export async function holdsLoadTest(
  driver: HoldsDriver,
  options: {
    users: number;
    stock: number;
    holdMs: number;
    rows: () => Promise<LedgerRow[]>;
    diagnostic: (message: string) => void;
    concurrency?: number;
  },
): Promise<void> {
  const { users, stock, holdMs } = options;
  const concurrency = options.concurrency ?? 100;
  const samples = sampler(driver, stock);
  const ids = Array.from({ length: users }, (_, i) => `user-${i}`);
  const started = performance.now();
  const wave1 = await pool(ids, concurrency, (u) => driver.claim(u));
  const admitted = wave1.filter((a) => a.status === 202);
  assert.equal(admitted.length, stock, `the whole stock is held (${JSON.stringify(statuses(wave1))})`);
  assert.equal(wave1.filter((a) => a.status === 410).length, users - stock);
  for (const a of admitted) assert.ok(a.expiresAt && a.claimId, JSON.stringify(a));

  const fates = new Map<string, Fate>();
  for (const [i, a] of admitted.entries()) fates.set(a.claimId!, fateOf(i));
  const answers = new Map<string, HoldAnswer>();
  const margin = Math.min(500, holdMs / 4);
  await Promise.all(
    admitted.map(async (a) => {
      const fate = fates.get(a.claimId!)!;
      if (fate === "expire") return;
      // A random moment of the hold, before expiresAt (the race has its own test).
      const at = a.expiresAt! - holdMs + Math.random() * (holdMs - margin);
      await sleep(Math.max(0, at - Date.now()));
      answers.set(
        a.claimId!,
        await (fate === "confirm" ? driver.confirm(a.claimId!) : driver.release(a.claimId!)),
      );
    }),
  );
  for (const [claimId, answer] of answers) {
    const fate = fates.get(claimId);
    assert.equal(answer.status, 200, `${fate} of ${claimId}: ${JSON.stringify(answer)}`);
    assert.equal(answer.claimStatus, fate === "confirm" ? "issued" : "released");
  }
  // The expiries come from the reapers (every HOLD_REAP_INTERVAL_MS), with no claims coming.
  const lastExpiry = Math.max(...admitted.map((a) => a.expiresAt!));
  await sleep(Math.max(0, lastExpiry - Date.now()) + 1000);
  const confirmedFirst = [...fates.values()].filter((f) => f === "confirm").length;
  const back = await driver.sample();
  assert.ok(back, "the campaign reads");
  assert.equal(
    back.issued + back.pending + back.held,
    confirmedFirst,
    "every released and expired unit is back",
  );

  // The second wave: those refused take the returned units, and confirm at once.
  const refused = ids.filter((_, i) => wave1[i]!.status === 410);
  const wave2 = await pool(refused, concurrency, (u) => driver.claim(u));
  const second = wave2.filter((a) => a.status === 202);
  assert.equal(
    second.length,
    stock - confirmedFirst,
    `the returned units are taken (${JSON.stringify(statuses(wave2))})`,
  );
  const confirms2 = await pool(second, concurrency, (a) => driver.confirm(a.claimId!));
  for (const c of confirms2) assert.deepEqual([c.status, c.claimStatus], [200, "issued"]);
  for (const [i, a] of second.entries()) answers.set(a.claimId!, confirms2[i]!);
  for (const a of second) fates.set(a.claimId!, "confirm");

  // Quiet: the ledger holds every decision.
  const rows = await ledgerSettles(
    options.rows,
    (r) => r.length === fates.size && r.every((x) => x.status !== "held"),
  );
  const { samples: sampled, over } = await samples.stop();
  options.diagnostic(
    `${users} users, stock ${stock}, hold ${holdMs} ms: ${admitted.length} held, ${confirmedFirst} confirmed in the ` +
      `first wave, ${second.length} taken in the second; ${sampled} samples; ${Math.round(performance.now() - started)} ms`,
  );
  assert.deepEqual(over, [], "never issued + pending + held > stock");
  assert.ok(sampled > 20, `sampled often (${sampled})`);

  const byId = new Map(rows.map((r) => [r.claimId, r]));
  const issued = rows.filter((r) => r.status === "issued");
  assert.equal(issued.length, stock, "exactly the stock issued");
  assert.equal(new Set(issued.map((r) => r.unit)).size, stock, "each unit issued once");
  assert.ok(issued.every((r) => r.unit >= 1 && r.unit <= stock));
  assert.equal(new Set(issued.map((r) => r.userId)).size, stock, "one per user");
  let late = 0;
  for (const [claimId, fate] of fates) {
    const row = byId.get(claimId);
    assert.ok(row, `${claimId} in the ledger`);
    const expected = fate === "confirm" ? "issued" : fate === "release" ? "released" : "expired";
    assert.equal(row.status, expected, `${fate}: ${claimId} ended ${row.status}`);
    if (fate === "expire") late = Math.max(late, row.endedAt! - row.expiresAt!);
  }
  options.diagnostic(`the latest expiry came ${late} ms after its expiresAt`);
  assert.ok(late < 1000, `expiries within a second (${late} ms)`);
  await quiet(driver, { issued: stock, pending: 0, held: 0 });
}

/** Waits until the campaign's counters read `expected` (the workers mark what the ledger holds). */
async function quiet(driver: HoldsDriver, expected: CampaignSample): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last: CampaignSample | undefined;
  while (Date.now() < deadline) {
    last = await driver.sample();
    if (
      last &&
      last.issued === expected.issued &&
      last.pending === expected.pending &&
      last.held === expected.held
    )
      return;
    await sleep(100);
  }
  assert.deepEqual(last, expected, "quiet: the counters");
}

/**
 * Holds live and expiring while processes are killed (issue 16): half the
 * holders confirm at random moments of their hold (some while processes are
 * down: retried as clients do), half let theirs expire. `chaos` kills and
 * restarts processes and resolves with the moment (Date.now()) the reapers
 * are back. Expiries still come on time: within a second of expiresAt, or of
 * that moment for holds due while no worker ran; every confirm answered 200
 * is issued once, every other hold expired; nothing over-issued.
 */
export async function holdsThroughKills(
  driver: HoldsDriver,
  options: {
    holds: number;
    holdMs: number;
    /** When the chaos starts, in ms after the first admission (admissions go on for holdMs). */
    chaosAfterMs: number;
    chaos: () => Promise<{ backAt: number }>;
    rows: () => Promise<LedgerRow[]>;
    diagnostic: (message: string) => void;
  },
): Promise<void> {
  const { holds, holdMs } = options;
  const ids = Array.from({ length: holds }, (_, i) => `user-${i}`);
  const chaos = (async () => {
    await sleep(options.chaosAfterMs);
    return options.chaos();
  })();
  // Admitted over a hold's time, so that holds fall due before, during and after the chaos.
  const chunks = 10;
  const confirms: Promise<{ claimId: string; answer: HoldAnswer }>[] = [];
  const claims: HoldAnswer[] = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const part = ids.filter((_, i) => i % chunks === chunk);
    const admitted = await pool(part, 100, (u) => driver.claim(u));
    assert.ok(
      admitted.every((c) => c.status === 202),
      JSON.stringify(statuses(admitted)),
    );
    for (const c of admitted) {
      // Half confirm at a random moment of their hold (retried through the chaos), half let it expire.
      if (claims.push(c) % 2 === 0) continue;
      confirms.push(
        (async () => {
          const at = c.expiresAt! - holdMs + Math.random() * (holdMs - 300);
          await sleep(Math.max(0, at - Date.now()));
          return { claimId: c.claimId!, answer: await driver.confirm(c.claimId!) };
        })(),
      );
    }
    await sleep(holdMs / chunks);
  }
  const confirmed = await Promise.all(confirms);
  const { backAt } = await chaos;
  const lastExpiry = Math.max(...claims.map((c) => c.expiresAt!));
  await sleep(Math.max(0, Math.max(lastExpiry, backAt) - Date.now()) + 1000);
  const rows = await ledgerSettles(
    options.rows,
    (r) => r.length === holds && r.every((x) => x.status !== "held"),
    60_000,
  );
  const byId = new Map(rows.map((r) => [r.claimId, r]));
  const won = confirmed.filter((c) => c.answer.status === 200);
  for (const c of confirmed) {
    assert.ok(c.answer.status === 200 || c.answer.status === 410, JSON.stringify(c.answer));
    assert.equal(byId.get(c.claimId)?.status, c.answer.status === 200 ? "issued" : "expired", c.claimId);
  }
  let late = 0;
  let dueWhileDown = 0;
  for (const c of claims.filter((_, i) => i % 2 === 1)) {
    const row = byId.get(c.claimId!)!;
    assert.equal(row.status, "expired", c.claimId);
    const from = Math.max(row.expiresAt!, backAt);
    if (row.expiresAt! < backAt) dueWhileDown++;
    late = Math.max(late, row.endedAt! - from);
  }
  const issued = rows.filter((r) => r.status === "issued");
  assert.equal(issued.length, won.length, "every confirmed hold issued, once; nothing else");
  assert.equal(new Set(issued.map((r) => r.unit)).size, issued.length, "no unit issued twice");
  options.diagnostic(
    `${won.length} of ${confirmed.length} confirms won; ${dueWhileDown} holds were due while no worker ran; ` +
      `the latest expiry came ${late} ms after its time (or after the workers came back)`,
  );
  assert.ok(late < 1000, `expiries on time (${late} ms late)`);
}

/**
 * The race (issue 16): confirms sent in the last 50 ms before and the first
 * 50 ms after expiresAt, while the reapers run; each hold ends either issued
 * (its confirm answered 200) or expired (answered 410), never both, never
 * neither, by the stored time alone (a confirm sent after expiresAt loses,
 * one answered before it wins: Redis runs on this host, same clock); a
 * repeat of the confirm answers the same.
 */
export async function holdsRace(
  driver: HoldsDriver,
  options: {
    holds: number;
    rows: () => Promise<LedgerRow[]>;
    diagnostic: (message: string) => void;
  },
): Promise<void> {
  const ids = Array.from({ length: options.holds }, (_, i) => `racer-${i}`);
  const claims = await pool(ids, 100, (u) => driver.claim(u));
  assert.ok(
    claims.every((c) => c.status === 202),
    JSON.stringify(statuses(claims)),
  );
  const answers = await Promise.all(
    claims.map(async (c) => {
      const offset = Math.random() * 100 - 50;
      await sleep(Math.max(0, c.expiresAt! + offset - Date.now()));
      const sentAt = Date.now();
      const answer = await driver.confirm(c.claimId!);
      return { claimId: c.claimId!, expiresAt: c.expiresAt!, sentAt, answeredAt: Date.now(), answer };
    }),
  );
  const won = answers.filter((a) => a.answer.status === 200);
  const lost = answers.filter((a) => a.answer.status === 410);
  assert.equal(won.length + lost.length, answers.length, JSON.stringify(answers.map((a) => a.answer.status)));
  for (const a of won) assert.equal(a.answer.claimStatus, "issued");
  // A 410 over HTTP names no claim (the contract's error body); the store's outcome does, and the ledger
  // check below holds either way.
  for (const a of lost) if (a.answer.claimStatus !== undefined) assert.equal(a.answer.claimStatus, "expired");
  // Redis runs on this host: its TIME is this clock. Decided after expiresAt: expired; before it: confirmed.
  for (const a of answers) {
    if (a.sentAt > a.expiresAt + 1) assert.equal(a.answer.status, 410, `sent after expiresAt: ${a.claimId}`);
    if (a.answeredAt < a.expiresAt - 1)
      assert.equal(a.answer.status, 200, `answered before expiresAt: ${a.claimId}`);
  }
  const early = answers.filter((a) => a.sentAt < a.expiresAt - 10);
  options.diagnostic(
    `${won.length} confirmed, ${lost.length} expired; ${early.length} sent more than 10 ms before expiresAt`,
  );
  assert.ok(won.length > 0 && lost.length > 0, "both sides of the race happened");
  // A repeat answers the same.
  const repeats = await pool(answers, 100, (a) => driver.confirm(a.claimId));
  for (const [i, r] of repeats.entries())
    assert.equal(r.status, answers[i]!.answer.status, `repeat of ${answers[i]!.claimId}`);
  const rows = await ledgerSettles(
    options.rows,
    (r) => r.filter((x) => x.status !== "held").length === answers.length,
  );
  const final = new Map(rows.filter((r) => r.status !== "held").map((r) => [r.claimId, r.status]));
  for (const a of answers)
    assert.equal(final.get(a.claimId), a.answer.status === 200 ? "issued" : "expired", a.claimId);
}

const statuses = (answers: readonly HoldAnswer[]) => countBy(answers, (a) => a.status);
