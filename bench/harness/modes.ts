/**
 * The systems a scenario can measure. Each start() brings up fresh processes
 * with fresh state (a new data directory, or a new Redis prefix and
 * PostgreSQL schema) and stop() removes all of it.
 */

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { type Proc, startProcess, tempDataDir } from "./processes.ts";
import { DATABASE_URL, KAFKA_BROKERS, REDIS_URL, removeRunState } from "./services.ts";

export type Mode = "embedded" | "redis" | "kafka";
export const MODES: Mode[] = ["embedded", "redis", "kafka"];

export const ADMIN_TOKEN = "stampede-bench-admin-token-0123456789";

export interface System {
  mode: Mode;
  targets: string[];
  processes: Proc[];
  /** Distributed modes: this run's Redis key prefix (for memory figures). */
  redisPrefix?: string;
  /** Distributed modes: this run's PostgreSQL schema (for `stampede bench --database-schema`). */
  databaseSchema?: string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Extra settings (BATCH_SIZE, FLUSH_INTERVAL_MS, ...). */
  env?: Record<string, string>;
  /** Directory for --cpu-prof output of every stampede process. */
  profileDir?: string;
  apiInstances?: number;
  workerInstances?: number;
}

const profileFlags = (dir: string | undefined) => (dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []);

export async function startSystem(mode: Mode, options: SystemOptions = {}): Promise<System> {
  return mode === "embedded" ? startEmbedded(options) : startDistributed(mode, options);
}

async function startEmbedded(options: SystemOptions): Promise<System> {
  const dataDir = tempDataDir("embedded");
  const proc = await startProcess({
    name: "stampede start",
    args: ["start"],
    env: { DATA_DIR: dataDir, ADMIN_TOKEN, ...options.env },
    nodeFlags: profileFlags(options.profileDir),
    dataDir,
  });
  return { mode: "embedded", targets: [proc.url!], processes: [proc], stop: () => proc.stop() };
}

/** The constant-410 server, started exactly like the system's API process. */
export async function startCeiling(): Promise<Proc> {
  return startProcess({ name: "ceiling", args: ["bench", "--serve-ceiling"] });
}

/**
 * The distributed modes: `stampede api` and `stampede worker` processes, each
 * with the bounded V8 heap that scripts/start.sh and docker-compose.yml give
 * them (docs/operations.md "Memory"), so the RSS measured is the one deployed.
 */
const DISTRIBUTED_HEAP_FLAGS = ["--max-old-space-size=200", "--max-semi-space-size=16"];

async function startDistributed(mode: "redis" | "kafka", options: SystemOptions): Promise<System> {
  const run = randomBytes(4).toString("hex");
  const redisPrefix = `stampede-bench-${run}`;
  const schema = `bench_${run}`;
  const env: Record<string, string> = {
    QUEUE: mode,
    REDIS_URL,
    DATABASE_URL,
    ADMIN_TOKEN,
    REDIS_PREFIX: redisPrefix,
    DATABASE_SCHEMA: schema,
    // One process per `stampede api` / `worker` (stampede api defaults to one per core): the figures
    // are per process; scale out with --api-instances, or PROCESSES in the env override.
    PROCESSES: "1",
    ...(mode === "kafka"
      ? {
          KAFKA_BROKERS,
          KAFKA_TOPIC: `stampede-bench-${run}`,
          KAFKA_GROUP: `stampede-bench-${run}`,
          KAFKA_TASKS_TOPIC: `stampede-bench-${run}.tasks`,
          KAFKA_TASKS_GROUP: `stampede-bench-${run}.tasks`,
        }
      : {}),
    ...options.env,
  };
  const processes: Proc[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await removeRunState({
      redisPrefix,
      schema,
      kafkaTopic: mode === "kafka" ? `stampede-bench-${run}` : undefined,
    });
  };
  try {
    for (let i = 0; i < (options.apiInstances ?? 1); i++)
      processes.push(
        await startProcess({
          name: `stampede api #${i + 1}`,
          args: ["api"],
          env: { ...env, INSTANCE_ID: `bench-api-${i + 1}` },
          nodeFlags: [...DISTRIBUTED_HEAP_FLAGS, ...profileFlags(options.profileDir)],
        }),
      );
    for (let i = 0; i < (options.workerInstances ?? 1); i++) {
      const worker = await startProcess({
        name: `stampede worker #${i + 1}`,
        args: ["worker"],
        env: { ...env, INSTANCE_ID: `bench-worker-${i + 1}` },
        nodeFlags: [...DISTRIBUTED_HEAP_FLAGS, ...profileFlags(options.profileDir)],
        waitForUrl: false,
      });
      processes.push(worker);
      // A worker has no URL to wait for: give it a moment, then make sure it is still running.
      await sleep(2000);
      if (/unknown command|exited/.test(worker.output()) || !worker.running())
        throw new Error(`stampede worker did not start:\n${worker.output()}`);
    }
  } catch (error) {
    await stop();
    const message = (error as Error).message;
    if (/unknown command/.test(message))
      throw new Error(
        `distributed mode not available in this build (${mode}): ${message.split("\n")[1] ?? ""}`,
      );
    throw error;
  }
  return {
    mode,
    targets: processes.filter((p) => p.url).map((p) => p.url!),
    processes,
    redisPrefix,
    databaseSchema: schema,
    stop,
  };
}
