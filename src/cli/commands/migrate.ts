import { loadConfig } from "../../config/config.ts";
import { SqliteLedger } from "../../ledger/sqlite/sqlite-ledger.ts";

/** `stampede migrate`: applies the ledger's migrations (PostgreSQL when DATABASE_URL is set, else embedded). */
export async function migrate(argv: string[]): Promise<number> {
  const config = loadConfig(process.env, argv);
  const ledger = new SqliteLedger(config.DATA_DIR);
  try {
    await ledger.migrate();
  } finally {
    await ledger.close();
  }
  process.stdout.write(`stampede: embedded ledger in ${config.DATA_DIR} is up to date\n`);
  return 0;
}
