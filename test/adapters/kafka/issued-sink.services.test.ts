import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { outboxSink } from "../../../src/adapters/kafka/admission/outbox-sink.ts";
import { claimKey } from "../../../src/adapters/kafka/claims.ts";
import {
  DELIVERY_ID_HEADER,
  EVENT_HEADER,
  KafkaIssuedSink,
} from "../../../src/adapters/kafka/issued-sink.ts";
import { KafkaQueue } from "../../../src/adapters/kafka/queue/kafka-queue.ts";
import { MemoryNotifier } from "../../../src/adapters/memory/memory-notifier.ts";
import { PostgresLedger } from "../../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../../src/adapters/redis/admission/redis-admission.ts";
import { RedisKeys } from "../../../src/adapters/redis/keys.ts";
import { decodeClaimMessage, encodeClaimMessage } from "../../../src/domain/claim-message.ts";
import type { Campaign, Claim } from "../../../src/domain/types.ts";
import type { IssuedSink } from "../../../src/ports/delivery.ts";
import { ClaimWorker } from "../../../src/workers/claim-worker.ts";
import { fanOut } from "../../../src/workers/fan-out.ts";
import { checkIssuedTopic, readIssuedTopic } from "../../helpers/issued-topic.ts";
import { kafkaBrokers, skipWithoutKafka, testGroup, testTopic } from "../../helpers/kafka.ts";
import {
  DATABASE_URL,
  REDIS_URL,
  redisClient,
  skipWithoutServices,
  testPrefix,
  testSchema,
} from "../../helpers/services.ts";
import { eventually } from "../../helpers/wait.ts";

