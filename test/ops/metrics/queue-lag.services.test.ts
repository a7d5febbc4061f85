import assert from "node:assert/strict";
import { test } from "node:test";
import { pino } from "pino";
import { RedisStreamQueue } from "../../../src/adapters/redis/streams/redis-stream-queue.ts";
import { Metrics } from "../../../src/ops/metrics/metrics.ts";
import { redisClient, skipWithoutServices, testPrefix } from "../../helpers/services.ts";

/** /metrics stays bounded with one Redis stream per campaign: the queue lag is labelled by consumer group. */
const skip = await skipWithoutServices();

test("queue lag of one Redis stream per campaign is one series per consumer group, unless METRICS_CAMPAIGN_LABELS", {
  skip: skip,
  timeout: 30_000,
}, async (t) => {
  const redis = redisClient(t);
  const prefix = testPrefix(t, "lag");
  const streams = Array.from({ length: 40 }, (_, i) => `${prefix}:{tag${i}}:c:campaign-${i}:stream`);
  const queue = new RedisStreamQueue<{ n: number }>({
    redis,
    blocking: redisClient(t),
    streams: async () => streams,
    streamFor: (value) => streams[value.n]!,
    group: "stampede-claim-workers",
    consumer: "c1",
    codec: { encode: (v) => JSON.stringify(v), decode: (s) => JSON.parse(s) as { n: number } },
    logger: pino({ level: "silent" }),
    maxLen: 1000,
    claimIdleMs: 60_000,
  });
  await queue.publish(streams.map((_, n) => ({ n })));
  const lagSeriesOf = async (campaignLabels: boolean) => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.setQueueLagSource(() => queue.lag(), { campaignLabels });
    return (await metrics.text()).split("\n").filter((line) => line.startsWith("stampede_queue_lag{"));
  };
  assert.deepEqual(await lagSeriesOf(false), ['stampede_queue_lag{source="stampede-claim-workers"} 40']);
  const perCampaign = await lagSeriesOf(true);
  assert.equal(perCampaign.length, 40);
  assert.ok(perCampaign.some((line) => line.includes("campaign-7")));
});
