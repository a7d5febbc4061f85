import { type DoctorCheck, fail, info, ok, type Verdict, warn } from "../types.ts";

/**
 * The stampede process at HOST:PORT, if one runs: its readiness, and its
 * queue lag from /v1/admin/stats (which only the running process knows; the
 * embedded queue lives in its memory). Not running is not an error.
 */
export interface ServerCheckOptions {
  host: string;
  port: number;
  adminToken: string | undefined;
  timeoutMs?: number;
}

interface StatsBody {
  queue?: { lag?: { source: string; lag: number }[]; total?: number; error?: string };
  campaigns?: { pending: number }[];
}

export function serverCheck(options: ServerCheckOptions): DoctorCheck {
  return { name: "server", run: () => checkServer(options) };
}

async function checkServer(options: ServerCheckOptions): Promise<Verdict[]> {
  // A server listening on every address answers on loopback.
  const host = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : options.host;
  const base = `http://${host.includes(":") ? `[${host}]` : host}:${options.port}`;
  const timeout = () => AbortSignal.timeout(options.timeoutMs ?? 3000);
  let ready: Response;
  try {
    ready = await fetch(`${base}/readyz`, { signal: timeout() });
  } catch {
    return [info("server", `no stampede answers at ${base} (start it to see its readiness and queue lag)`)];
  }
  const verdicts: Verdict[] = [];
  const body = (await ready.json().catch(() => ({}))) as { message?: string };
  verdicts.push(
    ready.status === 200
      ? ok("server", `${base} is ready`)
      : fail(
          "server",
          `${base} is not ready (${ready.status}): ${body.message ?? ""}`,
          "see the lines above",
        ),
  );
  if (!options.adminToken) {
    verdicts.push(info("queue-lag", "unknown: no admin token (set ADMIN_TOKEN) to read /v1/admin/stats"));
    return verdicts;
  }
  try {
    const res = await fetch(`${base}/v1/admin/stats`, {
      headers: { authorization: `Bearer ${options.adminToken}` },
      signal: timeout(),
    });
    if (res.status === 401)
      return [
        ...verdicts,
        warn("queue-lag", "the server refused the admin token", "set ADMIN_TOKEN to the server's token"),
      ];
    const stats = (await res.json()) as StatsBody;
    if (!stats.queue || stats.queue.error)
      verdicts.push(
        warn("queue-lag", `unknown: ${stats.queue?.error ?? "not reported"}`, "see /v1/admin/stats"),
      );
    else {
      const parts = (stats.queue.lag ?? []).map((l) => `${l.source} ${l.lag}`).join(", ");
      verdicts.push(info("queue-lag", `${stats.queue.total ?? 0} queued, not yet processed (${parts})`));
    }
  } catch (error) {
    verdicts.push(warn("queue-lag", `cannot read /v1/admin/stats: ${(error as Error).message}`, "retry"));
  }
  return verdicts;
}
