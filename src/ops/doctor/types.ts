/**
 * `stampede doctor` is a list of checks; each returns one or more verdicts,
 * printed one per line. A dependency's adapter owns its check (the Redis,
 * PostgreSQL and Kafka checks live in ./checks/ next to the embedded ones):
 * to add one, write a DoctorCheck and list it in ./plan.ts.
 */
export type VerdictStatus = "ok" | "info" | "warn" | "fail";

export interface Verdict {
  status: VerdictStatus;
  /** What was checked: "node", "data-dir", "redis", "redis-memory", ... */
  name: string;
  message: string;
  /** What to do about it (warn and fail). */
  fix?: string;
}

export interface DoctorCheck {
  name: string;
  run(): Promise<Verdict[]>;
}

export const ok = (name: string, message: string): Verdict => ({ status: "ok", name, message });
export const info = (name: string, message: string): Verdict => ({ status: "info", name, message });
export const warn = (name: string, message: string, fix: string): Verdict => ({
  status: "warn",
  name,
  message,
  fix,
});
export const fail = (name: string, message: string, fix: string): Verdict => ({
  status: "fail",
  name,
  message,
  fix,
});
