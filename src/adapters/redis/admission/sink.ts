/**
 * Where the admission script puts an admitted claim, in the same atomic step
 * as the reservation: the campaign's stream (QUEUE=redis, streams/claims-sink.ts)
 * or its outbox, which Kafka mode's relay and API processes drain
 * (QUEUE=kafka, kafka/admission/outbox-sink.ts). RedisAdmission knows neither:
 * it passes the sink's key, mode and cap to admit-9.lua, and asks it what a
 * rebuild must add to the ledger's claims.
 */

import type { Claim } from "../../../domain/types.ts";
import type { CampaignKeys } from "../keys.ts";

export interface AdmissionSink {
  /** ARGV[7] of admit-9.lua: "stream" appends the packed claim (XADD), "outbox" its id (ZADD). */
  readonly mode: "stream" | "outbox";
  /** KEYS[4] of admit-9.lua: the campaign's key the claim goes to. */
  key(keys: CampaignKeys): string;
  /** ARGV[8]: entries the key may hold; past it claims get 503 instead of a 202 that could not be kept. */
  readonly cap: number;
  /**
   * Claims still queued for a campaign, read by a rebuild before the ledger
   * (rebuild.ts). `epoch` 1 is the campaign's first state ever: nothing of it
   * can be queued yet.
   */
  queuedClaims(campaignId: string, context: { epoch: number }): AsyncIterable<Claim>;
  /**
   * True when a rebuild waits until the workers consumed everything queued,
   * then counts the ledger (Kafka): markWritten then lets a batch through while
   * the campaign is being rebuilt, since holding it back would keep the
   * rebuild waiting forever. False (streams): the batch fails and is retried
   * after the rebuild, which reads it from the stream.
   */
  readonly rebuildWaitsForWorkers: boolean;
}
