/**
 * What the waiting-room scenario drives besides HTTP: a RedisWaitingRoom on
 * a running system's Redis prefix and PostgreSQL schema, standing in for the
 * API process where the build has no waiting-room routes (--via store), and
 * the Redis figures read around it (the line's memory, the release's
 * timing, the scripts' cost from INFO commandstats).
 */
import type { Redis } from "ioredis";
import { pino } from "pino";
import { PostgresLedger } from "../../src/adapters/postgres/postgres-ledger.ts";
import { redisConnection } from "../../src/adapters/redis/connection.ts";
import {
  RedisAdmission,
  RedisKeys,
  type RedisWaitingRoom,
  streamSink,
} from "../../src/adapters/redis/index.ts";
import type { Campaign } from "../../src/domain/types.ts";
import { DATABASE_URL, REDIS_URL } from "./services.ts";

export interface StoreApi {
  room: RedisWaitingRoom;
  create(campaign: Campaign): Promise<void>;
  close(): Promise<void>;
}

/**
 * RedisAdmission and its waiting room on the system's prefix and schema.
 * The ledger answers each campaign's waitingRoom as created here, also where
 * its own columns for it are not there yet.
 */
export async function storeApi(prefix: string, schema: string): Promise<StoreApi> {
  const logger = pino({ level: "silent" });
  const redis = redisConnection({
    url: REDIS_URL,
    name: "bench-room-api",
    use: "commands",
    logger,
    commandTimeoutMs: 10_000,
    connectTimeoutMs: 5000,
  });
  await redis.connect();
  const keys = new RedisKeys(prefix);
  const rooms = new Map<string, Campaign["waitingRoom"]>();
  const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema });
  const getCampaign = ledger.getCampaign.bind(ledger);
  ledger.getCampaign = async (id: string) => {
    const campaign = await getCampaign(id);
    const room = rooms.get(id);
    return campaign && room && !campaign.waitingRoom ? { ...campaign, waitingRoom: room } : campaign;
  };
  const admission = new RedisAdmission({
    redis,
    keys,
    ledger,
    logger,
    sink: streamSink({ redis, keys, cap: 10_000_000 }),
  });
  return {
    room: admission.waitingRoom(),
    async create(campaign) {
      rooms.set(campaign.id, campaign.waitingRoom);
      await ledger.createCampaign(campaign);
      await admission.putCampaign(campaign);
    },
    async close() {
      await admission.close();
      await ledger.close();
      redis.disconnect();
    },
  };
}

/** INFO commandstats of EVALSHA: calls and µs so far (Redis's own time running scripts). */
export async function evalshaStats(redis: Redis): Promise<{ calls: number; usec: number }> {
  const match = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(await redis.info("commandstats"));
  return { calls: Number(match?.[1] ?? 0), usec: Number(match?.[2] ?? 0) };
}

export async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? Number.NaN);
}

/**
 * The line's head: when the first ticket was released, by its claim's
 * admittedAt (Redis TIME), or undefined while none is.
 */
export async function firstReleaseAt(
  redis: Redis,
  keys: RedisKeys,
  campaignId: string,
): Promise<number | undefined> {
  const k = keys.campaign(campaignId);
  const [head] = await redis.zrangeBuffer(k.line, "0", "0");
  if (!head) return undefined;
  const record = await redis.hget(k.tickets, head.subarray(-22).toString());
  const claimId = record?.split("\u001f")[2];
  if (!claimId) return undefined;
  const packed = await redis.hget(k.claims, claimId);
  // Issued already (it left Redis): the ledger has it; the caller polls often enough not to need it.
  return packed ? Number(packed.split("\u001f")[7]) : undefined;
}
