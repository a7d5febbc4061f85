import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { PostgresLedger } from "../../src/adapters/postgres/postgres-ledger.ts";
import { RedisAdmission } from "../../src/adapters/redis/admission/redis-admission.ts";
import type { AdmissionSink } from "../../src/adapters/redis/admission/sink.ts";
import { RedisKeys } from "../../src/adapters/redis/keys.ts";
import { streamSink } from "../../src/adapters/redis/streams/claims-sink.ts";
import type { RedisWaitingRoom } from "../../src/adapters/redis/waiting-room/redis-waiting-room.ts";
import type { Campaign } from "../../src/domain/types.ts";
import { DATABASE_URL, REDIS_URL, redisClient, testPrefix, testSchema } from "../helpers/services.ts";
import type { WaitingRoomHarness, WaitingRoomHarnessOptions } from "./waiting-room.ts";

const logger = pino({ level: "silent" });

/**
 * A ledger that answers a campaign's waitingRoom (seed included) even where
 * the ledger's own columns for it are not there yet: the campaigns this test
 * created remember theirs. Where the ledger stores it, it answers the same.
 */
export function withRooms(
  ledger: PostgresLedger,
): PostgresLedger & { rooms: Map<string, Campaign["waitingRoom"]> } {
  const rooms = new Map<string, Campaign["waitingRoom"]>();
  const getCampaign = ledger.getCampaign.bind(ledger);
  return Object.assign(ledger, {
    rooms,
    async getCampaign(campaignId: string): Promise<Campaign | undefined> {
      const campaign = await getCampaign(campaignId);
      const room = rooms.get(campaignId);
      return campaign && room && !campaign.waitingRoom ? { ...campaign, waitingRoom: room } : campaign;
    },
  });
}

export interface RedisRoomHarness extends WaitingRoomHarness {
  room: RedisWaitingRoom;
  admission: RedisAdmission;
  redis: Redis;
  keys: RedisKeys;
  ledger: PostgresLedger;
}

/** RedisAdmission (the stream sink unless `sinkOf` says otherwise) and its waiting room, on the shared services. */
export async function redisRoomHarness(
  t: TestContext,
  options: WaitingRoomHarnessOptions & {
    sinkOf?: (redis: Redis, keys: RedisKeys) => AdmissionSink;
    prefix?: string;
    schema?: string;
  } = {},
): Promise<RedisRoomHarness> {
  const keys = new RedisKeys(options.prefix ?? testPrefix(t, "room"));
  const ledger = withRooms(
    new PostgresLedger({ connectionString: DATABASE_URL, schema: options.schema ?? testSchema(t, "room") }),
  );
  t.after(() => ledger.close());
  await ledger.migrate();
  const redis = redisClient(t, REDIS_URL, { enableAutoPipelining: true });
  const subscriber = redisClient(t, REDIS_URL);
  const admission = new RedisAdmission({
    redis,
    keys,
    ledger,
    logger,
    sink: (options.sinkOf ?? ((r, k) => streamSink({ redis: r, keys: k, cap: 1_000_000 })))(redis, keys),
    rateLimit: options.rateLimit,
  });
  const room = admission.waitingRoom({ subscriber });
  t.after(async () => {
    room.close();
    await admission.close();
  });
  return {
    room,
    admission,
    redis,
    keys,
    ledger,
    async create(campaign) {
      if (campaign.waitingRoom) ledger.rooms.set(campaign.id, campaign.waitingRoom);
      assert.equal(await ledger.createCampaign(campaign), true);
      await admission.putCampaign(campaign);
    },
  };
}
