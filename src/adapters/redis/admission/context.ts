import type { Redis } from "ioredis";
import type { RedisKeys } from "../keys.ts";
import type { Scripts } from "../scripts.ts";
import type { CampaignDefinitions } from "./definitions.ts";
import type { RedisAdmissionLedger } from "./options.ts";
import type { AdmissionSink } from "./sink.ts";
import type { SoldOutCache } from "./sold-out-cache.ts";
import type { StateLoader } from "./state-loader.ts";

/**
 * What the parts of one RedisAdmission share (admit.ts, claims.ts,
 * lifecycle.ts, erasure.ts), built once by its constructor.
 */
export interface AdmissionContext {
  redis: Redis;
  keys: RedisKeys;
  scripts: Scripts;
  ledger: RedisAdmissionLedger;
  sink: AdmissionSink;
  loader: StateLoader;
  definitions: CampaignDefinitions;
  soldOut: SoldOutCache;
  idempotencyTtlSec: number;
}
