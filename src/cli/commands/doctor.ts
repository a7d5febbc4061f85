import { loadConfig } from "../../config/config.ts";
import { planChecks } from "../../ops/doctor/plan.ts";
import { exitStatus, formatVerdict, runChecks } from "../../ops/doctor/run.ts";

/**
 * `stampede doctor`: checks every configured dependency and the settings the
 * mode's promise rests on; one verdict per line, exit 1 when something fails.
 */
export async function doctor(argv: string[]): Promise<number> {
  const config = loadConfig(process.env, argv);
  const verdicts = await runChecks(await planChecks(config));
  for (const verdict of verdicts) process.stdout.write(`${formatVerdict(verdict)}\n`);
  const failed = verdicts.filter((v) => v.status === "fail").length;
  const warned = verdicts.filter((v) => v.status === "warn").length;
  process.stdout.write(
    failed > 0
      ? `stampede doctor: ${failed} problem(s) to fix${warned > 0 ? `, ${warned} warning(s)` : ""}\n`
      : `stampede doctor: all good${warned > 0 ? ` (${warned} warning(s))` : ""}\n`,
  );
  return exitStatus(verdicts);
}
