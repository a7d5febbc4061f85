import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { withoutSettings } from "../../src/config/config.ts";

const BIN = fileURLToPath(new URL("../../bin/stampede.js", import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `stampede <command>` as a child process on a free port and waits for
 * its "listening on" line. Spikes and crash tests need a real process: the
 * client's and the server's sockets do not fit in one process's file limit,
 * and SIGKILL must hit the server, not the test.
 */
export async function startServer(
  command: string,
  env: Record<string, string>,
  options: { timeoutMs?: number; bin?: string } = {},
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [options.bin ?? BIN, command], {
    // Only the settings given here: not, say, a KAFKA_BROKERS exported for the tests themselves.
    // One process per command unless a test asks for more (stampede api defaults to the cores).
    env: { ...withoutSettings(process.env), PORT: "0", LOG_LEVEL: "warn", PROCESSES: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (output += d));
  const exited = once(child, "exit");
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in time:\n${output}`)),
      options.timeoutMs ?? 20_000,
    );
    const onData = () => {
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
