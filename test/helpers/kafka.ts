import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Admin } from "@platformatic/kafka";
import { closeClient } from "../../src/adapters/kafka/close.ts";
import { freePort } from "./net.ts";
import { skipOrFail } from "./services.ts";

/**
 * The Kafka broker the tests use: KAFKA_BROKERS when set (scripts/test.sh
 * starts one broker for the whole run and exports it), else the project's
 * own single-node broker (scripts/kafka.sh), started here when it is not
 * running and stopped when this test process exits. A broker that does not
 * answer, or no Java/Maven to start one, skips the Kafka tests with the
 * reason, except when CI=true: then they fail (skipOrFail in services.ts).
 */
const run = promisify(execFile);
export const KAFKA_SCRIPT = fileURLToPath(new URL("../../scripts/kafka.sh", import.meta.url));

type After = { after: (fn: () => Promise<void> | void) => void };

let brokers: Promise<{ brokers: string[] } | { missing: string }> | undefined;

function resolveBrokers(): Promise<{ brokers: string[] } | { missing: string }> {
  brokers ??= (async () => {
    const fromEnv = process.env.KAFKA_BROKERS?.split(",").filter(Boolean);
    if (fromEnv?.length) {
      const silent = await unreachable(fromEnv[0]!);
      return silent
        ? { missing: `Kafka at ${fromEnv[0]} (KAFKA_BROKERS) does not answer: ${silent}` }
        : { brokers: fromEnv };
    }
    try {
      const { stdout } = await run(KAFKA_SCRIPT, ["status"]);
      return { brokers: [stdout.trim()] };
    } catch {
      // not running: start it below
    }
    try {
      const { stdout } = await run(KAFKA_SCRIPT, ["start"], { timeout: 300_000 });
      process.once("exit", () => {
        // The broker started for this test process alone; the exit hook must be synchronous.
        try {
          execFileSync(KAFKA_SCRIPT, ["stop"], { stdio: "ignore" });
        } catch {
          // best effort
        }
      });
      return { brokers: [stdout.trim().split("\n").at(-1)!] };
    } catch (error) {
      return {
        missing: `cannot start Kafka with scripts/kafka.sh: ${(error as Error).message.split("\n")[0]}`,
      };
    }
  })();
  return brokers;
}

/** Why a TCP connection to "host:port" fails, or undefined when it opens. */
async function unreachable(broker: string): Promise<string | undefined> {
  const colon = broker.lastIndexOf(":");
  const socket = connect({ host: broker.slice(0, colon), port: Number(broker.slice(colon + 1)) });
  socket.setTimeout(3000, () => socket.destroy(new Error("no answer within 3 s")));
  try {
    await once(socket, "connect");
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    socket.destroy();
  }
}

/** The `skip` option for Kafka tests (never skips when CI=true: it throws). */
export async function skipWithoutKafka(): Promise<string | false> {
  const found = await resolveBrokers();
  return skipOrFail("brokers" in found ? undefined : found.missing);
}

export async function kafkaBrokers(): Promise<string[]> {
  const found = await resolveBrokers();
  if (!("brokers" in found)) throw new Error(found.missing);
  return found.brokers;
}

export const uniqueKafkaName = (label: string) => `t-${label}-${randomBytes(5).toString("hex")}`;

/**
 * Topics and groups the tests of this file created, deleted once all of them
 * ended (after every test's own cleanup closed its clients: a group with
 * members cannot be deleted).
 */
const createdTopics = new Set<string>();
const createdGroups = new Set<string>();
// Registered when this module loads (at the top level of a test file), so it
// is a root hook: it runs after every test of the file.
after(async () => {
  if (createdTopics.size === 0 && createdGroups.size === 0) return;
  const admin = new Admin({ clientId: "stampede-test-cleanup", bootstrapBrokers: await kafkaBrokers() });
  try {
    if (createdGroups.size > 0)
      await admin.deleteGroups({ groups: [...createdGroups] }).catch(() => undefined);
    const existing = new Set(await admin.listTopics());
    const doomed = [...createdTopics].filter((t) => existing.has(t));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  } catch {
    // best effort: the broker may be down after a fault test
  } finally {
    await closeClient(admin);
  }
});

/** A fresh topic name; the topic (if created) is deleted when the file's tests end. */
export function testTopic(_t: After, label = "topic"): string {
  const topic = uniqueKafkaName(label);
  createdTopics.add(topic);
  return topic;
}

/** A fresh consumer group name; the group is deleted when the file's tests end. */
export function testGroup(_t: After, label = "group"): string {
  const group = uniqueKafkaName(label);
  createdGroups.add(group);
  return group;
}

export async function deleteTopics(topics: string[]): Promise<void> {
  const admin = new Admin({ clientId: "stampede-test-cleanup", bootstrapBrokers: await kafkaBrokers() });
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = topics.filter((t) => existing.has(t));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed });
  } catch {
    // best effort: the broker may be down in a fault test
  } finally {
    await closeClient(admin);
  }
}

/** An Admin client closed when the test ends. */
export async function testAdmin(t: After): Promise<Admin> {
  const admin = new Admin({ clientId: "stampede-test", bootstrapBrokers: await kafkaBrokers() });
  t.after(() => closeClient(admin));
  return admin;
}

