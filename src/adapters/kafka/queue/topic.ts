/**
 * The topic itself: created when missing (several processes may start at
 * once; the one that loses the race finds it created), and described for
 * `stampede doctor` (what a 202 survives depends on its replication).
 */

import { setTimeout as sleep } from "node:timers/promises";
import { type Admin, ConfigResourceTypes, findErrorBy } from "@platformatic/kafka";
import type { TopicDescription } from "./types.ts";

export interface TopicSpec {
  topic: string;
  partitions: number;
  /** Default: min(3, brokers in the cluster). */
  replicationFactor?: number;
}

/** Creates the topic when it does not exist; returns true when this call created it. */
export async function ensureTopic(admin: Admin, spec: TopicSpec): Promise<boolean> {
  const existing = await admin.listTopics();
  if (existing.includes(spec.topic)) return false;
  const metadata = await admin.metadata({ topics: [] });
  const brokers = metadata.brokers.size;
  const replicas = spec.replicationFactor ?? Math.min(3, brokers);
  // acks=all waits for min.insync.replicas copies: with 3 replicas, 2 must
  // hold each claim before its 202, so one broker may be lost without losing
  // a 202 and the topic still accepts claims while one broker is down.
  const minIsr = replicas >= 3 ? 2 : replicas;
  try {
    await admin.createTopics({
      topics: [spec.topic],
      partitions: spec.partitions,
      replicas,
      configs: [
        { name: "min.insync.replicas", value: String(minIsr) },
        { name: "unclean.leader.election.enable", value: "false" },
      ],
    });
  } catch (error) {
    if (!findErrorBy(error as Error, "apiId", "TOPIC_ALREADY_EXISTS")) throw error;
    // Another process created it a moment ago (with its own partition count).
    await untilReady(admin, spec.topic, undefined);
    return false;
  }
  await untilReady(admin, spec.topic, spec.partitions);
  return true;
}

/**
 * Waits until every partition of a new topic has a leader. Right after
 * CreateTopics the broker's metadata can list only some partitions, or some
 * without a leader: a producer then maps keys with the wrong partition count,
 * and a produce request partly fails and is retried whole (a plain producer
 * writes the partitions that had succeeded twice; see
 * test/issues/producer-retry-duplicates.test.ts).
 */
async function untilReady(admin: Admin, topic: string, partitions: number | undefined): Promise<void> {
  const deadline = performance.now() + 30_000;
  // Without the expected count, two equal answers in a row stand for it.
  let previous = -1;
  for (;;) {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
    const info = metadata?.topics.get(topic);
    const count = info?.partitionsCount ?? 0;
    const led =
      info !== undefined && count > 0 && info.partitions.every((p) => p !== undefined && p.leader >= 0);
    if (led && (partitions === undefined ? count === previous : count >= partitions)) return;
    previous = led ? count : -1;
    if (performance.now() > deadline) throw new Error(`topic ${topic}: not every partition has a leader yet`);
    await sleep(100);
  }
}

export async function describeTopic(admin: Admin, topic: string): Promise<TopicDescription | undefined> {
  if (!(await admin.listTopics()).includes(topic)) return undefined;
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
  const info = metadata.topics.get(topic);
  if (!info) return undefined;
  const [config] = await admin.describeConfigs({
    resources: [
      {
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: topic,
        configurationKeys: ["min.insync.replicas", "unclean.leader.election.enable"],
      },
    ],
  });
  const value = (name: string) => config?.configs.find((c) => c.name === name)?.value ?? undefined;
  return {
    topic,
    partitions: info.partitionsCount,
    replicationFactor: Math.min(...info.partitions.map((p) => p.replicas.length)),
    minIsr: Math.min(...info.partitions.map((p) => p.isr.length)),
    minInsyncReplicas: Number(value("min.insync.replicas") ?? 1),
    uncleanLeaderElection: value("unclean.leader.election.enable") === "true",
    brokers: metadata.brokers.size,
  };
}
