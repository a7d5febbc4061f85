import type { Redis } from "ioredis";

/**
 * What a 202 survives with this Redis's persistence settings (docs/api.md, "What a
 * 202 survives", QUEUE=redis): the 202 is sent once the admission script ran,
 * so a Redis restart keeps it only if the script's writes reached the
 * append-only file before the answer.
 */
export interface RedisDurability {
  appendonly: string;
  appendfsync: string;
  /** true when a Redis restart keeps every 202. */
  survivesRestart: boolean;
  /** One plain sentence for logs and `stampede doctor`. */
  summary: string;
}

export async function redisDurability(redis: Redis): Promise<RedisDurability> {
  let appendonly = "unknown";
  let appendfsync = "unknown";
  try {
    const [, aof] = (await redis.config("GET", "appendonly")) as string[];
    const [, fsync] = (await redis.config("GET", "appendfsync")) as string[];
    appendonly = aof ?? "unknown";
    appendfsync = fsync ?? "unknown";
  } catch {
    // CONFIG may be disabled (managed Redis): INFO still tells whether AOF is on.
    const info = await redis.info("persistence");
    const match = /aof_enabled:(\d)/.exec(info);
    if (match) appendonly = match[1] === "1" ? "yes" : "no";
  }
  return { appendonly, appendfsync, ...judge(appendonly, appendfsync) };
}

function judge(appendonly: string, appendfsync: string): { survivesRestart: boolean; summary: string } {
  const always = "a 202 survives kill -9 of any stampede process";
  if (appendonly === "yes" && appendfsync === "always")
    return {
      survivesRestart: true,
      summary: `${always} and a Redis restart (appendonly yes, appendfsync always).`,
    };
  if (appendonly === "yes" && appendfsync === "everysec")
    return {
      survivesRestart: false,
      summary:
        `${always}; a Redis restart may lose about the last second of 202s not yet in PostgreSQL ` +
        "(appendonly yes, appendfsync everysec; set appendfsync always to keep them).",
    };
  if (appendonly === "no")
    return {
      survivesRestart: false,
      summary:
        `${always}, but NOT a Redis restart: every 202 not yet in PostgreSQL would be lost ` +
        "(appendonly no; set appendonly yes and appendfsync always to keep them). " +
        "The campaign state itself is rebuilt from PostgreSQL.",
    };
  return {
    survivesRestart: false,
    summary:
      `${always}; what a Redis restart keeps is unknown (appendonly ${appendonly}, ` +
      `appendfsync ${appendfsync}): assume 202s not yet in PostgreSQL are at risk.`,
  };
}