/**
 * Kafka client timeouts for tests that wait out a produce's delivery bound (a rebuild after a Redis
 * loss does): 3 attempts x (2 s connect + 2 x 2 s request + 250 ms) = about 19 s instead of 28 s.
 */
export const SHORT_KAFKA_TIMEOUTS = {
  KAFKA_REQUEST_TIMEOUT_MS: "2000",
  KAFKA_CONNECT_TIMEOUT_MS: "2000",
} as const;

/**
 * The environment of a distributed cluster in Kafka mode (test/helpers/distributed.ts
 * startCluster): its own topics and consumer groups (claims, tasks, issued), deleted
 * when the file's tests end, and short timeouts so that takeovers happen within a
 * test's patience.
 */
export async function kafkaEnv(
  t: After,
  overrides: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    QUEUE: "kafka",
    KAFKA_BROKERS: (await kafkaBrokers()).join(","),
    KAFKA_TOPIC: testTopic(t, "claims"),
    KAFKA_GROUP: testGroup(t, "workers"),
    KAFKA_TASKS_TOPIC: testTopic(t, "tasks"),
    KAFKA_TASKS_GROUP: testGroup(t, "task-workers"),
    KAFKA_ISSUED_TOPIC: testTopic(t, "issued"),
    KAFKA_PARTITIONS: "12",
    KAFKA_SESSION_TIMEOUT_MS: "6000",
    KAFKA_OUTBOX_LEASE_MS: "3000",
    KAFKA_RELAY_INTERVAL_MS: "250",
    ...overrides,
  };
}

export interface OwnBroker {
  brokers: string[];
  kill9(): Promise<void>;
  restartKeep(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP of the broker's JVM: it hangs with its connections open, as a stalled host would. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

/**
 * A broker of the test's own (scripts/kafka.sh with its own state folder and
 * free ports), for tests that kill or stop it: the shared one stays up for
 * the other tests. Stopped and removed when the test ends. About 1 GB of heap.
 */
export async function ownBroker(t: After): Promise<OwnBroker> {
  const stateDir = mkdtempSync(join(tmpdir(), "stampede-kafka-own-"));
  const env = {
    ...process.env,
    KAFKA_STATE_DIR: stateDir,
    KAFKA_PORT: String(await freePort()),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
  };
  const kafka = (command: string) => run(KAFKA_SCRIPT, [command], { env, timeout: 300_000 });
  const { stdout } = await kafka("start");
  const broker = stdout.trim().split("\n").at(-1)!;
  // The JVM's pid, as scripts/kafka.sh wrote it (it changes with restartKeep()).
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(Number(readFileSync(join(stateDir, "broker.pid"), "utf8").trim()), name);
    } catch {
      // not running
    }
  };
  t.after(async () => {
    // A stopped JVM would not act on the SIGTERM of `stop` until it is continued.
    signal("SIGCONT");
    await kafka("stop").catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });
  return {
    brokers: [broker],
    kill9: async () => {
      await kafka("kill9");
    },
    restartKeep: async () => {
      await kafka("restart-keep");
    },
    stop: async () => {
      await kafka("stop");
    },
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
  };
}

export interface OwnKafkaCluster {
  /** host:port of each broker, node 1 first. */
  brokers: string[];
  /** kill -9 of node I (1-based). */
  kill9(node: number): Promise<void>;
  restartKeep(node: number): Promise<void>;
}

/**
 * A Kafka cluster of the test's own: scripts/kafka.sh start --brokers N
 * (each node broker and controller, 256-512 MB of heap each), on the first
 * free block of ports from 19192 (and 19292 for the controllers), in a folder
 * of its own; stopped and removed when the test ends.
 */
export async function ownKafkaCluster(t: After, brokers = 3): Promise<OwnKafkaCluster> {
  const stateDir = mkdtempSync(join(tmpdir(), "stampede-kafka-cluster-"));
  const base = await freeKafkaBlock(brokers);
  const env = {
    ...process.env,
    KAFKA_STATE_DIR: stateDir,
    KAFKA_PORT: String(base),
    KAFKA_CONTROLLER_PORT: String(base + 100),
  };
  const kafka = (...args: string[]) =>
    run(KAFKA_SCRIPT, [...args, "--brokers", String(brokers)], { env, timeout: 300_000 });
  t.after(async () => {
    await kafka("stop").catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  });
  const { stdout } = await kafka("start");
  return {
    brokers: stdout.trim().split("\n").at(-1)!.split(","),
    kill9: async (node) => {
      await kafka("kill9", "--node", String(node));
    },
    restartKeep: async (node) => {
      await kafka("restart-keep", "--node", String(node));
    },
  };
}

/** A base port from 19192 on (steps of 10) with base..base+n-1 and base+100.. free. */
async function freeKafkaBlock(n: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
  for (let base = 19192; base < 19292; base += 10) {
    const ports = Array.from({ length: n }, (_, i) => [base + i, base + 100 + i]).flat();
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
  }
  throw new Error("no free block of ports for a Kafka cluster between 19192 and 19392");
}
