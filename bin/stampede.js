#!/usr/bin/env node
// stampede's command line. Runs the compiled dist/ when present (an installed
// package), else the TypeScript sources directly (Node 24 strips types).
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `stampede: needs Node.js 24 or newer, this is ${process.versions.node}; ` +
      "scripts/start.sh fetches one into .tools/ (see README)",
  );
  process.exit(1);
}
const { existsSync } = await import("node:fs");
const dist = new URL("../dist/src/cli/main.js", import.meta.url);
const entry = existsSync(dist) ? dist : new URL("../src/cli/main.ts", import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
