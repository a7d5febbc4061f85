/**
 * The highest fixed rate a server keeps up with, by short probe runs: from
 * the start rate, doubled until a probe fails, then bisected three times (or
 * until within 5%). `sustained` holds the rate it finds for a minute;
 * `overload` fires a multiple of it. `good` is the scenario's criterion
 * (e.g. admission p99 under 50 ms, every invariant held).
 */

import { ms, num } from "../engine/format.ts";
import { log, type RunFigures } from "./figures.ts";

export interface RateSearch {
  startRate: number;
  /** One run at `rate`, against a fresh server. */
  probe: (rate: number) => Promise<RunFigures>;
  good: (figures: RunFigures) => boolean;
  /** Names the probes in the log ("ceiling", "system"). */
  label: string;
  maxRate?: number;
}

/** When the start rate fails, the bisection looks below it; 0 when no probe passed. */
export async function highestRate(search: RateSearch): Promise<number> {
  const maxRate = search.maxRate ?? 1_000_000;
  let lo = 0;
  let hi = 0;
  const probe = async (rate: number) => {
    const f = await search.probe(rate);
    const good = search.good(f);
    log(`  ${search.label} probe ${num(rate)}/s: p99 ${ms(f.p99)} ${good ? "ok" : "too much"}`);
    if (good) lo = rate;
    else hi = rate;
  };
  for (let rate = search.startRate; hi === 0 && rate <= maxRate; rate *= 2) await probe(rate);
  for (let i = 0; i < 3 && hi > 0 && hi - lo > lo * 0.05; i++) await probe(Math.round((lo + hi) / 2));
  return lo;
}
