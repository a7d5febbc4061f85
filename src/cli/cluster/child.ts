/**
 * A child process of `stampede api --processes N` (primary.ts): it opens its
 * own runtime and listens on PORT with a socket of its own (SO_REUSEPORT:
 * the kernel spreads new connections over the children), tells the primary
 * when it serves or why it could not start, stops when the primary says so,
 * and answers GET /metrics with the metrics of every child.
 */

import cluster from "node:cluster";
import { Metrics } from "../../ops/metrics/metrics.ts";
import { isMessage, type PrimaryMessage, sendToPrimary } from "./ipc.ts";

export interface ClusterChild {
  /** The first child prints what the start checks found; the others, and restarted ones, stay quiet. */
  first: boolean;
  listening(address: string): void;
  /** Calls `stop` when the primary asks this child to shut down. */
  onStop(stop: () => void): void;
}

/** This process's link to its primary; undefined in a process of its own. */
export function clusterChild(): ClusterChild | undefined {
  const worker = cluster.worker;
  if (!cluster.isWorker || !worker) return undefined;
  return {
    first: worker.id === 1,
    listening: (address) => sendToPrimary({ type: "stampede:ready", address }),
    onStop(stop) {
      process.on("message", (message: unknown) => {
        if (isMessage<PrimaryMessage>(message) && message.type === "stampede:stop") stop();
      });
      // A primary that dies without asking (kill -9) takes its children with
      // it: Node's cluster exits a child whose primary is gone.
    },
  };
}

/** How long a child waits for the primary's sum before it answers with its own metrics. */
const AGGREGATE_TIMEOUT_MS = 5000;

/**
 * The metrics of one child, and /metrics text summed over every child that
 * serves (the primary sums them with prom-client's AggregatorRegistry):
 * counters and histograms add up; a gauge says how it combines (the queue
 * lag, which every child reads the same, is their max). When the primary
 * does not answer in time, this child's own metrics.
 */
export class ClusterMetrics extends Metrics {
  readonly #pending = new Map<number, (text: string | undefined) => void>();
  #next = 0;

  constructor() {
    super();
    process.on("message", (message: unknown) => {
      if (!isMessage<PrimaryMessage>(message)) return;
      if (message.type === "stampede:metrics") this.#pending.get(message.id)?.(message.text);
      if (message.type === "stampede:collect")
        void this.registry
          .getMetricsAsJSON()
          .then((metrics) => sendToPrimary({ type: "stampede:collected", id: message.id, metrics }));
    });
  }

  override async text(): Promise<string> {
    const id = this.#next++;
    const summed = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), AGGREGATE_TIMEOUT_MS);
      this.#pending.set(id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      void sendToPrimary({ type: "stampede:metrics", id });
    });
    this.#pending.delete(id);
    return summed ?? super.text();
  }
}
