import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { migrations } from "../../adapters/postgres/migrate.ts";
import type { Config } from "../../config/config.ts";
import { dataDirCheck } from "./checks/data-dir.ts";
import { embeddedLedgerCheck } from "./checks/embedded-ledger.ts";
import { kafkaCheck } from "./checks/kafka.ts";
import { nodeCheck } from "./checks/node.ts";
import { postgresCheck } from "./checks/postgres.ts";
import { redisCheck } from "./checks/redis.ts";
import { serverCheck } from "./checks/server.ts";
import { type DoctorCheck, fail, ok } from "./types.ts";

/**
 * Which checks the configuration calls for. Embedded mode (nothing external
 * configured) depends on DATA_DIR; distributed mode on Redis, the queue and
 * PostgreSQL (its claims travel on Redis Streams unless QUEUE=kafka). Every
 * mode: Node, and the running server if there is one.
 */
export type Mode = "embedded" | "distributed";

export function modeOf(config: Config): Mode {
  return config.REDIS_URL || config.DATABASE_URL || config.QUEUE !== "memory" ? "distributed" : "embedded";
}

export async function planChecks(config: Config): Promise<DoctorCheck[]> {
  const mode = modeOf(config);
  const checks: DoctorCheck[] = [nodeCheck(), settingsCheck(config, mode)];
  if (mode === "embedded") {
    checks.push(dataDirCheck({ dataDir: config.DATA_DIR, fsync: config.FSYNC }));
    checks.push(embeddedLedgerCheck(config.DATA_DIR));
  } else {
    if (config.REDIS_URL)
      checks.push(
        redisCheck({
          url: config.REDIS_URL,
          prefix: `${config.REDIS_PREFIX}:`,
          queue: config.QUEUE,
          waitReplicas: config.REDIS_WAIT_REPLICAS,
        }),
      );
    if (config.DATABASE_URL)
      checks.push(
        postgresCheck({
          url: config.DATABASE_URL,
          schema: config.DATABASE_SCHEMA,
          latestSchemaVersion: Math.max(0, ...migrations().map((m) => m.version)),
        }),
      );
    if (config.QUEUE === "kafka")
      checks.push(
        kafkaCheck({
          brokers: config.KAFKA_BROKERS,
          topic: config.KAFKA_TOPIC,
          partitions: config.KAFKA_PARTITIONS,
          group: config.KAFKA_GROUP,
          issuedTopic: config.KAFKA_ISSUED_TOPIC,
          tasksTopic: config.KAFKA_TASKS_TOPIC,
        }),
      );
  }
  const adminToken =
    config.ADMIN_TOKEN ?? (mode === "embedded" ? await storedToken(config.DATA_DIR) : undefined);
  checks.push(serverCheck({ host: config.HOST, port: config.PORT, adminToken }));
  return checks;
}

/** Settings each mode needs, beyond what loadConfig already refuses. */
function settingsCheck(config: Config, mode: Mode): DoctorCheck {
  return {
    name: "settings",
    async run() {
      if (mode === "embedded")
        return [ok("mode", `embedded (stampede start): ledger and journal in ${config.DATA_DIR}`)];
      const missing: string[] = [];
      if (!config.REDIS_URL) missing.push("REDIS_URL");
      if (!config.DATABASE_URL) missing.push("DATABASE_URL");
      if (!config.ADMIN_TOKEN) missing.push("ADMIN_TOKEN");
      const queue = config.QUEUE === "kafka" ? "Kafka" : "Redis Streams";
      const verdicts = [ok("mode", `distributed (stampede api / worker), claims queue: ${queue}`)];
      if (missing.length > 0)
        verdicts.push(
          fail("settings", `distributed mode needs ${missing.join(", ")}`, `set ${missing.join(", ")}`),
        );
      return verdicts;
    },
  };
}

async function storedToken(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dataDir, "admin-token"), "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}
