import { postgresTimeouts } from "../../adapters/postgres/options.ts";
import { PostgresLedger } from "../../adapters/postgres/postgres-ledger.ts";
import { SqliteLedger } from "../../adapters/sqlite/sqlite-ledger.ts";
import { loadConfig } from "../../config/config.ts";
import { privateDataDir } from "../../runtime/data-dir.ts";
import { StartupError, startupError } from "../../runtime/startup-error.ts";

/** `stampede migrate`: applies the ledger's migrations (PostgreSQL when DATABASE_URL is set, else embedded). */
export async function migrate(argv: string[]): Promise<number> {
  const config = loadConfig(process.env, argv);
  if (config.DATABASE_URL !== undefined) {
    const ledger = new PostgresLedger({
      connectionString: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      timeouts: postgresTimeouts(config),
    });
    try {
      await ledger.migrate();
    } catch (error) {
      throw new StartupError(`cannot migrate PostgreSQL (DATABASE_URL): ${(error as Error).message}`);
    } finally {
      await ledger.close();
    }
    process.stdout.write(`stampede: PostgreSQL ledger (schema ${config.DATABASE_SCHEMA}) is up to date\n`);
    return 0;
  }
  await privateDataDir(config.DATA_DIR);
  let ledger: SqliteLedger | undefined;
  try {
    ledger = new SqliteLedger(config.DATA_DIR);
    await ledger.migrate();
  } catch (error) {
    throw startupError("DATA_DIR", `migrate the ledger in ${config.DATA_DIR}`, error);
  } finally {
    await ledger?.close();
  }
  process.stdout.write(`stampede: embedded ledger in ${config.DATA_DIR} is up to date\n`);
  return 0;
}
