#!/usr/bin/env node
// stampede's command line.
//
// Which code runs, chosen so that it is never stale output:
// - In a checkout (src/ sits beside bin/): the TypeScript sources, always;
//   Node 24 strips their types. A dist/ left by an earlier `npm run build` is
//   ignored, however old it is.
// - In an installed package (package.json "files" ships bin/ and dist/, never
//   src/): dist/, which `prepack` rebuilds from scratch out of the very sources
//   being packed. Node refuses to strip types under node_modules, so an
//   installed package could not run src/ anyway.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    `stampede: needs Node.js 24 or newer, this is ${process.versions.node}; ` +
      "scripts/start.sh fetches one into .tools/ (see README)",
  );
  process.exit(1);
}
const { existsSync } = await import("node:fs");
const source = new URL("../src/cli/main.ts", import.meta.url);
const entry = existsSync(source) ? source : new URL("../dist/src/cli/main.js", import.meta.url);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
