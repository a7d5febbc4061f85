import { loadConfig } from "../../src/config/config.ts";
import { planChecks } from "../../src/ops/doctor/plan.ts";
import { runChecks } from "../../src/ops/doctor/run.ts";
import type { Verdict } from "../../src/ops/doctor/types.ts";

/** Nothing listens on port 1: "unreachable" without waiting for a timeout. */
export const CLOSED_PORT = 1;

/** The doctor's verdicts for a configuration (`env`), its server port closed unless `env` names one. */
export async function doctor(env: Record<string, string>): Promise<Verdict[]> {
  return runChecks(await planChecks(loadConfig({ PORT: String(CLOSED_PORT), ...env })));
}

export const find = (verdicts: Verdict[], name: string) => verdicts.filter((v) => v.name === name);
export const statusOf = (verdicts: Verdict[], name: string) => find(verdicts, name).map((v) => v.status);
