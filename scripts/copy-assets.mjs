// Part of `npm run build`: tsc emits dist/ from src/ but copies nothing else, and
// stampede reads files beside its modules at run time (Lua scripts, SQL
// migrations, the dashboard's pages). Copies every non-TypeScript file of src/
// into dist/ (or the folder given) at the same path, so `bin/stampede.js` can run from dist/.
import { cpSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const out = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(new URL("../dist/", import.meta.url));
cpSync(fileURLToPath(new URL("../src/", import.meta.url)), out, {
  recursive: true,
  filter: (source) => !source.endsWith(".ts"),
});
