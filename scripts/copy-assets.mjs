// Part of `npm run build`: tsc emits dist/ from src/ and bench/engine/ (the `stampede bench` tool)
// but copies nothing else, and stampede reads files beside its modules at run time (Lua scripts, SQL
// migrations, the dashboard's pages). Copies every non-TypeScript file of those trees into dist/ (or
// the folder given) at the same path, so `bin/stampede.js` can run from dist/src/cli/main.js.
import { cpSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const out = process.argv[2] ? resolve(process.argv[2]) : join(root, "dist");
for (const tree of ["src", "bench/engine"])
  cpSync(join(root, tree), join(out, tree), { recursive: true, filter: (source) => !source.endsWith(".ts") });
