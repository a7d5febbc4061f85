import { type DoctorCheck, fail, type Verdict } from "./types.ts";

/** A check that hangs (a firewall dropping packets) must not hang the doctor. */
const CHECK_TIMEOUT_MS = 10_000;

/** Runs the checks one after the other (their output reads in order) and collects the verdicts. */
export async function runChecks(checks: DoctorCheck[], timeoutMs = CHECK_TIMEOUT_MS): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  for (const check of checks) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        check.run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
        }),
      ]);
      verdicts.push(...result);
    } catch (error) {
      verdicts.push(fail(check.name, `check failed: ${(error as Error).message}`, "see the message"));
    } finally {
      clearTimeout(timer);
    }
  }
  return verdicts;
}

const LABEL = { ok: "OK", info: "INFO", warn: "WARN", fail: "FAIL" } as const;

/** One line per verdict: `FAIL  redis         maxmemory-policy ... -> fix: ...`. */
export function formatVerdict(v: Verdict): string {
  const fix = v.fix && (v.status === "warn" || v.status === "fail") ? ` -> fix: ${v.fix}` : "";
  return `${LABEL[v.status].padEnd(5)} ${v.name.padEnd(15)} ${v.message}${fix}`;
}

/** 1 when anything failed; warnings alone do not fail the doctor. */
export const exitStatus = (verdicts: Verdict[]): number =>
  verdicts.some((v) => v.status === "fail") ? 1 : 0;
