import type { FastifyInstance } from "fastify";
import { judgeReplication } from "../../adapters/kafka/doctor.ts";
import { redisDurability } from "../../adapters/redis/admission/durability.ts";
import { ConfigError, loadConfig } from "../../config/config.ts";
import { userHashKey } from "../../domain/user-hash.ts";
import { buildApp } from "../../http/app.ts";
import { type DistributedRuntime, openDistributed, type Role } from "../../runtime/distributed.ts";
import { buildWorkerApp } from "../../runtime/worker-app.ts";
import { httpOptions } from "../http-options.ts";
import { createLogger } from "../logger.ts";
import { serve } from "../serve.ts";
import { StartupError } from "../startup-error.ts";

/** `stampede api` and `stampede worker`: one process of distributed mode. */
export async function runDistributed(role: Role, argv: string[]): Promise<number> {
  const config = loadConfig(process.env, argv);
  // userIds in logs are hashed with a key derived from the admin token, the same in every process.
  const logger = createLogger(
    config.LOG_LEVEL,
    "stampede",
    undefined,
    config.ADMIN_TOKEN === undefined ? undefined : userHashKey(config.ADMIN_TOKEN),
  );
  let runtime: DistributedRuntime;
  try {
    runtime = await openDistributed({ role, config, logger });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new StartupError((error as Error).message);
  }
  let app: FastifyInstance;
  if (role === "api" && runtime.kafka) {
    // A 202 waits for Kafka (acks=all): what it survives depends on the topic's replication.
    const topic = await runtime.kafka.queue.describeTopic().catch(() => undefined);
    const summary = topic
      ? judgeReplication(topic).message
      : "the claims topic could not be described; run stampede doctor";
    logger.info({ topic: runtime.kafka.queue.topic }, summary);
    process.stdout.write(`stampede: with this Kafka topic, ${summary}\n`);
    app = await buildApp(runtime.api, { logger, ...httpOptions(config) });
  } else if (role === "api") {
    const durability = await redisDurability(runtime.redis);
    logger.info(
      { appendonly: durability.appendonly, appendfsync: durability.appendfsync },
      durability.summary,
    );
    process.stdout.write(`stampede: with this Redis, ${durability.summary}\n`);
    app = await buildApp(runtime.api, { logger, ...httpOptions(config) });
  } else {
    app = await buildWorkerApp(runtime.api.ops, { logger });
  }
  return serve({
    app,
    config,
    logger,
    mode: role,
    close: () => runtime.close(),
    onShutdown: () => runtime.beginShutdown(),
  });
}
