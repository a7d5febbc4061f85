import { PostgresLedger } from "../../src/adapters/postgres/postgres-ledger.ts";
import { DATABASE_URL, skipWithoutServices, testSchema } from "../helpers/services.ts";
import { ledgerContract } from "./ledger.ts";

/** The distributed ledger, in a schema of its own per test. */
ledgerContract(
  "postgres",
  async (t) => {
    const ledger = new PostgresLedger({ connectionString: DATABASE_URL, schema: testSchema(t, "ledger") });
    t.after(() => ledger.close());
    await ledger.migrate();
    return { ledger, lifecycle: ledger.lifecycle, deliveries: ledger.deliveries };
  },
  await skipWithoutServices(),
);