/**
 * Kafka mode's `issued` topic on the real broker: the sink's records (the
 * webhook's body, keyed by campaign, delivery id header, in order), and the
 * claim worker's at-least-once contract with it: a failed publish fails the
 * batch, which is retried and not committed until the events are in.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());
const logger = pino({ level: "silent" });
type After = { after: (fn: () => Promise<void> | void) => void };

async function openSink(t: After, topic: string): Promise<KafkaIssuedSink> {
  const sink = await KafkaIssuedSink.open({
    brokers: await kafkaBrokers(),
    topic,
    partitions: 6,
    clientId: "stampede-test-issued",
    logger,
  });
  t.after(() => sink.close());
  return sink;
}

const claimOf = (campaignId: string, i: number): Claim => ({
  claimId: `clm${campaignId}${String(i).padStart(13, "0")}`,
  campaignId,
  userId: `user-${i}-ü`,
  seq: 1,
  unit: i + 1,
  couponCode: `CODE-${String(i).padStart(4, "0")}-AAAA-BBBB`,
  admittedAt: 1_700_000_000_000 + i,
  status: "issued",
  issuedAt: 1_700_000_001_000 + i,
});

const rowOf = (c: Claim) => ({
  claim_id: c.claimId,
  campaign_id: c.campaignId,
  user_id: c.userId,
  coupon_code: c.couponCode,
});

describe("KafkaIssuedSink on a real broker", { skip, timeout: 180_000 }, () => {
  test("publishes each claim as IssuedEvent v1, keyed by campaign, delivery id header, in order", async (t) => {
    const topic = testTopic(t, "issued");
    const sink = await openSink(t, topic);
    assert.equal(sink.topic, topic);
    // More than one produce request's worth (500) for one campaign, in one call.
    const a = Array.from({ length: 1200 }, (_, i) => claimOf("campA", i));
    const b = Array.from({ length: 300 }, (_, i) => claimOf("campB", i));
    await sink.publish([...a.slice(0, 700), ...b]);
    await sink.publish(a.slice(700));

    const records = await readIssuedTopic({
      brokers: await kafkaBrokers(),
      topic,
      group: testGroup(t, "reader"),
      done: (seen) => seen.length >= a.length + b.length,
    });
    assert.equal(checkIssuedTopic(records, [...a, ...b].map(rowOf)), 0, "no repeats without a failure");
    assert.equal(records.length, a.length + b.length);
    const order = records
      .filter((r) => r.key === "campA")
      .sort((x, y) => Number(x.offset - y.offset))
      .map((r) => JSON.parse(r.value).claim.claimId);
    assert.deepEqual(
      order,
      a.map((c) => c.claimId),
      "one campaign's events in publish order on its partition",
    );
    const first = JSON.parse(records.find((r) => r.key === "campB")!.value);
    assert.deepEqual(first.claim, {
      claimId: b[0]!.claimId,
      campaignId: "campB",
      userId: "user-0-ü",
      couponCode: b[0]!.couponCode,
      admittedAt: new Date(b[0]!.admittedAt).toISOString(),
      issuedAt: new Date(b[0]!.issuedAt!).toISOString(),
    });
  });

  test("holds: an expired or released claim is its own event, with its own delivery id and event header", async (t) => {
    const topic = testTopic(t, "issued-holds");
    const sink = await openSink(t, topic);
    const [issued, expired, released] = [0, 1, 2].map((i) => {
      const { issuedAt: _, ...c } = claimOf("holds", i);
      return { ...c, expiresAt: c.admittedAt + 60_000 };
    });
    await sink.publish([
      { ...issued!, status: "issued", issuedAt: issued!.admittedAt + 5 },
      { ...expired!, status: "expired", endedAt: expired!.expiresAt },
      { ...released!, status: "released", endedAt: released!.admittedAt + 7 },
    ]);
    const records = await readIssuedTopic({
      brokers: await kafkaBrokers(),
      topic,
      group: testGroup(t, "reader"),
      done: (seen) => seen.length >= 3,
    });
    assert.deepEqual(
      records
        .sort((x, y) => Number(x.offset - y.offset))
        .map((r) => [
          r.headers.get(DELIVERY_ID_HEADER),
          r.headers.get(EVENT_HEADER),
          JSON.parse(r.value).event,
          JSON.parse(r.value).claim.couponCode,
        ]),
      [
        [`iss_${issued!.claimId}`, "claim.issued", "claim.issued", issued!.couponCode],
        [`iss_${expired!.claimId}.expired`, "claim.expired", "claim.expired", undefined],
        [`iss_${released!.claimId}.released`, "claim.released", "claim.released", undefined],
      ],
    );
  });

  test("the claim worker: a failed issued publish fails the batch; it is retried, nothing is missing", async (t) => {
    const brokers = await kafkaBrokers();
    const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "issued") });
    t.after(() => ledger.close());
    await ledger.migrate();
    const redis = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
    const admission = new RedisAdmission({
      redis,
      keys: new RedisKeys(testPrefix(t, "issued")),
      ledger,
      logger,
      sink: outboxSink({ queue: { waitUntilConsumed: async () => undefined }, cap: 1000, logger }),
    });
    t.after(() => admission.close());
    const campaign: Campaign = {
      id: "issued",
      name: "issued topic",
      stock: 300,
      perUserLimit: 1,
      startsAt: null,
      endsAt: null,
      createdAt: Date.now(),
    };
    await ledger.createCampaign(campaign);
    await admission.putCampaign(campaign);
    const claims: Claim[] = [];
    for (let i = 0; i < 300; i++) {
      const outcome = await admission.admit({ campaignId: "issued", userId: `user-${i}` });
      assert.equal(outcome.kind, "admitted");
      claims.push((outcome as { claim: Claim }).claim);
    }

    const claimsQueue = await KafkaQueue.open<Claim>({
      brokers,
      topic: testTopic(t, "claims"),
      partitions: 4,
      group: testGroup(t, "workers"),
      clientId: "stampede-test-issued",
      codec: {
        encode: (c) => JSON.stringify(encodeClaimMessage(c)),
        decode: (d) => decodeClaimMessage(JSON.parse(d.toString("utf8"))),
      },
      keyOf: claimKey,
      logger,
      sessionTimeoutMs: 6000,
    });
    t.after(() => claimsQueue.close());
    const issuedTopic = testTopic(t, "issued");
    const sink = await openSink(t, issuedTopic);
    // The broker refusing the issued topic for the first publishes (as when it is down).
    let calls = 0;
    const failed: string[][] = [];
    const flaky: IssuedSink = {
      async publish(batch) {
        calls++;
        if (calls <= 3) {
          failed.push(batch.map((c) => c.claimId));
          throw new Error("issued topic: broker down");
        }
        await sink.publish(batch);
      },
    };
    const woken: number[] = [];
    const worker = new ClaimWorker({
      queue: claimsQueue,
      ledger,
      admission,
      notifier: new MemoryNotifier(),
      logger,
      batchSize: 50,
      flushIntervalMs: 5,
      issuedSink: fanOut([{ publish: async (c) => void woken.push(c.length) }, flaky]),
    });
    worker.start();
    t.after(() => worker.stop());
    await claimsQueue.publish(claims);

    const records = await readIssuedTopic({
      brokers,
      topic: issuedTopic,
      group: testGroup(t, "reader"),
      done: (_, claimIds) => claimIds.size >= claims.length,
      timeoutMs: 90_000,
    });
    assert.equal(await ledger.issuedCount("issued"), 300, "each claim in the ledger once");
    assert.equal(failed.length, 3, "three publishes failed");
    const published = new Set(records.map((r) => JSON.parse(r.value).claim.claimId as string));
    for (const batch of failed)
      for (const id of batch) assert.ok(published.has(id), `${id} of a failed batch is on the topic`);
    const rows = claims.map((c) => ({ ...rowOf(c) }));
    checkIssuedTopic(records, rows);
    // The claims' offsets were committed once the events were in: nothing is left to consume.
    await eventually(async () => (await claimsQueue.lag()).every((p) => p.lag === 0), 30_000);
    assert.ok(
      woken.reduce((s, n) => s + n, 0) >= claims.length,
      "the webhook sink beside it saw every claim",
    );
  });
});
