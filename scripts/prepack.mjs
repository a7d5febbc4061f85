// `npm pack` / `npm publish` run this first (package.json "prepack"): the
// package ships bin/ and dist/ but not src/ (package.json "files"), so dist/ is
// rebuilt here from scratch, never reused: nothing from an earlier build or
// another branch can ride along. It is `npm run build` plus type declarations
// (.d.ts, for `stampede/client` and `stampede/tasks`) and minus source maps,
// which would point at sources the package does not carry.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin/tsc");
const run = (args) => execFileSync(process.execPath, args, { cwd: root, stdio: "inherit" });

rmSync(join(root, "dist"), { recursive: true, force: true });
run([tsc, "-p", "tsconfig.build.json", "--declaration", "--sourceMap", "false"]);
run([join(root, "scripts/copy-assets.mjs")]);
