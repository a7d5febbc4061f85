/**
 * QUEUE=kafka: the admission script puts an admitted claim in its campaign's
 * outbox (outbox.ts), from which KafkaAdmission (or, failing that, the relay)
 * produces it to Kafka.
 *
 * What a rebuild after a Redis loss counts as "still queued" is then nothing,
 * once the workers have consumed the topic up to its end. The rebuild
 * (redis/admission/rebuild.ts) reads the queue first and the ledger second; a
 * Kafka topic cannot be searched for one campaign's claims, so instead it
 * waits until every claim in the topic, and every claim whose produce may
 * still be in flight, has been written to the ledger and committed (lag 0 up
 * to the end of the topic as it stood after the delivery bound). The ledger
 * then holds every acknowledged claim, and the rebuild reads it next.
 *
 * While it waits, the campaign is marked `rebuilding`: claims of it are
 * answered 503, and the workers' markWritten lets their batches through
 * (rebuildWaitsForWorkers), so they commit and the lag can reach 0.
 */

import type { Logger } from "pino";
import type { Claim } from "../../../domain/types.ts";
import type { AdmissionSink } from "../../redis/admission/sink.ts";

export interface ConsumedWaiter {
  waitUntilConsumed(options?: { settleMs?: number; pollMs?: number }): Promise<void>;
}

export function outboxSink(options: { queue: ConsumedWaiter; cap: number; logger: Logger }): AdmissionSink {
  const { queue, cap, logger } = options;
  return {
    mode: "outbox",
    key: (k) => k.outbox,
    cap,
    queuedClaims: (campaignId, context) => topicConsumed(queue, logger, campaignId, context.epoch),
    rebuildWaitsForWorkers: true,
  };
}

async function* topicConsumed(
  queue: ConsumedWaiter,
  logger: Logger,
  campaignId: string,
  epoch: number,
): AsyncIterable<Claim> {
  // The campaign's first state ever: none of its claims can be in the topic.
  if (epoch === 1) return;
  const started = performance.now();
  logger.info({ campaignId }, "rebuild: waiting until the workers consumed the claims topic to its end");
  await queue.waitUntilConsumed();
  logger.info(
    { campaignId, ms: Math.round(performance.now() - started) },
    "rebuild: claims topic consumed; rebuilding from the ledger",
  );
  // Every claim of the topic is in the ledger now: nothing else is queued.
  yield* NOTHING;
}

const NOTHING: Claim[] = [];
