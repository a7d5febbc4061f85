import { SqliteLedger } from "../../src/adapters/sqlite/sqlite-ledger.ts";
import { ThreadedIssuer } from "../../src/adapters/sqlite/threaded-issuer.ts";
import type { Ledger } from "../../src/ports/ledger.ts";
import { tempDir } from "../helpers/tmp.ts";
import { ledgerContract } from "./ledger.ts";

/** The embedded ledger, in a fresh DATA_DIR per test. */
ledgerContract("sqlite", async (t) => {
  const ledger = new SqliteLedger(tempDir(t));
  await ledger.migrate();
  t.after(() => ledger.close());
  return { ledger, lifecycle: ledger.lifecycle, deliveries: ledger.deliveries };
});

/** The same, with issue() on the embedded worker's writer thread (its own connection), as `stampede start` runs it. */
ledgerContract("sqlite, writer thread", async (t) => {
  const dataDir = tempDir(t);
  const ledger = new SqliteLedger(dataDir);
  await ledger.migrate();
  const issuer = new ThreadedIssuer(dataDir);
  t.after(async () => {
    await issuer.close();
    await ledger.close();
  });
  const threaded = new Proxy(ledger, {
    get: (target, key) => {
      if (key === "issue") return issuer.issue.bind(issuer);
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) satisfies Ledger;
  return { ledger: threaded, lifecycle: ledger.lifecycle, deliveries: ledger.deliveries };
});
