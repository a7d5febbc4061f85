import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Producer, stringSerializers } from "@platformatic/kafka";
import { pino } from "pino";
import {
  DEFAULTS,
  deliveryBoundMs,
  PRODUCER_MIN_RETRIES,
  producerRetries,
  resolveOptions,
} from "../../src/adapters/kafka/queue/options.ts";
import { Publisher } from "../../src/adapters/kafka/queue/publisher.ts";

/**
 * @platformatic/kafka's idempotent producer retries forever unless told
 * otherwise (retries defaults to Number.MAX_SAFE_INTEGER when idempotent).
 * stampede's API must answer within its request timeout and a rebuild after
 * a Redis loss must know how long a produce can stay in flight, so the
 * producer's retries are bounded: with no broker answering, publish fails
 * within the delivery bound. (No broker is needed: a port nobody listens on.)
 *
 * The client also takes retries 0 and 1 to mean "forever" (`retries <= 1`
 * becomes Number.MAX_SAFE_INTEGER for an idempotent producer). stampede's
 * default used to be 1: after a broker's kill -9, a produce whose batch
 * mixed partitions that had moved to different leaders was retried for
 * minutes, and every claim behind it was answered 503
 * (test/runtime/cluster/kafka-brokers.e2e.test.ts; docs/kafka-client.md).
 */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("with no broker, stampede's publisher fails within its delivery bound; the client's default would not", async (t) => {
  const brokers = [`127.0.0.1:${await freePort()}`];
  const options = resolveOptions<string>({
    brokers,
    topic: "nowhere",
    partitions: 1,
    group: "nobody",
    clientId: "issue-retries",
    codec: { encode: (v) => v, decode: (b) => b.toString() },
    keyOf: (v) => v,
    logger: pino({ level: "silent" }),
    requestTimeoutMs: 500,
    connectTimeoutMs: 500,
    retries: 2,
    retryDelayMs: 100,
  });
  const bound = deliveryBoundMs(options);
  const publisher = new Publisher(options as never);
  t.after(() => publisher.close());
  const started = performance.now();
  await assert.rejects(publisher.send([{ key: "k", value: "v" }]), /did not acknowledge/);
  const took = performance.now() - started;
  assert.ok(took <= bound + 1000, `took ${Math.round(took)} ms, bound ${bound} ms`);

  // The client's defaults for an idempotent producer: still trying long after that.
  const raw = new Producer({
    clientId: "issue-retries-raw",
    bootstrapBrokers: brokers,
    idempotent: true,
    retryDelay: 100,
    serializers: stringSerializers,
  });
  let settled = false;
  const sending = raw.send({ messages: [{ topic: "nowhere", key: "k", value: "v" }] }).then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(bound + 1500);
  assert.equal(settled, false, "the default idempotent producer gave up (retries no longer unbounded?)");
  await raw.close(true).catch(() => undefined);
  await sending;
});

test("retries 0 or 1 (the client's 'forever') still give a bounded producer; the client's own would not settle", async (t) => {
  assert.ok(DEFAULTS.retries >= PRODUCER_MIN_RETRIES, "the default is bounded as it stands");
  for (const retries of [0, 1, undefined]) {
    const brokers = [`127.0.0.1:${await freePort()}`];
    const options = resolveOptions<string>({
      brokers,
      topic: "nowhere",
      partitions: 1,
      clientId: "issue-retries-low",
      codec: { encode: (v) => v, decode: (b) => b.toString() },
      keyOf: (v) => v,
      logger: pino({ level: "silent" }),
      requestTimeoutMs: 500,
      connectTimeoutMs: 500,
      retryDelayMs: 100,
      ...(retries === undefined ? {} : { retries }),
    });
    assert.equal(producerRetries(options), Math.max(PRODUCER_MIN_RETRIES, options.retries));
    const bound = deliveryBoundMs(options);
    const publisher = new Publisher(options as never);
    t.after(() => publisher.close());
    const started = performance.now();
    await assert.rejects(publisher.send([{ key: "k", value: "v" }]), /did not acknowledge/);
    const took = performance.now() - started;
    assert.ok(took <= bound + 1000, `retries ${retries}: took ${Math.round(took)} ms, bound ${bound} ms`);
  }

  // The client itself, told retries 1: still trying long after that.
  const brokers = [`127.0.0.1:${await freePort()}`];
  const raw = new Producer({
    clientId: "issue-retries-raw-1",
    bootstrapBrokers: brokers,
    idempotent: true,
    retries: 1,
    retryDelay: 100,
    connectTimeout: 500,
    serializers: stringSerializers,
  });
  let settled = false;
  const sending = raw.send({ messages: [{ topic: "nowhere", key: "k", value: "v" }] }).then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(3000);
  assert.equal(settled, false, "the client now honours retries 1 (PRODUCER_MIN_RETRIES may go)");
  await raw.close(true).catch(() => undefined);
  await sending;
});
