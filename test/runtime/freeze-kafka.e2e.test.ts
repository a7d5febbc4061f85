import { test } from "node:test";
import { startCluster } from "../helpers/distributed.ts";
import { freezeUnderTraffic } from "../helpers/freeze.ts";
import { kafkaEnv, ownBroker, skipWithoutKafka } from "../helpers/kafka.ts";
import { skipWithoutServices } from "../helpers/services.ts";

/**
 * The Kafka broker hangs (SIGSTOP of a broker of the test's own) for 4 s
 * under steady claims, QUEUE=kafka: a 202 waits for Kafka's acknowledgement,
 * which does not come. Claims in flight are answered 503 at REQUEST_TIMEOUT_MS
 * (their reservation stays in the outbox: the retry answers 409 naming it),
 * then the breaker answers 503 at once with nothing reserved; the worker's
 * fetches and commits fail after KAFKA_REQUEST_TIMEOUT_MS and are retried.
 * Once the broker resumes, claims are admitted again, the relay sends what
 * the outbox kept, and every 202 is issued exactly once.
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());
const REQUEST_TIMEOUT_MS = 1000;

test("the Kafka broker hangs for 4 s mid-traffic: every request answered in time, recovery, every 202 issued once", {
  skip,
  timeout: 300_000,
}, async (t) => {
  const broker = await ownBroker(t);
  t.after(() => broker.thaw());
  const env = await kafkaEnv(t, {
    KAFKA_BROKERS: broker.brokers.join(","),
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  });
  const cluster = await startCluster(t, { apis: 1, workers: 1, env });
  const stock = 100_000;
  await cluster.createCampaign({ id: "frozen-kafka", name: "Kafka hangs", stock });
  await freezeUnderTraffic({
    cluster,
    campaignId: "frozen-kafka",
    stock,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    freeze: broker.freeze,
    thaw: broker.thaw,
    log: (line) => t.diagnostic(line),
  });
});
