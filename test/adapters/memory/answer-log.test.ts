import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { EmbeddedQueue } from "../../../src/adapters/journal/embedded-queue.ts";
import { AnswerLog } from "../../../src/adapters/memory/answer-log.ts";
import { MemoryAdmission } from "../../../src/adapters/memory/memory-admission.ts";
import { claimMessageCodec } from "../../../src/domain/claim-message.ts";
import type { Campaign, Claim } from "../../../src/domain/types.ts";
import { buildApp } from "../../../src/http/app.ts";
import type { AdmitOutcome } from "../../../src/ports/admission.ts";
import { openEmbedded } from "../../../src/runtime/embedded.ts";
import { admin, embeddedConfig } from "../../helpers/embedded-app.ts";
import { tempDir } from "../../helpers/tmp.ts";

/**
 * Idempotency answers in the embedded mode survive a restart: a 202's key is
 * in its claim (journal, then ledger); 409, 403 and 410 are in the answer log.
 */
const HOUR = 3_600_000;
const campaign = (overrides: Partial<Campaign> = {}): Campaign => ({
  id: "c1",
  name: "c",
  stock: 1,
  perUserLimit: 1,
  startsAt: null,
  endsAt: null,
  createdAt: 0,
  ...overrides,
});

/** One run of the embedded admission over a data directory: journal, answer log, restore. */
async function run(dir: string, campaigns: Campaign[], now = Date.now) {
  const { queue, recovered } = await EmbeddedQueue.open<Claim>(
    join(dir, "journal"),
    "claims",
    { sync: async () => undefined },
    claimMessageCodec,
  );
  const { log, answers } = await AnswerLog.open(join(dir, "idempotency"), {
    ttlMs: 24 * HOUR,
    journal: { sync: async () => undefined },
    now,
  });
  const admission = new MemoryAdmission(queue, { answers: log, now });
  for (const c of campaigns) await admission.putCampaign(c);
  admission.restore(recovered);
  admission.restoreAnswers(answers);
  return {
    admission,
    async stop() {
      await log.close();
      await queue.close();
    },
  };
}

const kindOf = (o: AdmitOutcome) => (o.kind === "not_active" ? `not_active:${o.reason}` : o.kind);

test("keyed 409, 403 and 410 answers are answered the same after a restart, even once the campaign changed", async (t) => {
  const dir = tempDir(t);
  const c1 = campaign({ id: "c1", stock: 1 });
  const c2 = campaign({ id: "c2", stock: 5, status: "paused" });
  const first = await run(dir, [c1, c2]);
  const a = first.admission;
  const holder = await a.admit({ campaignId: "c1", userId: "user:1", idempotencyKey: "k-admit" });
  assert.equal(holder.kind, "admitted");
  const claimId = (holder as { claim: Claim }).claim.claimId;
  const answers = {
    held: await a.admit({ campaignId: "c1", userId: "user:1", idempotencyKey: "k-held" }),
    soldOut: await a.admit({ campaignId: "c1", userId: "user:2", idempotencyKey: "k-sold" }),
    paused: await a.admit({ campaignId: "c2", userId: "user:3", idempotencyKey: "k-paused" }),
    keyless: await a.admit({ campaignId: "c1", userId: "user:4" }),
  };
  assert.deepEqual(Object.values(answers).map(kindOf), [
    "already_claimed",
    "sold_out",
    "not_active:paused",
    "sold_out",
  ]);
  await first.stop();
  const file = readdirSync(join(dir, "idempotency")).find((n) => n.endsWith(".jsonl"))!;
  const written = readFileSync(join(dir, "idempotency", file), "utf8");
  assert.equal(
    written.trim().split("\n").length,
    3,
    "one record per keyed non-202 answer, none for the keyless",
  );
  // The userIds have a colon, which no claim id (base64url) or hash (hex) in the file can contain.
  assert.ok(!/user:|k-held|k-sold/.test(written), "neither userIds nor keys on disk");

  // Restarted, with more stock and resumed: a new request would be admitted; a repeat is answered as before.
  const second = await run(dir, [
    { ...c1, stock: 3 },
    { ...c2, status: "open" },
  ]);
  const b = second.admission;
  t.after(() => second.stop());
  const held = await b.admit({ campaignId: "c1", userId: "user:1", idempotencyKey: "k-held" });
  assert.deepEqual([held.kind, (held as { claim: Claim }).claim.claimId], ["already_claimed", claimId]);
  assert.deepEqual(await b.admit({ campaignId: "c1", userId: "user:2", idempotencyKey: "k-sold" }), {
    kind: "sold_out",
    replayed: true,
  });
  assert.deepEqual(await b.admit({ campaignId: "c2", userId: "user:3", idempotencyKey: "k-paused" }), {
    kind: "not_active",
    reason: "paused",
    replayed: true,
  });
  const admitted = await b.admit({ campaignId: "c1", userId: "user:1", idempotencyKey: "k-admit" });
  assert.deepEqual([admitted.kind, (admitted as { replayed: boolean }).replayed], ["admitted", true]);
  assert.equal(
    (await b.admit({ campaignId: "c1", userId: "user:4" })).kind,
    "admitted",
    "keyless: decided anew",
  );
  assert.equal(
    (await b.admit({ campaignId: "c1", userId: "user:2", idempotencyKey: "k-new" })).kind,
    "admitted",
    "a new key: decided anew",
  );
});

