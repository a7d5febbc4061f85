import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { freePort } from "./net.ts";
import { tempDir } from "./tmp.ts";

/**
 * A redis-server of the test's own, on a free port with its own directory,
 * for tests that restart or kill Redis (never the shared one). Killed when
 * the test ends.
 */
export interface OwnRedis {
  url: string;
  port: number;
  /** kill -9, then wait for the exit. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and directory (its append-only file, if any, is replayed). */
  restart(): Promise<void>;
  /** SIGSTOP: Redis hangs (its socket stays open, nothing is answered), as a stalled host would. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

export async function startOwnRedis(
  t: { after: (fn: () => Promise<void> | void) => void },
  options: {
    appendfsync?: "always" | "everysec" | "no";
    persistence?: boolean;
    /** With a maxmemory of 64 MB, so the policy means something. */
    maxmemoryPolicy?: string;
  } = {},
): Promise<OwnRedis> {
  const dir = tempDir(t, "stampede-redis-");
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--dir",
    dir,
    "--daemonize",
    "no",
  ];
  if (options.persistence === false) args.push("--appendonly", "no");
  else args.push("--appendonly", "yes", "--appendfsync", options.appendfsync ?? "always");
  if (options.maxmemoryPolicy)
    args.push("--maxmemory", "64mb", "--maxmemory-policy", options.maxmemoryPolicy);
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn("redis-server", args, { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(port, "127.0.0.1", {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        // Loading the append-only file answers LOADING; wait until it answers PONG.
        if ((await probe.ping()) === "PONG") return;
      } catch {
        // not up yet
      } finally {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await sleep(50);
    }
  };
  const kill9 = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, "exit");
    c.kill("SIGKILL");
    await exited;
  };
  const signal = (name: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(name);
  };
  await start();
  t.after(kill9);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill9,
    restart: start,
    freeze: () => signal("SIGSTOP"),
    thaw: () => signal("SIGCONT"),
  };
}
