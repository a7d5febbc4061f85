/**
 * Kernel facts beside each figure. With 10,000 new connections at once the
 * listen queue is part of the system: when it overflows the SYN is dropped
 * and the client retransmits it a second (then three) later. The counters are
 * machine-wide: other programs' overflows count too.
 */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface ListenCounters {
  overflows: number;
  drops: number;
  /** SYNs sent again (a dropped SYN costs the client a second or more). */
  synRetrans: number;
  /** Segments sent again after a timeout: on loopback, packets dropped by a full per-CPU backlog. */
  retransSegs: number;
  /** Packets dropped by the per-CPU input backlog (net.core.netdev_max_backlog), /proc/net/softnet_stat. */
  softnetDropped: number;
}

const COUNTERS = ["TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPSynRetrans", "TcpRetransSegs"];

export function listenCounters(): ListenCounters | undefined {
  try {
    const out = execFileSync("nstat", ["-az", ...COUNTERS], { encoding: "utf8" });
    const value = (name: string) => Number(new RegExp(`${name}\\s+(\\d+)`).exec(out)?.[1] ?? Number.NaN);
    return {
      overflows: value("TcpExtListenOverflows"),
      drops: value("TcpExtListenDrops"),
      synRetrans: value("TcpExtTCPSynRetrans"),
      retransSegs: value("TcpRetransSegs"),
      softnetDropped: softnetDropped(),
    };
  } catch {
    return undefined;
  }
}

function softnetDropped(): number {
  try {
    return readFileSync("/proc/net/softnet_stat", "utf8")
      .trim()
      .split("\n")
      .reduce((n, line) => n + Number.parseInt(line.split(/\s+/)[1] ?? "0", 16), 0);
  } catch {
    return Number.NaN;
  }
}

export function diffCounters(
  before: ListenCounters | undefined,
  after: ListenCounters | undefined,
): ListenCounters | undefined {
  if (!before || !after) return undefined;
  return {
    overflows: after.overflows - before.overflows,
    drops: after.drops - before.drops,
    synRetrans: after.synRetrans - before.synRetrans,
    retransSegs: after.retransSegs - before.retransSegs,
    softnetDropped: after.softnetDropped - before.softnetDropped,
  };
}

const readNumber = (path: string): number | undefined => {
  try {
    return Number(readFileSync(path, "utf8").trim());
  } catch {
    return undefined;
  }
};

/** The settings that bound a listen backlog: the kernel caps listen(backlog) at somaxconn. */
export function backlogLimits(): { somaxconn?: number; maxSynBacklog?: number; netdevMaxBacklog?: number } {
  return {
    somaxconn: readNumber("/proc/sys/net/core/somaxconn"),
    maxSynBacklog: readNumber("/proc/sys/net/ipv4/tcp_max_syn_backlog"),
    netdevMaxBacklog: readNumber("/proc/sys/net/core/netdev_max_backlog"),
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
  const load = loadAverage().join(" ");
  return { cpus: model, cores, memoryGiB: Math.round(mem / 1024 / 1024), kernel, load };
}

/** The load averages over 1, 5 and 15 minutes. */
export function loadAverage(): number[] {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
}
