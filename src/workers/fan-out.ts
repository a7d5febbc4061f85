import type { Claim } from "../domain/types.ts";
import type { IssuedSink } from "../ports/delivery.ts";

/** Several sinks as one (e.g. the webhook dispatcher and a Kafka topic); fails if any fails. */
export function fanOut(sinks: readonly IssuedSink[]): IssuedSink {
  return {
    async publish(claims: readonly Claim[]) {
      await Promise.all(sinks.map((sink) => sink.publish(claims)));
    },
  };
}
