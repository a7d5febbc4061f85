/**
 * QUEUE=redis: admitted claims go to their campaign's stream, appended by the
 * admission script itself (so a 202 means the claim is queued), and a rebuild
 * after a Redis loss adds what is still in the stream to the ledger's claims.
 */

import type { Redis } from "ioredis";
import type { Claim } from "../../../domain/types.ts";
import type { AdmissionSink } from "../admission/sink.ts";
import { unpackClaim } from "../claim-codec.ts";
import type { RedisKeys } from "../keys.ts";
import { DATA_FIELD } from "./options.ts";

export function streamSink(options: { redis: Redis; keys: RedisKeys; cap: number }): AdmissionSink {
  const { redis, keys, cap } = options;
  return {
    mode: "stream",
    key: (k) => k.stream,
    cap,
    queuedClaims: (campaignId) => streamClaims(redis, keys.campaign(campaignId).stream),
    rebuildWaitsForWorkers: false,
  };
}

/**
 * Every claim still in a campaign's stream (acknowledged-but-not-trimmed
 * ones included), read in pages: what a rebuild adds to the ledger's claims.
 * Anything trimmed was acknowledged, and so is in the ledger already.
 */
export async function* streamClaims(redis: Redis, stream: string, pageSize = 1000): AsyncIterable<Claim> {
  let start = "-";
  for (;;) {
    const page = (await redis.xrange(stream, start, "+", "COUNT", pageSize)) as [string, string[]][];
    for (const [, fields] of page) {
      const packed = fieldValue(fields, DATA_FIELD);
      if (packed !== undefined) yield unpackClaim(packed);
    }
    if (page.length < pageSize) return;
    start = `(${page.at(-1)![0]}`;
  }
}

function fieldValue(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
