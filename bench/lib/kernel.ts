import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Kernel facts beside each figure. With 10,000 new connections at once the
 * listen queue is part of the system: when it overflows the SYN is dropped
 * and the client retransmits it a second (then three) later. The counters are
 * machine-wide: other programs' overflows count too.
 */
export interface ListenCounters {
  overflows: number;
  drops: number;
}

export function listenCounters(): ListenCounters | undefined {
  try {
    const out = execFileSync("nstat", ["-az", "TcpExtListenOverflows", "TcpExtListenDrops"], {
      encoding: "utf8",
    });
    const value = (name: string) => Number(new RegExp(`${name}\\s+(\\d+)`).exec(out)?.[1] ?? Number.NaN);
    return { overflows: value("TcpExtListenOverflows"), drops: value("TcpExtListenDrops") };
  } catch {
    return undefined;
  }
}

export function diffCounters(
  before: ListenCounters | undefined,
  after: ListenCounters | undefined,
): ListenCounters | undefined {
  if (!before || !after) return undefined;
  return { overflows: after.overflows - before.overflows, drops: after.drops - before.drops };
}

const readNumber = (path: string): number | undefined => {
  try {
    return Number(readFileSync(path, "utf8").trim());
  } catch {
    return undefined;
  }
};

/** The settings that bound a listen backlog: the kernel caps listen(backlog) at somaxconn. */
export function backlogLimits(): { somaxconn?: number; maxSynBacklog?: number } {
  return {
    somaxconn: readNumber("/proc/sys/net/core/somaxconn"),
    maxSynBacklog: readNumber("/proc/sys/net/ipv4/tcp_max_syn_backlog"),
  };
}

export function machine(): { cpus: string; cores: number; memoryGiB: number; kernel: string; load: string } {
  const cpuinfo = (() => {
    try {
      return readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return "";
    }
  })();
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? "unknown";
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const mem = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  return { cpus: model, cores, memoryGiB: Math.round(mem / 1024 / 1024), kernel, load };
}
