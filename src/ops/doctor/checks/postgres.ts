import { type DoctorCheck, fail, info, ok, type Verdict, warn } from "../types.ts";

/**
 * PostgreSQL is the distributed ledger: it must answer, be recent enough, and
 * hold the ledger's schema at the version this stampede expects.
 *
 * Hook for the PostgreSQL ledger: pass `latestSchemaVersion` (the highest
 * migration this build ships) so the check can say "behind" or "ahead". The
 * version applied is read from `<schema>.schema_migrations(version)`, the
 * same bookkeeping as the embedded ledger; change `readSchemaVersion` if the
 * PostgreSQL ledger keeps it elsewhere.
 */
export interface PostgresCheckOptions {
  url: string;
  schema: string;
  latestSchemaVersion?: number;
  connectTimeoutMs?: number;
}

const MIN_SERVER_VERSION_NUM = 130_000;

export function postgresCheck(options: PostgresCheckOptions): DoctorCheck {
  return { name: "postgres", run: () => checkPostgres(options) };
}

type Query = (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

async function checkPostgres(options: PostgresCheckOptions): Promise<Verdict[]> {
  const { default: pg } = await import("pg");
  const where = redactUrl(options.url);
  const client = new pg.Client({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return [
      fail(
        "postgres",
        `cannot reach ${where}: ${(error as Error).message}`,
        "start PostgreSQL or correct DATABASE_URL",
      ),
    ];
  }
  try {
    const query: Query = (text, values) => client.query(text, values);
    const verdicts: Verdict[] = [];
    const { rows } = await query(
      "SELECT current_setting('server_version') AS v, current_setting('server_version_num')::int AS n",
    );
    const version = String(rows[0]?.v);
    verdicts.push(
      Number(rows[0]?.n) < MIN_SERVER_VERSION_NUM
        ? fail("postgres", `${where} runs PostgreSQL ${version}`, "upgrade to PostgreSQL 13 or newer")
        : ok("postgres", `${where} answers, PostgreSQL ${version}`),
    );
    verdicts.push(await schemaVerdict(query, options));
    const settings = await query(DURABILITY_SETTINGS_SQL);
    verdicts.push(
      durabilityVerdict(Object.fromEntries(settings.rows.map((r) => [String(r.name), String(r.setting)]))),
    );
    return verdicts;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The settings durabilityVerdict judges, as rows of (name, setting). */
export const DURABILITY_SETTINGS_SQL =
  "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')";

/**
 * Once a claim is in PostgreSQL the workers acknowledge it in the queue and
 * the queue lets it go: PostgreSQL then holds the only copy. With fsync or
 * full_page_writes off a crash can corrupt the database itself (fail: start
 * refuses, src/runtime/start-checks.ts); with synchronous_commit off it
 * loses the last commits, issued claims with nothing left to write them
 * again (warn; docs/guarantees.md). "remote_write", "remote_apply" and
 * "local" are as durable as "on" locally.
 */
export function durabilityVerdict(settings: Record<string, string>): Verdict {
  const off = (names: string[]) => names.filter((name) => settings[name] === "off").map((n) => `${n}=off`);
  const fix =
    "set fsync, synchronous_commit and full_page_writes to on (the defaults); see docs/guarantees.md";
  const unsafe = off(["fsync", "full_page_writes"]);
  if (unsafe.length > 0)
    return fail(
      "postgres-durability",
      `${[...unsafe, ...off(["synchronous_commit"])].join(", ")}: a PostgreSQL crash can corrupt the ledger, the only copy of issued claims`,
      fix,
    );
  if (settings.synchronous_commit === "off")
    return warn(
      "postgres-durability",
      "synchronous_commit=off: a PostgreSQL crash can lose issued claims, and the queue no longer holds them",
      fix,
    );
  return ok(
    "postgres-durability",
    `fsync=${settings.fsync ?? "?"}, synchronous_commit=${settings.synchronous_commit ?? "?"}: a commit survives a crash`,
  );
}

export async function readSchemaVersion(query: Query, schema: string): Promise<number | undefined> {
  const table = await query(
    "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_migrations'",
    [schema],
  );
  if (table.rows.length === 0) return undefined;
  const { rows } = await query(
    `SELECT coalesce(max(version), 0)::int AS v FROM "${schema.replaceAll('"', '""')}".schema_migrations`,
  );
  return Number(rows[0]?.v ?? 0);
}

async function schemaVerdict(query: Query, options: PostgresCheckOptions): Promise<Verdict> {
  const { schema, latestSchemaVersion: latest } = options;
  const exists = await query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema]);
  if (exists.rows.length === 0)
    return warn("postgres-schema", `schema "${schema}" does not exist yet`, "run stampede migrate");
  const version = await readSchemaVersion(query, schema);
  if (version === undefined)
    return warn(
      "postgres-schema",
      `schema "${schema}" has no schema_migrations table`,
      "run stampede migrate",
    );
  if (latest === undefined) return info("postgres-schema", `schema "${schema}" at version ${version}`);
  if (version < latest)
    return fail(
      "postgres-schema",
      `schema "${schema}" at version ${version}, this stampede needs ${latest}`,
      "run stampede migrate",
    );
  if (version > latest)
    return fail(
      "postgres-schema",
      `schema "${schema}" at version ${version}, newer than this stampede (${latest})`,
      "upgrade stampede on this machine",
    );
  return ok("postgres-schema", `schema "${schema}" at version ${version} (up to date)`);
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return "PostgreSQL";
  }
}
