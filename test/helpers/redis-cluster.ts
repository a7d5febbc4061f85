import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { campaignTag } from "../../src/adapters/redis/keys.ts";

/**
 * A Redis Cluster of the test's own (scripts/redis-cluster.sh: 3 masters, 3
 * replicas on 127.0.0.1, in a folder of its own, on the first free block of
 * ports from 7100 on), stopped when the test ends. For the spike and
 * failover tests: the shared Redis stays a single node.
 */
const run = promisify(execFile);
export const REDIS_CLUSTER_SCRIPT = fileURLToPath(new URL("../../scripts/redis-cluster.sh", import.meta.url));

type After = { after: (fn: () => Promise<void> | void) => void };

export interface ClusterNode {
  id: string;
  port: number;
  role: "master" | "replica";
  /** A replica's master id. */
  masterId?: string;
  /** A master's slot ranges, [from, to]. */
  slots: [number, number][];
  failed: boolean;
}

export interface OwnRedisCluster {
  /** REDIS_URL: redis+cluster://127.0.0.1:P,... */
  url: string;
  ports: number[];
  /** CLUSTER NODES as some live node sees it. */
  nodes(): Promise<ClusterNode[]>;
  /** CLUSTER KEYSLOT, asked of the cluster itself. */
  keySlot(key: string): Promise<number>;
  /** The master serving a slot now, and its replica. */
  masterOf(slot: number): Promise<{ master: ClusterNode; replica: ClusterNode | undefined }>;
  kill9(port: number): Promise<void>;
  /** Starts a killed node again (it rejoins; as a replica once its replica took its slots). */
  restart(port: number): Promise<void>;
  /** SIGSTOP a node: it answers nothing, replicates nothing. */
  freeze(port: number): void;
  /**
   * A master drops the connections of its replicas (CLIENT KILL TYPE replica):
   * what it writes next reaches only its backlog until they reconnect. With
   * the replica frozen first, it stays behind (on 127.0.0.1 a frozen
   * replica otherwise gets everything from its socket buffer once thawed).
   */
  cutReplicas(masterPort: number): Promise<void>;
  thaw(port: number): void;
}

export async function startRedisCluster(
  t: After,
  options: { appendfsync?: "always" | "everysec" | "no"; nodeTimeoutMs?: number } = {},
): Promise<OwnRedisCluster> {
  // Removed by the same hook that stops the nodes, after them: `stop` finds them by their pid files.
  const dir = mkdtempSync(join(tmpdir(), "stampede-redis-cluster-"));
  const base = await freeBlock();
  const env = {
    ...process.env,
    REDIS_CLUSTER_PORT: String(base),
    REDIS_CLUSTER_DIR: dir,
    REDIS_CLUSTER_APPENDFSYNC: options.appendfsync ?? "everysec",
    REDIS_CLUSTER_NODE_TIMEOUT: String(options.nodeTimeoutMs ?? 2000),
  };
  const script = (...args: string[]) => run(REDIS_CLUSTER_SCRIPT, args, { env, timeout: 120_000 });
  const pids = new Map<number, number>();
  t.after(async () => {
    for (const pid of pids.values()) signal(pid, "SIGCONT");
    await script("stop").catch(() => undefined);
    // Whatever `stop` could not stop, by the pids this helper knew (still those nodes).
    for (const [port, pid] of pids) if (isNode(pid, port)) signal(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const { stdout } = await script("start");
  const url = stdout.trim().split("\n").at(-1)!;
  const ports = Array.from({ length: 6 }, (_, i) => base + i);
  const pidOf = (port: number) => Number(readFileSync(join(dir, String(port), "redis.pid"), "utf8").trim());
  for (const port of ports) pids.set(port, pidOf(port));

  const ask = async <T>(command: (redis: Redis) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const port of ports) {
      const redis = new Redis(port, "127.0.0.1", {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 1000,
      });
      redis.on("error", () => undefined);
      try {
        await redis.connect();
        return await command(redis);
      } catch (error) {
        last = error;
      } finally {
        redis.disconnect();
      }
    }
    throw last;
  };
  const nodes = async () => parseNodes(String(await ask((r) => r.cluster("NODES"))));
  return {
    url,
    ports,
    nodes,
    keySlot: async (key) => Number(await ask((r) => r.cluster("KEYSLOT", key))),
    async masterOf(slot) {
      const all = await nodes();
      const master = all.find(
        (n) => n.role === "master" && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b),
      );
      if (!master) throw new Error(`no live master serves slot ${slot}`);
      return { master, replica: all.find((n) => n.masterId === master.id && !n.failed) };
    },
    async kill9(port) {
      signal(pids.get(port), "SIGCONT");
      await script("kill9", String(port));
    },
    async restart(port) {
      await script("restart", String(port));
      pids.set(port, pidOf(port));
    },
    freeze: (port) => signal(pids.get(port), "SIGSTOP"),
    async cutReplicas(masterPort) {
      const master = new Redis(masterPort, "127.0.0.1", {
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      master.on("error", () => undefined);
      try {
        await master.call("CLIENT", "KILL", "TYPE", "replica");
      } finally {
        master.disconnect();
      }
    },
    thaw: (port) => signal(pids.get(port), "SIGCONT"),
  };
}

/** Whether `pid` is still the redis-server of `port` (not a pid reused since). */
function isNode(pid: number, port: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`127.0.0.1:${port}`);
  } catch {
    return false;
  }
}

function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...` */
export function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(" ");
      const port = Number(address!.split("@")[0]!.split(":").at(-1));
      const flagList = flags!.split(",");
      return {
        id: id!,
        port,
        role: flagList.includes("master") ? "master" : "replica",
        ...(master !== "-" ? { masterId: master! } : {}),
        slots: slots
          .filter((s) => !s.startsWith("["))
          .map((s) => {
            const [from, to = from] = s.split("-").map(Number);
            return [from!, to!] as [number, number];
          }),
        failed: flagList.includes("fail") || flagList.includes("fail?"),
      } satisfies ClusterNode;
    });
}

/** The first base port from 7100 on (steps of 10) whose 6 ports and their bus ports (+10000) are free. */
async function freeBlock(): Promise<number> {
  for (let base = 7100; base < 7400; base += 10) {
    const ports = Array.from({ length: 6 }, (_, i) => base + i).flatMap((p) => [p, p + 10_000]);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error("no free block of ports for a Redis Cluster between 7100 and 7400");
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * `count` campaign ids whose hash tags land on different masters (asked of
 * the cluster with CLUSTER KEYSLOT), each with its master and replica.
 */
export async function campaignsOnDistinctMasters(
  cluster: OwnRedisCluster,
  count: number,
  label = "drop",
): Promise<{ id: string; slot: number; master: ClusterNode; replica: ClusterNode | undefined }[]> {
  const chosen: Awaited<ReturnType<typeof campaignsOnDistinctMasters>> = [];
  for (let i = 0; chosen.length < count && i < 1000; i++) {
    const id = `${label}-${i}`;
    const slot = await cluster.keySlot(`{${campaignTag(id)}}`);
    const { master, replica } = await cluster.masterOf(slot);
    if (!chosen.some((c) => c.master.id === master.id)) chosen.push({ id, slot, master, replica });
  }
  if (chosen.length < count) throw new Error(`only ${chosen.length} masters found`);
  return chosen;
}
