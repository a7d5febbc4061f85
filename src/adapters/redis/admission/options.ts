import type { Logger } from "pino";
import type { RateLimitOptions } from "../../../domain/rate-policy.ts";
import type { Campaign, Claim } from "../../../domain/types.ts";
import type { RedisClient } from "../connection.ts";
import type { RedisKeys } from "../keys.ts";
import type { RebuildLedger } from "./rebuild.ts";
import { DEFAULT_RETENTION_GRACE_MS } from "./retention.ts";
import type { AdmissionSink } from "./sink.ts";

/**
 * What RedisAdmission reads from the ledger (PostgresLedger): rebuilds,
 * retired campaigns, holders' issued claims, and claims that have left Redis
 * (a confirm or release of a hold the ledger holds final).
 */
export interface RedisAdmissionLedger extends RebuildLedger {
  listCampaigns(): Promise<Campaign[]>;
  userClaims(campaignId: string, userId: string): Promise<Claim[]>;
  issuedCount(campaignId: string): Promise<number>;
  findClaim(claimId: string): Promise<Claim | undefined>;
}

export interface RedisAdmissionOptions {
  /** Commands (auto-pipelined); the scripts are defined on it. */
  redis: RedisClient;
  keys: RedisKeys;
  ledger: RedisAdmissionLedger;
  logger: Logger;
  /** Where admitted claims go: the campaign's stream, or Kafka mode's outbox. */
  sink: AdmissionSink;
  /** How long an Idempotency-Key's first answer is remembered (IDEMPOTENCY_TTL_S). */
  idempotencyTtlSec?: number;
  /**
   * SOLD_OUT_CACHE_MAX_HOLDERS: campaigns with at most this many holders are
   * answered from memory once they refuse everyone (sold out, closed, ended,
   * paused); 0 turns memory answers off (workers).
   */
  soldOutCacheMaxHolders?: number;
  /** The connection the campaign events channel is read on (API processes; shareable with the notifier's). */
  subscriber?: RedisClient;
  /** RATE_LIMIT_USER / RATE_LIMIT_IP, decided in the admission script (admit-9.lua): per campaign. */
  rateLimit?: RateLimitOptions;
  /** How long a claim waits for a rebuild before it is answered 503. */
  rebuildWaitMs?: number;
  /** REDIS_RETENTION_GRACE_S in ms: campaigns ended longer ago live in the ledger only (retention.ts). */
  retentionGraceMs?: number;
  /** Campaign definitions remembered per process (unknown ids included): at most this many... */
  definitionCacheSize?: number;
  /** ...each for this long (they change only through the ledger, a rebuild or a lifecycle change). */
  definitionTtlMs?: number;
}

export const DEFAULTS = {
  idempotencyTtlSec: 24 * 3600,
  soldOutCacheMaxHolders: 100_000,
  rebuildWaitMs: 10_000,
  retentionGraceMs: DEFAULT_RETENTION_GRACE_MS,
  definitionCacheSize: 10_000,
  definitionTtlMs: 1000,
} as const;

export type ResolvedRedisAdmissionOptions = RedisAdmissionOptions & {
  [K in keyof typeof DEFAULTS]: number;
};

export function resolveOptions(options: RedisAdmissionOptions): ResolvedRedisAdmissionOptions {
  const out = { ...options } as ResolvedRedisAdmissionOptions;
  for (const [name, value] of Object.entries(DEFAULTS) as [keyof typeof DEFAULTS, number][])
    out[name] ??= value;
  return out;
}