test("answers are kept for IDEMPOTENCY_TTL_S, and their files go once every record expired", async (t) => {
  const dir = join(tempDir(t), "idempotency");
  let now = 1_000_000;
  const ttlMs = 60_000;
  const open = () => AnswerLog.open(dir, { ttlMs, now: () => now, journal: { segmentBytes: 200 } });
  const { log } = await open();
  for (let i = 0; i < 10; i++) await log.append({ h: `h${i}`, a: "S", t: now + i * 1000 });
  await log.close();
  now += ttlMs + 4500; // the first five expired
  const reopened = await open();
  assert.deepEqual(
    reopened.answers.map((a) => a.h),
    ["h5", "h6", "h7", "h8", "h9"],
  );
  const segments = () => readdirSync(dir).filter((n) => n.endsWith(".jsonl")).length;
  const before = segments();
  now += 10_000;
  await reopened.log.sweep();
  assert.ok(segments() < before, `expired segments removed (${before} -> ${segments()})`);
  await reopened.log.close();
});

test("embedded stampede: a keyed 410 is answered 410 again after a restart, though stock was added", async (t) => {
  const dataDir = tempDir(t);
  const start = async () => {
    const runtime = await openEmbedded(embeddedConfig({ DATA_DIR: dataDir }), pino({ level: "silent" }));
    const app = await buildApp(runtime.api, {});
    return {
      app,
      claim: (userId: string, key: string) =>
        app.inject({
          method: "POST",
          url: "/v1/campaigns/drop/claims",
          headers: { "idempotency-key": key },
          payload: { userId },
        }),
      async stop() {
        await app.close();
        await runtime.close();
      },
    };
  };
  const first = await start();
  const created = await first.app.inject({
    method: "POST",
    url: "/v1/campaigns",
    headers: admin,
    payload: { id: "drop", name: "Drop", stock: 1 },
  });
  assert.equal(created.statusCode, 201);
  assert.equal((await first.claim("alice", "a-1")).statusCode, 202);
  const refused = await first.claim("bob", "b-1");
  assert.equal(refused.statusCode, 410);
  await first.stop();

  const second = await start();
  t.after(() => second.stop());
  const raised = await second.app.inject({
    method: "PATCH",
    url: "/v1/campaigns/drop",
    headers: admin,
    payload: { stock: 2 },
  });
  assert.equal(raised.statusCode, 200, raised.body);
  const repeat = await second.claim("bob", "b-1");
  assert.equal(repeat.statusCode, 410, "the first answer, not a new decision");
  assert.equal(repeat.json().error, "sold_out");
  assert.equal((await second.claim("bob", "b-2")).statusCode, 202, "a new key is decided on the new stock");
});
