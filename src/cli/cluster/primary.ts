/**
 * `stampede api --processes N` (and `worker`): a primary process that runs
 * N children of the same command and serves nothing itself. Each child
 * opens its own runtime and listens on PORT with a socket of its own
 * (SO_REUSEPORT), so the kernel spreads new connections over all of them and
 * a host accepts and answers on all its cores. Rather than Node's default
 * cluster scheduling, where the primary accepts every connection and hands
 * it over, which makes one core the bottleneck of a spike of connections.
 *
 * The primary prints one "listening" line once every child listens, or the
 * first child's start failure (one line) and exits with its status; restarts
 * a child that dies, with a growing pause while they keep dying; sums the
 * children's metrics for whichever child serves GET /metrics; and on SIGTERM
 * or SIGINT asks every child to shut down gracefully and exits once they
 * have (a second signal kills them at once).
 */

import cluster, { type Worker } from "node:cluster";
import { once } from "node:events";
import { createServer } from "node:net";
import type { Logger } from "pino";
import { AggregatorRegistry } from "prom-client";
import { describe, StartupError } from "../../runtime/startup-error.ts";
import { type ChildMessage, isMessage, type PrimaryMessage, type RegistryJson } from "./ipc.ts";

export interface PrimaryOptions {
  role: "api" | "worker";
  processes: number;
  host: string;
  /** 0: one free port is chosen here, for all children. */
  port: number;
  /** The children's command line after the command (the primary's own). */
  argv: string[];
  shutdownTimeoutMs: number;
  logger: Logger;
}

type Outcome = { ok: true; address: string } | { ok: false; message: string; status: number };

/** Pauses between restarts of children that keep dying: doubling, at most this long. */
const MAX_RESTART_DELAY_MS = 10_000;
/** A child that served this long resets the pause. */
const HEALTHY_AFTER_MS = 30_000;
/** How long a metrics sum waits for the children's answers. */
const COLLECT_TIMEOUT_MS = 2000;

export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { role, logger } = options;
  const port = await claimablePort(options.host, options.port);
  // parseArgs keeps the last of a repeated flag: the children listen on this port.
  cluster.setupPrimary({ args: [role, ...options.argv, "--port", String(port)] });
  const serving = new Set<Worker>();
  /** Every child not yet exited, with its exit code to come. */
  const running = new Map<Worker, Promise<number | null>>();
  let up = false;
  let stopping = false;
  let failures = 0;
  sumMetricsFor(serving);

  const fork = (): Promise<Outcome> => {
    const child = cluster.fork();
    const forkedAt = Date.now();
    let failure: Outcome | undefined;
    const ready = new Promise<Outcome>((resolve) => {
      child.on("message", (message: unknown) => {
        if (!isMessage<ChildMessage>(message)) return;
        if (message.type === "stampede:failed")
          failure = { ok: false, message: message.message, status: message.status };
        if (message.type !== "stampede:ready") return;
        serving.add(child);
        if (stopping) tell(child, { type: "stampede:stop" });
        resolve({ ok: true, address: message.address });
      });
      running.set(
        child,
        new Promise((exited) =>
          child.once("exit", (code: number | null, signal: string | null) => {
            serving.delete(child);
            running.delete(child);
            exited(code);
            resolve(
              failure ?? {
                ok: false,
                message: `${role} process exited (${signal ?? code}) at start`,
                status: 1,
              },
            );
            if (up && !stopping) restart(child, Date.now() - forkedAt, code, signal);
          }),
        ),
      );
    });
    return ready;
  };

  const restart = (dead: Worker, livedMs: number, code: number | null, signal: string | null) => {
    if (livedMs > HEALTHY_AFTER_MS) failures = 0;
    const delay = Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** failures++);
    const pid = dead.process.pid;
    logger.error({ pid, code, signal, restartInMs: delay }, `${role} process died; starting another`);
    setTimeout(() => {
      if (stopping) return;
      void fork().then((outcome) => {
        if (outcome.ok) logger.info({ replaced: pid }, `${role} process restarted`);
      });
    }, delay).unref();
  };

  const killAll = async (signal: NodeJS.Signals) => {
    for (const child of running.keys()) child.process.kill(signal);
    await Promise.all(running.values());
  };

  // The first SIGTERM or SIGINT asks every child to shut down; a second kills them at once.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return void killAll("SIGKILL");
      stopping = true;
      for (const child of serving) tell(child, { type: "stampede:stop" });
      resolve(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });

  const outcomes = await Promise.all(Array.from({ length: options.processes }, fork));
  const failed = outcomes.find((o): o is Extract<Outcome, { ok: false }> => !o.ok);
  if (failed) {
    stopping = true;
    await killAll("SIGTERM");
    process.stderr.write(`stampede: ${failed.message}\n`);
    return failed.status;
  }
  up = true;
  const address = outcomes[0]?.ok ? outcomes[0].address : "";
  logger.info({ mode: role, address, processes: options.processes }, "stampede listening");
  process.stdout.write(
    `stampede ${role} listening on ${address} (${options.processes} processes; API docs: ${address}/docs)\n`,
  );

  const signal = await signalled;
  logger.info({ signal, processes: running.size }, "shutting down");
  const deadline = setTimeout(() => void killAll("SIGKILL"), options.shutdownTimeoutMs + 2000).unref();
  const codes = await Promise.all(running.values());
  clearTimeout(deadline);
  logger.info("stopped");
  return codes.every((code) => code === 0) ? 0 : 1;
}

function tell(child: Worker, message: PrimaryMessage): void {
  if (child.isConnected()) child.send(message);
}

/** Answers a child's "stampede:metrics" with the sum of every serving child's metrics. */
function sumMetricsFor(serving: Set<Worker>): void {
  let nextCollect = 0;
  const waiting = new Map<number, (metrics: RegistryJson) => void>();
  cluster.on("message", (child: Worker, message: unknown) => {
    if (!isMessage<ChildMessage>(message)) return;
    if (message.type === "stampede:collected") waiting.get(message.id)?.(message.metrics);
    if (message.type !== "stampede:metrics") return;
    const collect = (target: Worker) =>
      new Promise<RegistryJson | undefined>((resolve) => {
        const id = nextCollect++;
        const done = (metrics: RegistryJson | undefined) => {
          clearTimeout(timer);
          waiting.delete(id);
          resolve(metrics);
        };
        const timer = setTimeout(() => done(undefined), COLLECT_TIMEOUT_MS);
        waiting.set(id, done);
        tell(target, { type: "stampede:collect", id });
      });
    void Promise.all([...serving].map(collect))
      .then(async (all) => AggregatorRegistry.aggregate(all.filter((m) => m !== undefined)).metrics())
      .then(
        (text) => tell(child, { type: "stampede:metrics", id: message.id, text }),
        () => tell(child, { type: "stampede:metrics", id: message.id, text: undefined }),
      );
  });
}

/**
 * The port the children will share, checked free now by binding it without
 * SO_REUSEPORT (0: a free one chosen here). Without this check a second
 * `stampede api --processes N` on the same port would join the first one's
 * sockets instead of failing, and the two would split the connections.
 */
async function claimablePort(host: string, port: number): Promise<number> {
  const server = createServer();
  try {
    server.listen({ host, port, exclusive: true });
    await once(server, "listening");
  } catch (error) {
    throw new StartupError(`cannot listen on ${host}:${port} (HOST, PORT): ${describe(error)}`, {
      cause: error,
    });
  }
  const address = server.address();
  server.close();
  await once(server, "close");
  return typeof address === "object" && address ? address.port : port;
}
