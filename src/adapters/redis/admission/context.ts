import type { Logger } from "pino";
import type { RatePolicy } from "../../../domain/rate-policy.ts";
import type { RedisClient } from "../connection.ts";
import type { RedisKeys } from "../keys.ts";
import type { Scripts } from "../scripts.ts";
import type { CampaignEvents } from "./campaign-events.ts";
import type { CampaignDefinitions } from "./definitions.ts";
import type { MemoryAnswers } from "./memory-answers.ts";
import type { RedisAdmissionLedger } from "./options.ts";
import type { AdmissionSink } from "./sink.ts";
import type { StateLoader } from "./state-loader.ts";

/**
 * What the parts of one RedisAdmission share (admit.ts, claims.ts,
 * lifecycle.ts, erasure.ts), built once by its constructor.
 */
export interface AdmissionContext {
  redis: RedisClient;
  keys: RedisKeys;
  scripts: Scripts;
  ledger: RedisAdmissionLedger;
  logger: Logger;
  sink: AdmissionSink;
  loader: StateLoader;
  definitions: CampaignDefinitions;
  /** What this process answers from memory (410, 403, 409 before any Redis call). */
  memory: MemoryAnswers;
  events: CampaignEvents;
  idempotencyTtlSec: number;
  /** The claim rate limits admit-9.lua decides (RATE_LIMIT_USER / RATE_LIMIT_IP); absent: off. */
  rateUser: RatePolicy | undefined;
  rateIp: RatePolicy | undefined;
}
