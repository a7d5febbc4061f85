import { type ChildProcess, spawn } from "node:child_process";
import { describeLimit, type LimitReport, RAISE_AND_EXEC, readOpenFileLimit } from "../limits.ts";
import type { FireOptions, FireResult, ReadOptions, ReadResult } from "./fire.ts";
import type { ToChild, ToParent } from "./protocol.ts";

/** A handle on the generator process (generator/child.ts). */
export interface Generator {
  limit: LimitReport;
  fire(options: FireOptions, onProgress?: (done: number) => void): Promise<FireResult>;
  read(options: ReadOptions): Promise<ReadResult>;
  close(): Promise<void>;
}

// Sources run as .ts (type stripping), the built package as .js.
const CHILD = new URL(`./child${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);

export async function startGenerator(filesNeeded: number): Promise<Generator> {
  const before = readOpenFileLimit();
  const child: ChildProcess = spawn(
    "/bin/sh",
    ["-c", RAISE_AND_EXEC, "stampede-bench", String(filesNeeded), process.execPath, CHILD.pathname],
    { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" },
  );
  const waiting = new Map<number, { resolve: (m: ToParent) => void; reject: (e: Error) => void }>();
  const progress = new Map<number, (done: number) => void>();
  let nextId = 1;
  let exited: Error | undefined;

  const ready = new Promise<ToParent & { kind: "ready" }>((resolve, reject) => {
    waiting.set(0, { resolve: (m) => resolve(m as ToParent & { kind: "ready" }), reject });
  });
  child.on("message", (message: ToParent) => {
    if (message.kind === "progress") {
      progress.get(message.id)?.(message.done);
      return;
    }
    const waiter = waiting.get(message.id);
    waiting.delete(message.id);
    progress.delete(message.id);
    if (message.kind === "error") waiter?.reject(new Error(`generator: ${message.message}`));
    else waiter?.resolve(message);
  });
  child.on("exit", (code, signal) => {
    exited = new Error(`the generator process exited (${signal ?? code})`);
    for (const waiter of waiting.values()) waiter.reject(exited);
    waiting.clear();
  });

  const call = <T extends ToParent>(message: ToChild, onProgress?: (done: number) => void): Promise<T> => {
    if (exited) return Promise.reject(exited);
    return new Promise<T>((resolve, reject) => {
      waiting.set(message.id, { resolve: (m) => resolve(m as T), reject });
      if (onProgress) progress.set(message.id, onProgress);
      child.send(message);
    });
  };

  const { openFiles } = await ready;
  return {
    limit: describeLimit(before, openFiles, filesNeeded),
    async fire(options, onProgress) {
      const reply = await call<ToParent & { kind: "fired" }>(
        { id: nextId++, kind: "fire", options },
        onProgress,
      );
      return reply.result;
    },
    async read(options) {
      return (await call<ToParent & { kind: "read" }>({ id: nextId++, kind: "read", options })).result;
    },
    async close() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.send({ id: nextId++, kind: "exit" } satisfies ToChild);
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
}
