import assert from "node:assert/strict";
import { Consumer, stringDeserializers } from "@platformatic/kafka";
import { DELIVERY_ID_HEADER, EVENT_HEADER } from "../../src/adapters/kafka/issued-sink.ts";
import { parseClaimEvent } from "../../src/domain/issued-event.ts";
import { claimIdOfDelivery, deliveryIdOf } from "../../src/ports/delivery.ts";

/**
 * Reading Kafka mode's `issued` topic the way a shop's consumer would (a
 * consumer group of its own, from the earliest offset), and checking it
 * against the ledger's rows.
 */
export interface IssuedRecord {
  key: string;
  partition: number;
  offset: bigint;
  headers: Map<string, string>;
  value: string;
}

/**
 * Reads the topic from the start until `done` holds, given the records so far
 * and the claim ids they carry (by the delivery id header: what a consumer
 * deduplicates on); throws with what it saw after `timeoutMs`.
 */
export async function readIssuedTopic(options: {
  brokers: string[];
  topic: string;
  group: string;
  done: (records: readonly IssuedRecord[], claimIds: ReadonlySet<string>) => boolean;
  timeoutMs?: number;
}): Promise<IssuedRecord[]> {
  const consumer = new Consumer({
    clientId: "stampede-test-issued-reader",
    groupId: options.group,
    bootstrapBrokers: options.brokers,
    autocommit: false,
    deserializers: stringDeserializers,
  });
  const records: IssuedRecord[] = [];
  const claimIds = new Set<string>();
  try {
    const stream = await consumer.consume({ topics: [options.topic], mode: "earliest", maxWaitTime: 200 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`issued topic ${options.topic}: condition not met after ${records.length} record(s)`),
          ),
        options.timeoutMs ?? 60_000,
      );
      stream.on("data", (m) => {
        records.push({
          key: m.key,
          partition: m.partition,
          offset: m.offset,
          headers: m.headers,
          value: m.value,
        });
        claimIds.add(claimIdOf(m.headers.get(DELIVERY_ID_HEADER)));
        if (options.done(records, claimIds)) {
          clearTimeout(timer);
          resolve();
        }
      });
      stream.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return records;
  } finally {
    await consumer.close(true);
  }
}

const claimIdOf = (deliveryId: string | undefined): string =>
  (deliveryId && claimIdOfDelivery(deliveryId)) ?? "";

export interface IssuedLedgerRow {
  claim_id: string;
  campaign_id: string;
  user_id: string;
  coupon_code: string;
}

/**
 * Every record is an IssuedEvent v1 whose deliveryId header equals the body's
 * and whose key is its campaign; every claim of the ledger is there (at least
 * once), nothing else is, and a campaign's records share one partition.
 * Returns how many records were repeats (at least once: a retried batch).
 */
export function checkIssuedTopic(records: readonly IssuedRecord[], rows: readonly IssuedLedgerRow[]): number {
  const ledger = new Map(rows.map((r) => [r.claim_id, r]));
  const seen = new Set<string>();
  const partitionOf = new Map<string, number>();
  let repeats = 0;
  for (const record of records) {
    const where = `${record.partition}@${record.offset}`;
    const event = parseClaimEvent(JSON.parse(record.value));
    assert.equal(event.ver, 1, `${where}: version`);
    assert.equal(record.headers.get(DELIVERY_ID_HEADER), event.deliveryId, `${where}: delivery id header`);
    assert.equal(record.headers.get(EVENT_HEADER), "claim.issued", `${where}: event header`);
    if (event.event !== "claim.issued") assert.fail(`${where}: ${event.event} on a campaign without holds`);
    assert.equal(event.deliveryId, deliveryIdOf(event.claim.claimId), `${where}: delivery id of the claim`);
    assert.equal(record.key, event.claim.campaignId, `${where}: key is the campaign id`);
    const row = ledger.get(event.claim.claimId);
    assert.ok(row, `${where}: event for ${event.claim.claimId}, which is not in the ledger`);
    assert.equal(event.claim.campaignId, row.campaign_id, `${where}: campaign`);
    assert.equal(event.claim.userId, row.user_id, `${where}: user`);
    assert.equal(event.claim.couponCode, row.coupon_code, `${where}: coupon code`);
    const partition = partitionOf.get(record.key) ?? record.partition;
    assert.equal(record.partition, partition, `${where}: campaign ${record.key} on two partitions`);
    partitionOf.set(record.key, partition);
    if (seen.has(event.claim.claimId)) repeats++;
    seen.add(event.claim.claimId);
  }
  const missing = rows.filter((r) => !seen.has(r.claim_id));
  assert.deepEqual(
    missing.map((r) => r.claim_id).slice(0, 5),
    [],
    `${missing.length} issued claim(s) missing from the issued topic`,
  );
  return repeats;
}
