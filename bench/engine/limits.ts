/**
 * The open-file limit. Every connection is a file descriptor: a spike of
 * 10,000 users at once needs 10,000 of them in the generator (and as many in
 * the server). Node cannot call setrlimit, so the generator process is
 * launched through `sh -c 'ulimit -n ...; exec node ...'`, which raises the
 * soft limit up to the hard one (and, for root, the hard one too), and the
 * report says what happened.
 */

import { readFileSync } from "node:fs";

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

export function readOpenFileLimit(path = "/proc/self/limits"): OpenFileLimit | undefined {
  try {
    const line = readFileSync(path, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const match = line ? /Max open files\s+(\S+)\s+(\S+)/.exec(line) : null;
    if (!match) return undefined;
    const num = (s: string) => (s === "unlimited" ? Number.POSITIVE_INFINITY : Number(s));
    return { soft: num(match[1]!), hard: num(match[2]!) };
  } catch {
    return undefined;
  }
}

/** The shell prelude: raise the limit to $1 when it is lower, then exec the rest. */
export const RAISE_AND_EXEC = [
  'want="$1"; shift',
  'cur="$(ulimit -n)"',
  'if [ "$cur" != unlimited ] && [ "$cur" -lt "$want" ]; then',
  '  ulimit -n "$want" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true',
  "fi",
  'exec "$@"',
].join("\n");

/** File descriptors a run needs: one per connection, plus some for the process itself. */
export const filesNeeded = (connections: number): number => connections + 256;

export interface LimitReport {
  before: OpenFileLimit | undefined;
  after: OpenFileLimit | undefined;
  needed: number;
  ok: boolean;
  message: string;
}

export function describeLimit(
  before: OpenFileLimit | undefined,
  after: OpenFileLimit | undefined,
  needed: number,
): LimitReport {
  const n = (v: number) => (Number.isFinite(v) ? v.toLocaleString("en-US") : "unlimited");
  if (!after)
    return {
      before,
      after,
      needed,
      ok: true,
      message: "open-file limit: unknown on this system (not Linux?)",
    };
  const ok = after.soft >= needed;
  let message: string;
  if (before && after.soft > before.soft)
    message = `raised the generator's open-file limit from ${n(before.soft)} to ${n(after.soft)} (ulimit -n in its launcher)`;
  else message = `generator open-file limit ${n(after.soft)} (hard ${n(after.hard)})`;
  if (ok) message += `; this run needs about ${n(needed)}`;
  else
    message +=
      `: CANNOT raise it to the ${n(needed)} this run needs (hard limit ${n(after.hard)}); expect EMFILE ` +
      "connection errors. Raise the hard limit (ulimit -Hn as root, or limits.conf) or lower --concurrency";
  return { before, after, needed, ok, message };
}
