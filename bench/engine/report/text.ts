/** The report for a person at a terminal. */

import { ms, num as n } from "../format.ts";
import type { Summary } from "../stats.ts";
import type { BenchReport } from "./report.ts";

const line = (label: string, s: Summary) =>
  `  ${label.padEnd(22)} p50 ${ms(s.p50).padStart(9)}  p90 ${ms(s.p90).padStart(9)}  p99 ${ms(s.p99).padStart(9)}  max ${ms(s.max).padStart(9)}  (${n(s.count)})`;

export function textReport(r: BenchReport): string {
  const out: string[] = [];
  const load = r.load;
  const how =
    load.rate !== undefined
      ? `${n(load.rate)} req/s (cap ${load.concurrency})`
      : `concurrency ${load.concurrency}`;
  out.push(
    `stampede bench: ${r.kind === "ceiling" ? "CEILING (constant 410)" : "stampede"} at ${r.targets.join(", ")}`,
    `  ${n(load.users)} users, ${n(load.requests)} requests (re-sends ${load.duplicates}), ${how}` +
      (r.campaign
        ? `, campaign ${r.campaign.id} stock ${n(r.campaign.stock)} perUserLimit ${r.campaign.perUserLimit}`
        : ""),
    `  ${r.openFiles.message}`,
    "",
    "Answers",
    `  ${Object.entries(r.answers.byStatus)
      .map(([s, c]) => `${s === "0" ? "no answer" : s}: ${n(c)}`)
      .join("   ")}`,
  );
  const errors = Object.entries(r.answers.connectionErrors);
  out.push(
    `  connection errors: ${errors.length ? errors.map(([c, k]) => `${c} ${n(k)}`).join(", ") : "none"}`,
  );
  if (r.answers.retried) out.push(`  retried after Retry-After: ${n(r.answers.retried)}`);
  const cpu = r.firing.generatorCpuUsPerRequest;
  out.push(
    "",
    "Throughput",
    `  ${n(Math.round(r.firing.requestsPerSecond))} requests/s over ${ms(r.firing.durationMs)} of firing, ${n(r.firing.connectionsOpened)} connections` +
      (cpu !== undefined ? `, generator CPU ${cpu.toFixed(1)} µs/request` : ""),
    "",
    "Latency",
    line("admission (all)", r.latency.admission),
  );
  for (const [status, s] of Object.entries(r.latency.byStatus)) out.push(line(`admission ${status}`, s));
  if (r.latency.admissionToIssued) out.push(line("admission -> issued", r.latency.admissionToIssued));
  if (r.settle) {
    out.push(
      "",
      "Settle",
      `  ${r.settle.quiet ? "quiet" : "NOT quiet"}: pending reached 0 ${ms(r.settle.pendingZeroAfterMs)} after the last 202` +
        ` (server clock: last issued ${ms(r.settle.lastIssuedAfterLastAdmittedMs)} after the last admission)`,
      ...(r.settle.issuedPerSecond !== undefined
        ? [`  ledger: ${n(Math.round(r.settle.issuedPerSecond))} claims issued per second while draining`]
        : []),
    );
  }
  if (r.invariants.length) {
    out.push("", "Invariants (SPEC.md)");
    for (const inv of r.invariants) {
      out.push(`  ${inv.pass ? "PASS" : "FAIL"}  ${inv.id}. ${inv.name}`);
      for (const e of inv.evidence) out.push(`          ${e}`);
      for (const f of inv.failures) out.push(`          !! ${f}`);
    }
  }
  if (r.notes.length) out.push("", "Notes", ...r.notes.map((note) => `  - ${note}`));
  out.push("", r.pass ? "RESULT: PASS" : "RESULT: FAIL");
  return `${out.join("\n")}\n`;
}
