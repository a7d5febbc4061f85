/**
 * REDIS_URL names one Redis (`redis://`, `rediss://` for TLS: whatever
 * ioredis takes) or a Redis Cluster by some of its nodes:
 *
 *   redis+cluster://[user[:password]@]host:port[,host:port...]
 *   rediss+cluster://...   (TLS)
 *
 * The nodes listed are seeds: the client asks any of them for the slot map
 * (CLUSTER SLOTS) and finds the others itself, so two or three seeds are
 * enough for a start to survive a node that is down. A cluster has one
 * database: no `/db` path.
 */

export interface RedisClusterTarget {
  kind: "cluster";
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTarget = { kind: "single"; url: string } | RedisClusterTarget;

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(.*)$/;
const NODE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$/;

/** What a REDIS_URL names; throws an Error saying what is wrong with it. */
export function parseRedisUrl(raw: string): RedisTarget {
  const cluster = CLUSTER_SCHEME.exec(raw);
  if (!cluster) {
    let protocol: string;
    try {
      protocol = new URL(raw).protocol;
    } catch {
      throw new Error(
        `expected redis://, rediss:// or redis+cluster://host:port[,host:port...], got "${raw}"`,
      );
    }
    if (protocol !== "redis:" && protocol !== "rediss:")
      throw new Error(`expected a redis:, rediss: or redis+cluster: URL, got "${protocol}"`);
    return { kind: "single", url: raw };
  }
  let rest = cluster[2]!.replace(/\/$/, "");
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(":");
    username = decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials) || undefined;
    password = colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) : undefined;
  }
  if (rest.includes("/")) throw new Error("a Redis Cluster has one database: no /db path");
  const nodes = rest.split(",").map((item) => {
    const match = NODE.exec(item.trim());
    if (!match) throw new Error(`expected host:port in the cluster's node list, got "${item}"`);
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw new Error(`port out of range in "${item}"`);
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  });
  return {
    kind: "cluster",
    nodes,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    tls: cluster[1] === "rediss",
  };
}

/** The URL without its credentials (nor a query string), for logs and reports. */
export function redactRedisUrl(raw: string): string {
  return raw.replace(/^([a-z+]+:\/\/)[^@/]*@/, "$1").replace(/[?#].*$/, "");
}
