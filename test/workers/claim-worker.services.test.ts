/**
 * The claim worker over a real ledger: what it tells admission, waiting
 * clients and the issued sinks for each snapshot, and how it resolves a
 * snapshot the ledger refused (workers/conflicts.ts). Admission is a stub
 * that answers getClaim() from a map: the admission half's own tests cover
 * the real stores.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type TestContext, test } from "node:test";
import { pino } from "pino";
import { PostgresLedger } from "../../src/adapters/postgres/postgres-ledger.ts";
import { SqliteLedger } from "../../src/adapters/sqlite/sqlite-ledger.ts";
import type { Campaign, Claim } from "../../src/domain/types.ts";
import type { AdmissionStore } from "../../src/ports/admission.ts";
import type { Ledger } from "../../src/ports/ledger.ts";
import type { Notifier } from "../../src/ports/notifier.ts";
import type { Queue } from "../../src/ports/queue.ts";
import { ClaimWorker } from "../../src/workers/claim-worker.ts";
import { DATABASE_URL, skipWithoutServices, testSchema } from "../helpers/services.ts";
import { tempDir } from "../helpers/tmp.ts";

const T0 = 1_900_000_000_000;
const HOLD = 60;

const campaign = (id: string, holdSeconds: number | null): Campaign => ({
  id,
  name: id,
  stock: 10,
  perUserLimit: 1,
  startsAt: null,
  endsAt: null,
  createdAt: T0,
  holdSeconds,
});

function claim(campaignId: string, unit: number, userId: string, hold: boolean): Claim {
  const c: Claim = {
    claimId: randomBytes(16).toString("base64url"),
    campaignId,
    userId,
    seq: 1,
    unit,
    couponCode: randomBytes(8).toString("hex"),
    admittedAt: T0 + unit,
    status: "pending",
  };
  if (hold) c.expiresAt = c.admittedAt + HOLD * 1000;
  return c;
}

const expired = (c: Claim): Claim => ({ ...c, status: "expired", endedAt: c.expiresAt ?? T0 });
const released = (c: Claim, at: number): Claim => ({ ...c, status: "released", endedAt: at });
const confirmed = (c: Claim, at: number): Claim => ({ ...c, status: "issued", issuedAt: at });

/** What the worker told each party, and the admission state it reads. */
function parties(t: TestContext) {
  const known = new Map<string, Claim>();
  const marked: Claim[] = [];
  const notified: Claim[] = [];
  const sunk: Claim[] = [];
  const logs: { level: number; msg: string; claims?: unknown[] }[] = [];
  const admission = {
    getClaim: async (id: string) => known.get(id),
    markWritten: async (claims: readonly Claim[]) => void marked.push(...claims),
  } as unknown as AdmissionStore;
  const notifier = { publish: async (claims: readonly Claim[]) => void notified.push(...claims) } as Notifier;
  const logger = pino({ level: "warn" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const worker = (ledger: Pick<Ledger, "write">) =>
    new ClaimWorker({
      queue: {} as Queue<Claim>,
      ledger,
      admission,
      notifier,
      logger,
      batchSize: 100,
      flushIntervalMs: 1,
      now: () => T0 + 1000,
      issuedSink: { publish: async (claims) => void sunk.push(...claims) },
    });
  const reset = () => {
    marked.length = 0;
    notified.length = 0;
    sunk.length = 0;
  };
  t.after(reset);
  return { known, marked, notified, sunk, logs, worker, reset };
}

async function sqlite(t: TestContext): Promise<SqliteLedger> {
  const ledger = new SqliteLedger(tempDir(t));
  await ledger.migrate();
  t.after(() => ledger.close());
  return ledger;
}

const summary = (claims: readonly Claim[]) => claims.map((c) => [c.userId, c.status]);

test("a claim without holds: issued, marked, announced and sunk; a redelivery is told again (at least once)", async (t) => {
  const ledger = await sqlite(t);
  await ledger.createCampaign(campaign("c", null));
  const p = parties(t);
  const worker = p.worker(ledger);
  const a = claim("c", 1, "alice", false);
  await worker.write([a]);
  const issued = { ...a, status: "issued", issuedAt: T0 + 1000, idempotencyKey: undefined };
  assert.deepEqual([p.marked, p.notified, p.sunk], [[issued], [issued], [issued]]);
  p.reset();
  await worker.write([a]);
  assert.deepEqual([p.marked, p.notified, p.sunk], [[issued], [issued], [issued]]);
  assert.deepEqual(p.logs, []);
});

test("holds: held is marked and announced; its confirmation is marked, announced and sunk; its end too", async (t) => {
  const ledger = await sqlite(t);
  await ledger.createCampaign(campaign("h", HOLD));
  const p = parties(t);
  const worker = p.worker(ledger);
  const [a, b] = [claim("h", 1, "alice", true), claim("h", 2, "bob", true)];
  await worker.write([a, b]);
  assert.deepEqual(summary(p.notified), [
    ["alice", "held"],
    ["bob", "held"],
  ]);
  assert.deepEqual(p.marked, p.notified, "admission counts what the ledger now holds as held");
  assert.deepEqual(p.sunk, []);
  p.reset();

  await worker.write([confirmed(a, T0 + 500), expired(b), a]);
  assert.deepEqual(summary(p.marked), [
    ["alice", "issued"],
    ["bob", "expired"],
  ]);
  assert.equal(p.marked[0]?.issuedAt, T0 + 500, "the confirmation's time");
  assert.deepEqual(summary(p.notified), [
    ["alice", "issued"],
    ["bob", "expired"],
  ]);
  assert.deepEqual(p.sunk, p.notified);
  p.reset();

  // The stale pending snapshot of a confirmed hold tells nobody anything.
  await worker.write([a]);
  assert.deepEqual([p.marked, p.notified, p.sunk], [[], [], []]);
  assert.deepEqual(p.logs, []);
});

test("a unit reused before the snapshot that freed it was written: the worker writes the end admission knows, then the claim", async (t) => {
  const ledger = await sqlite(t);
  await ledger.createCampaign(campaign("h", HOLD));
  const p = parties(t);
  const worker = p.worker(ledger);
  const a = claim("h", 1, "alice", true);
  await worker.write([a]);
  p.reset();
  // Admission expired alice's hold and gave unit 1 to bob; bob's snapshot
  // reaches this worker first (another worker holds alice's expiry).
  const b = claim("h", 1, "bob", true);
  p.known.set(a.claimId, expired(a));
  p.known.set(b.claimId, b);
  await worker.write([b]);
  assert.deepEqual(p.logs, [], "resolved: nothing to log");
  assert.deepEqual(summary(p.notified), [
    ["alice", "expired"],
    ["bob", "held"],
  ]);
  assert.deepEqual(summary(p.sunk), [["alice", "expired"]]);
  assert.equal((await ledger.findClaim(a.claimId))?.status, "expired");
  assert.equal((await ledger.findClaim(b.claimId))?.status, "held");
  p.reset();
  // The late snapshot finds its work done: told again, at least once.
  await worker.write([expired(a)]);
  assert.deepEqual(summary(p.sunk), [["alice", "expired"]]);
  assert.deepEqual(p.logs, []);

  // The same for a user slot, and for a refused claim that admission has
  // meanwhile ended too: its newer state is written instead.
  const c = { ...claim("h", 5, "bob", true), seq: 1 };
  p.known.set(b.claimId, released(b, T0 + 700));
  p.known.set(c.claimId, released(c, T0 + 800));
  p.reset();
  await worker.write([c]);
  assert.deepEqual(summary(p.notified), [
    ["bob", "released"],
    ["bob", "released"],
  ]);
  assert.deepEqual(
    p.notified.map((x) => x.claimId),
    [b.claimId, c.claimId],
  );
  assert.deepEqual(p.logs, []);
});

test("a conflict that survives resolution is logged as an error, and nothing is told of the refused claim", async (t) => {
  const ledger = await sqlite(t);
  await ledger.createCampaign(campaign("h", HOLD));
  const p = parties(t);
  const worker = p.worker(ledger);
  const a = claim("h", 1, "alice", true);
  await worker.write([a]);
  p.reset();
  // Admission says alice's hold still stands (a bad rebuild gave unit 1 away twice).
  p.known.set(a.claimId, { ...a, status: "held" });
  const b = claim("h", 1, "bob", true);
  p.known.set(b.claimId, b);
  await worker.write([b, claim("h", 2, "carol", true)]);
  assert.deepEqual(summary(p.notified), [["carol", "held"]]);
  assert.equal(p.logs.length, 1);
  assert.equal(p.logs[0]?.level, 50);
  assert.match(p.logs[0]!.msg, /admission state was wrong/);
  assert.deepEqual(p.logs[0]?.claims, [
    {
      claimId: b.claimId,
      campaignId: "h",
      unit: 1,
      status: "pending",
      reason: "taken",
      blockedBy: { claimId: a.claimId, status: "held" },
    },
  ]);
  assert.equal(await ledger.findClaim(b.claimId), undefined);

  // A hold confirmed and expired both (admission broke its own rule): the second is refused.
  p.logs.length = 0;
  await worker.write([confirmed(a, T0 + 10)]);
  await worker.write([expired(a)]);
  assert.equal(p.logs.length, 1);
  assert.equal((p.logs[0]!.claims as { reason: string }[])[0]?.reason, "final");
  assert.equal((await ledger.findClaim(a.claimId))?.status, "issued");
});

test("two workers on PostgreSQL, the freeing snapshot and the reusing claim at once (Redis Streams): both written, no conflict left", async (t) => {
  const skip = await skipWithoutServices();
  if (skip) return t.skip(skip);
  const schema = testSchema(t, "worker");
  const ledgers = [0, 1].map(() => new PostgresLedger({ connectionString: DATABASE_URL, schema }));
  t.after(() => Promise.all(ledgers.map((l) => l.close())));
  await ledgers[0]!.migrate();
  await ledgers[0]!.createCampaign(campaign("h", HOLD));
  const p = parties(t);
  const [one, two] = ledgers.map((l) => p.worker(l));
  for (let round = 0; round < 20; round++) {
    const a = claim("h", 1, `a-${round}`, true);
    await one!.write([a]);
    const b = claim("h", 1, `b-${round}`, true);
    p.known.set(a.claimId, expired(a));
    p.known.set(b.claimId, b);
    await Promise.all([two!.write([b]), one!.write([expired(a)])]);
    assert.deepEqual(p.logs, [], `round ${round}`);
    const [inLedgerA, inLedgerB] = await Promise.all([
      ledgers[0]!.findClaim(a.claimId),
      ledgers[0]!.findClaim(b.claimId),
    ]);
    assert.deepEqual([inLedgerA?.status, inLedgerB?.status], ["expired", "held"], `round ${round}`);
    // Free the unit for the next round.
    p.known.set(b.claimId, released(b, T0 + round));
    await one!.write([released(b, T0 + round)]);
  }
  assert.deepEqual(await ledgers[1]!.counts("h"), { issued: 0, held: 0 });
});
