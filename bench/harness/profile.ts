/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went:
 * self time per function, and per place (a package under node_modules, a
 * source file of stampede, Node's internals, the garbage collector).
 */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotSpot {
  name: string;
  ms: number;
  share: number;
}

export function place(url: string, functionName: string): string {
  if (functionName === "(garbage collector)") return "(garbage collector)";
  if (functionName === "(idle)" || functionName === "(program)") return functionName;
  if (url === "") return "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  const src = /\/(src\/.+)$/.exec(url);
  if (src) return src[1]!;
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  return url;
}

export function summarizeProfile(
  path: string,
  top = 25,
): { byFunction: HotSpot[]; byPlace: HotSpot[]; totalMs: number } {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const fn = new Map<string, number>();
  const where = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      continue;
    }
    total += us;
    const file = url ? url.replace(/^.*\/(node_modules\/|src\/)/, "$1") : "";
    const key = `${functionName || "(anonymous)"} ${file}${file ? `:${lineNumber + 1}` : ""}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const p = place(url, functionName);
    where.set(p, (where.get(p) ?? 0) + us);
  }
  const list = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return { byFunction: list(fn), byPlace: list(where), totalMs: total / 1000 };
}

export function profilesIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export function formatHotSpots(title: string, spots: HotSpot[]): string {
  const lines = [title];
  for (const s of spots)
    lines.push(`  ${(s.share * 100).toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(7)} ms  ${s.name}`);
  return lines.join("\n");
}
