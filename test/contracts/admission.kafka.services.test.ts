import { KafkaAdmission } from "../../src/adapters/kafka/admission/kafka-admission.ts";
import { Outbox } from "../../src/adapters/kafka/admission/outbox.ts";
import { outboxSink } from "../../src/adapters/kafka/admission/outbox-sink.ts";
import { claimKey } from "../../src/adapters/kafka/claims.ts";
import { KafkaQueue } from "../../src/adapters/kafka/queue/index.ts";
import type { Claim } from "../../src/domain/types.ts";
import { kafkaBrokers, skipWithoutKafka, testGroup, testTopic } from "../helpers/kafka.ts";
import { skipWithoutServices } from "../helpers/services.ts";
import { admissionContract } from "./admission.ts";
import { logger, redisHarness } from "./admission-redis-harness.ts";

/**
 * Distributed mode with QUEUE=kafka: RedisAdmission with the outbox sink,
 * behind KafkaAdmission, which answers an admission only once the broker
 * acknowledged the claim (a topic of the test's own).
 */
const skip = (await skipWithoutServices()) || (await skipWithoutKafka());

admissionContract(
  "kafka (outbox sink, KafkaAdmission)",
  async (t, options) => {
    const queue = await KafkaQueue.open<Claim>({
      brokers: await kafkaBrokers(),
      topic: testTopic(t, "contract"),
      partitions: 1,
      group: testGroup(t, "contract"),
      clientId: "stampede-test-contract",
      codec: { encode: (claim) => JSON.stringify(claim), decode: (data) => JSON.parse(data.toString()) },
      keyOf: claimKey,
      logger,
    });
    t.after(() => queue.close());
    return redisHarness(
      t,
      () => outboxSink({ queue, cap: 100_000, logger }),
      (inner, redis, keys) =>
        new KafkaAdmission({
          inner,
          outbox: new Outbox(redis, keys),
          publish: (claims) => queue.publish(claims),
          logger,
          slowMs: 10_000,
        }),
      options,
    );
  },
  skip,
);
