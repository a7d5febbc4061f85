import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { chownSync, closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort } from "./net.ts";
import { skipOrFail, skipWithoutServices } from "./services.ts";
import { tempDir } from "./tmp.ts";

/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary directory,
 * its own port and socket directory), for tests that kill -9 PostgreSQL
 * itself (or freeze it): never the shared server. kill -9 takes the
 * postmaster and every process it forked (found by parent: each of them
 * calls setsid()), as a crash of the machine's PostgreSQL would. Stopped and
 * removed when the test ends.
 *
 * PostgreSQL refuses to run as root; when the tests do, the cluster runs as
 * the `postgres` user (Debian's package creates it).
 */
export interface OwnPostgres {
  url: string;
  port: number;
  /** kill -9 of the postmaster and all its children, then waits for the postmaster's exit. */
  kill9(): Promise<void>;
  /** Starts it again on the same data directory and port (crash recovery replays the WAL); waits until it answers. */
  restart(): Promise<void>;
  /** The server's log so far (every start appends to it). */
  log(): string;
  /**
   * SIGSTOP of the postmaster and every process it forked: the server hangs as a
   * stalled host would. Open connections stay open and get no answer; new
   * ones are accepted by the kernel and never get past the handshake.
   */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

type After = { after: (fn: () => Promise<void> | void) => void };

/** The directory holding initdb and postgres: TEST_PG_BINDIR, Debian's newest, or pg_config's. */
function binDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.TEST_PG_BINDIR) candidates.push(process.env.TEST_PG_BINDIR);
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, "bin")));
  }
  try {
    candidates.push(execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim());
  } catch {
    // no pg_config on PATH
  }
  return candidates.find((dir) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres")));
}

/** The user and group to run PostgreSQL as: ourselves, or `postgres` when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** Why a cluster of the test's own cannot be started, or undefined when it can. */
export function ownPostgresMissing(): string | undefined {
  if (!binDir())
    return "PostgreSQL's initdb and postgres were not found (/usr/lib/postgresql/*/bin, pg_config --bindir, TEST_PG_BINDIR)";
  try {
    runAs();
  } catch {
    return "the tests run as root and there is no `postgres` user to run PostgreSQL as";
  }
  return undefined;
}

/**
 * The `skip` option for tests that kill PostgreSQL: a reason when the shared
 * services or initdb are missing, except under CI=true, where that fails.
 */
export async function skipWithoutOwnPostgres(): Promise<string | false> {
  return (await skipWithoutServices()) || skipOrFail(ownPostgresMissing());
}

export async function startOwnPostgres(
  t: After,
  options: {
    /** Server settings (name=value) on top of the defaults, e.g. "fsync=off". */ settings?: string[];
  } = {},
): Promise<OwnPostgres> {
  const bin = binDir();
  if (!bin) throw new Error(ownPostgresMissing());
  const user = runAs();
  let child: ChildProcess | undefined;
  // Registered before the temporary directory is, so the cluster is gone before its directory goes.
  t.after(async () => {
    await killAll();
    process.off("exit", killGroup);
  });
  // A test runner that exits without running its after hooks must not leave a cluster behind.
  process.on("exit", killGroup);

  const base = tempDir(t, "stampede-pg-");
  if (user) chownSync(base, user.uid, user.gid);
  const data = join(base, "data");
  const logFile = join(base, "postgres.log");
  // --no-sync skips initdb's final flush only; the server itself runs with fsync=on.
  execFileSync(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"],
    { stdio: "pipe", cwd: base, ...user },
  );
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const settings = [
    "listen_addresses=127.0.0.1",
    "fsync=on",
    "max_connections=100",
    "shared_buffers=32MB",
    ...(options.settings ?? []),
  ];
  const args = ["-D", data, "-p", String(port), "-k", base, ...settings.flatMap((s) => ["-c", s])];

  function log(): string {
    return existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
  }
  const logTail = () => log().split("\n").slice(-15).join("\n");

  function killGroup(): void {
    if (child?.pid === undefined) return;
    // The backends too, by parent: a stopped one (freeze()) would not notice the postmaster's death.
    const children = childrenOf(child.pid);
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // the group is empty already
    }
    for (const pid of children) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
  }

  /** kill -9 of the whole group, then waits for the postmaster's exit and every backend's. */
  async function killAll(): Promise<void> {
    const c = child;
    if (c?.pid === undefined) return;
    const exited = c.exitCode === null && c.signalCode === null ? once(c, "exit") : undefined;
    killGroup();
    await exited;
    // A restart that finds the old shared memory still attached refuses to start.
    const deadline = Date.now() + 10_000;
    while (groupAlive(c.pid)) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL's processes (group ${c.pid}) outlived kill -9`);
      await sleep(50);
    }
  }

  async function start(): Promise<void> {
    const out = openSync(logFile, "a");
    if (user) chownSync(logFile, user.uid, user.gid);
    // detached: the postmaster leads a process group of its own (its children start sessions of their own).
    const started = spawn(join(bin!, "postgres"), args, {
      detached: true,
      stdio: ["ignore", out, out],
      cwd: base,
      ...user,
    });
    child = started;
    closeSync(out);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (started.exitCode !== null)
        throw new Error(`postgres exited with ${started.exitCode}:\n${logTail()}`);
      const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        // During crash recovery connections are refused ("the database system is starting up").
        await probe.query("SELECT 1");
        return;
      } catch {
        // not up yet
      } finally {
        await probe.end().catch(() => undefined);
      }
      if (Date.now() > deadline)
        throw new Error(`postgres on port ${port} did not answer within 60 s:\n${logTail()}`);
      await sleep(100);
    }
  }

  /**
   * A signal to the postmaster, then to every process it forked. Each of
   * those calls setsid(), so they are found by parent, not by process group.
   */
  function signalTree(name: NodeJS.Signals): void {
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid, name);
    for (const pid of childrenOf(child.pid)) {
      try {
        process.kill(pid, name);
      } catch {
        // exited meanwhile
      }
    }
  }

  await start();
  return {
    url,
    port,
    kill9: killAll,
    restart: start,
    log,
    freeze: () => signalTree("SIGSTOP"),
    thaw: () => signalTree("SIGCONT"),
  };
}

/** The processes whose parent is `ppid` (from /proc). */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
      const [, parent] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(parent) === ppid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * Whether a live process of the group remains. Reads /proc, where a zombie
 * (exited, its memory released, waiting for init to reap it) can be told
 * apart: it no longer holds the shared memory a restart needs free.
 */
function groupAlive(pgid: number): boolean {
  if (!existsSync("/proc/self/stat")) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z") return true;
  }
  return false;
}
