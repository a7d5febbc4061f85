import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "./tmp.ts";

/**
 * Helpers of the task crash tests, which run `stampede` as child processes
 * with the handlers of test/fixtures/tasks/crash-tasks.ts (through
 * TASK_MODULES): each invocation is a line in a file, so the count survives
 * the kills.
 */
export const CRASH_TASKS_MODULE = fileURLToPath(new URL("../fixtures/tasks/crash-tasks.ts", import.meta.url));

export interface Invocation {
  taskId: string;
  attempt: number;
  event: "start" | "done";
  /** The process that ran it. */
  pid: number;
}

/** The env a process needs to load the crash handlers, and the invocations they recorded so far. */
export function crashTasks(t: Parameters<typeof tempDir>[0]): {
  dir: string;
  env: Record<string, string>;
  invocations: () => Invocation[];
} {
  const dir = tempDir(t);
  const recordFile = join(dir, "invocations.jsonl");
  const invocations = (): Invocation[] =>
    existsSync(recordFile)
      ? readFileSync(recordFile, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l) => JSON.parse(l) as Invocation)
      : [];
  return { dir, env: { TASK_MODULES: CRASH_TASKS_MODULE, TASK_RECORD_FILE: recordFile }, invocations };
}

/** Polls `probe` until it returns something other than undefined. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface TaskView {
  status: string;
  attempts: number;
  result?: unknown;
  error?: string;
}

/** The task routes of a running process, with its admin token. */
export function taskClient(url: string, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const read = async (taskId: string): Promise<TaskView> => {
    const res = await fetch(`${url}/v1/tasks/${taskId}`, { headers: auth });
    assert.equal(res.status, 200);
    return (await res.json()) as TaskView;
  };
  return {
    async submit(type: string, payload: unknown = {}): Promise<string> {
      const res = await fetch(`${url}/v1/tasks`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ type, payload }),
      });
      assert.equal(res.status, 202, await res.clone().text());
      return ((await res.json()) as { taskId: string }).taskId;
    },
    read,
    /** Polls the task until it has `status` (succeeded, failed). */
    settled: (taskId: string, status: string, ms = 20_000): Promise<TaskView> =>
      until(
        `task ${taskId} to be ${status}`,
        async () => {
          const task = await read(taskId);
          return task.status === status ? task : undefined;
        },
        ms,
      ),
    async deadLetters(): Promise<string[]> {
      const res = await fetch(`${url}/v1/admin/tasks/dead-letters`, { headers: auth });
      assert.equal(res.status, 200);
      return ((await res.json()) as { tasks: { taskId: string }[] }).tasks.map((d) => d.taskId);
    },
  };
}
