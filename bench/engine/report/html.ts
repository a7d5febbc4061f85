/**
 * `--out report.html`: one self-contained page (inline CSS and SVG, no
 * script, no build step) with the latency histogram, throughput over time,
 * the counters during the run and the invariant verdicts.
 */

import { msFigure as ms, num as n } from "../format.ts";
import type { Summary } from "../stats.ts";
import type { BenchReport } from "./report.ts";
import { barChart, esc, lineChart } from "./svg.ts";

function latencyRows(r: BenchReport): string {
  const rows: [string, Summary][] = [["admission (all)", r.latency.admission]];
  for (const [status, s] of Object.entries(r.latency.byStatus)) rows.push([`admission ${status}`, s]);
  if (r.latency.admissionToIssued) rows.push(["admission → issued", r.latency.admissionToIssued]);
  return rows
    .map(
      ([label, s]) =>
        `<tr><td>${esc(label)}</td><td>${n(s.count)}</td><td>${ms(s.p50)}</td><td>${ms(s.p90)}</td><td>${ms(s.p99)}</td><td>${ms(s.max)}</td></tr>`,
    )
    .join("");
}

export function htmlReport(r: BenchReport): string {
  const hist = r.histogram.filter((b, i, all) => b.count > 0 || all.slice(i).some((x) => x.count > 0));
  const firstUsed = hist.findIndex((b) => b.count > 0);
  const shown = firstUsed > 0 ? hist.slice(firstUsed) : hist;
  const histChart = barChart(
    shown.map((b) => b.count),
    shown.map((b) => (b.le === null || !Number.isFinite(b.le) ? "more" : `≤${b.le} ms`)),
    "answers",
  );
  const bucketS = r.firing.timelineBucketMs / 1000;
  const rpsChart = barChart(
    r.firing.timeline.map((c) => c / bucketS),
    r.firing.timeline.map((_, i) => `${(i * bucketS).toFixed(1)} s`),
    "requests/s",
    "#2e9e6b",
  );
  const series = r.counters?.series ?? [];
  const countersChart = series.length
    ? lineChart(
        series.map((s) => s.t / 1000),
        [
          { name: "issued", values: series.map((s) => s.issued), color: "#2e9e6b" },
          { name: "pending", values: series.map((s) => s.pending), color: "#d48a3b" },
          { name: "remaining", values: series.map((s) => s.remaining), color: "#3b6fd4" },
        ],
        "claims",
      )
    : "";
  const answers = Object.entries(r.answers.byStatus)
    .map(([s, c]) => `<tr><td>${s === "0" ? "no answer" : esc(s)}</td><td>${n(c)}</td></tr>`)
    .join("");
  const errors = Object.entries(r.answers.connectionErrors)
    .map(([c, k]) => `${esc(c)} ${n(k)}`)
    .join(", ");
  const invariants = r.invariants
    .map(
      (inv) =>
        `<tr class="${inv.pass ? "pass" : "fail"}"><td>${inv.pass ? "PASS" : "FAIL"}</td><td>${inv.id}. ${esc(inv.name)}</td>` +
        `<td>${[...inv.evidence.map(esc), ...inv.failures.map((f) => `<b>${esc(f)}</b>`)].join("<br>")}</td></tr>`,
    )
    .join("");
  const title = `stampede bench: ${r.kind === "ceiling" ? "ceiling" : "stampede"} ${r.startedAt}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:820px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.8em}
table{border-collapse:collapse}td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}.pass td:first-child{color:#2e7d32;font-weight:600}
.fail td:first-child{color:#c62828;font-weight:600}.inv td{text-align:left;vertical-align:top}
.verdict{font-size:1.2em;font-weight:700}.muted{color:#666}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="verdict" style="color:${r.pass ? "#2e7d32" : "#c62828"}">${r.pass ? "PASS" : "FAIL"}</p>
<p class="muted">${esc(r.targets.join(", "))} · Node ${esc(r.node)} · ${n(r.load.users)} users, ${n(r.load.requests)} requests,
${r.load.rate !== undefined ? `${n(r.load.rate)} req/s` : `concurrency ${esc(String(r.load.concurrency))}`}
${r.campaign ? ` · stock ${n(r.campaign.stock)}` : ""} · ${esc(r.openFiles.message)}</p>
<h2>Throughput: ${n(Math.round(r.firing.requestsPerSecond))} requests/s over ${ms(r.firing.durationMs)} ms</h2>
${rpsChart}
<h2>Admission latency histogram</h2>
${histChart}
<table><tr><th></th><th>count</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>${latencyRows(r)}</table>
${countersChart ? `<h2>Campaign counters during the run</h2>${countersChart}` : ""}
${r.settle ? `<p>Settle: ${r.settle.quiet ? "quiet" : "<b>not quiet</b>"}, pending reached 0 ${ms(r.settle.pendingZeroAfterMs)} ms after the last 202; last issued ${ms(r.settle.lastIssuedAfterLastAdmittedMs)} ms after the last admission (server clock).</p>` : ""}
<h2>Answers</h2>
<table><tr><th>status</th><th>count</th></tr>${answers}</table>
<p>Connection errors: ${errors || "none"}${r.answers.retried ? ` · retried after Retry-After: ${n(r.answers.retried)}` : ""}</p>
${invariants ? `<h2>Invariants</h2><table class="inv">${invariants}</table>` : ""}
${r.notes.length ? `<h2>Notes</h2><ul>${r.notes.map((x) => `<li>${esc(x)}</li>`).join("")}</ul>` : ""}
</body></html>
`;
}
