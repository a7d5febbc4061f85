/**
 * How claims are kept, limited and shed: idempotency, holds, waiting-room
 * releases, rate limits, proxies, overload, Redis retention. Part of the
 * settings table (../config.ts).
 */
import { getHeapStatistics } from "node:v8";
import { parseRate } from "../../domain/rate-policy.ts";
import { int, type Setting, trustProxy } from "../settings.ts";

/** Shed load before V8 runs out of heap: 90% of this process's heap limit, in MiB. */
const DEFAULT_MAX_HEAP_MB = Math.floor((getHeapStatistics().heap_size_limit / 2 ** 20) * 0.9);

export const PROTECTION = {
  IDEMPOTENCY_TTL_S: {
    doc: "how long the answer to an Idempotency-Key is remembered, across restarts (Redis; embedded: DATA_DIR/idempotency)",
    default: 86_400,
    parse: int(60, 30 * 86_400),
  },
  HOLD_MIN_SECONDS: {
    doc: 'the shortest holdSeconds a campaign may ask for (docs/api.md "Holds": 30); lower it for tests only',
    default: 30,
    parse: int(1, 3600),
  },
  HOLD_REAP_INTERVAL_MS: {
    doc: "how often a process that runs workers expires the holds whose time has come (admission also expires due holds before it answers 410)",
    default: 250,
    parse: int(10, 10_000),
  },
  RELEASE_INTERVAL_MS: {
    doc: "how often a process that runs workers releases tickets from the waiting rooms (a room's releasePerSecond is spread over these runs)",
    default: 100,
    parse: int(10, 5000),
  },
  RATE_LIMIT_USER: {
    doc: "claims and waiting-room joins per campaign and userId: N/s, N/m or N/h, optional :burst (5/s = 5 at once, then one per 200 ms), or off",
    default: parseRate("5/s", "RATE_LIMIT_USER"),
    defaultText: "5/s",
    parse: parseRate,
  },
  RATE_LIMIT_IP: {
    doc: "claims per client address (same syntax): all campaigns together embedded, per campaign distributed; a NAT or a load test is one address",
    default: undefined,
    defaultText: "off",
    parse: parseRate,
  },
  TRUST_PROXY: {
    doc: "take the client address from X-Forwarded-For when the peer is: off | hop count | addresses/CIDRs",
    default: false,
    defaultText: "off",
    parse: trustProxy,
  },
  MAX_HEADER_BYTES: {
    doc: "largest request head (request line + headers) accepted; larger is answered 400",
    default: 16 * 1024,
    parse: int(1024, 1024 * 1024),
  },
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: {
    doc: "shed load (503) while the event loop runs a timer this many ms late (0 = off); a last resort, see docs/security.md",
    default: 5000,
    parse: int(0, 60_000),
  },
  OVERLOAD_MAX_HEAP_MB: {
    doc: "shed load (503) while the V8 heap in use exceeds this many MiB (0 = off)",
    default: DEFAULT_MAX_HEAP_MB,
    defaultText: "90% of the V8 heap limit",
    parse: int(0, 1_000_000),
  },
  OVERLOAD_MAX_RSS_MB: {
    doc: "shed load (503) while the resident set exceeds this many MiB (0 = off)",
    default: 0,
    parse: int(0, 1_000_000),
  },
  REDIS_RETENTION_GRACE_S: {
    doc: "a campaign's Redis keys expire this long after it ends (or is closed) once its claims are issued; the ledger keeps everything",
    default: 86_400,
    parse: int(0, 366 * 86_400),
    scope: "distributed",
  },
  RETENTION_CHECK_MS: {
    doc: "how often a worker looks for ended campaigns whose Redis keys may expire (distributed mode)",
    default: 30_000,
    parse: int(100, 3_600_000),
    scope: "distributed",
  },
} satisfies Record<string, Setting<unknown>>;
