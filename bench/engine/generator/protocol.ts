import type { OpenFileLimit } from "../limits.ts";
import type { FireOptions, FireResult, ReadOptions, ReadResult } from "./fire.ts";

/** Messages between `stampede bench` and its generator process (structured clone over IPC). */
export type ToChild =
  | { id: number; kind: "fire"; options: FireOptions }
  | { id: number; kind: "read"; options: ReadOptions }
  | { id: number; kind: "exit" };

export type ToParent =
  | { id: number; kind: "ready"; openFiles: OpenFileLimit | undefined }
  | { id: number; kind: "progress"; done: number }
  | { id: number; kind: "fired"; result: FireResult }
  | { id: number; kind: "read"; result: ReadResult }
  | { id: number; kind: "error"; message: string };
