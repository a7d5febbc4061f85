/**
 * What the primary of `stampede api --processes N` and its child processes
 * say to each other over the cluster's IPC channel (primary.ts, child.ts).
 */

import cluster from "node:cluster";
import type { Registry } from "prom-client";

/** A registry's metrics as JSON (Registry.getMetricsAsJSON), what prom-client's AggregatorRegistry sums. */
export type RegistryJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

export type ChildMessage =
  /** The child listens and serves. */
  | { type: "stampede:ready"; address: string }
  /** The child could not start: one line for the primary to print once, and the exit status. */
  | { type: "stampede:failed"; message: string; status: number }
  /** The child's GET /metrics wants every child's metrics, summed. */
  | { type: "stampede:metrics"; id: number }
  /** The child's own metrics, for the primary's sum. */
  | { type: "stampede:collected"; id: number; metrics: RegistryJson };

export type PrimaryMessage =
  /** Shut down gracefully (the primary got SIGTERM or SIGINT). */
  | { type: "stampede:stop" }
  /** The sum asked for by "stampede:metrics" (undefined: not available). */
  | { type: "stampede:metrics"; id: number; text: string | undefined }
  /** Send your own metrics, for a sum. */
  | { type: "stampede:collect"; id: number };

export function isMessage<T extends { type: string }>(message: unknown): message is T {
  return (
    typeof message === "object" &&
    message !== null &&
    String((message as { type?: unknown }).type).startsWith("stampede:")
  );
}

/** In a child: hands the primary the line to print for a failed start (resolves once it is sent). */
export function reportStartFailure(message: string, status: number): Promise<boolean> {
  if (!cluster.isWorker) return Promise.resolve(false);
  return sendToPrimary({ type: "stampede:failed", message, status }).then(() => true);
}

export function sendToPrimary(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}
