import { flagName, SETTINGS } from "../config/config.ts";
import type { Setting } from "../config/settings.ts";

const COMMANDS = [
  [
    "start",
    "API and workers in one process, embedded ledger and queue (the default); one process, since its admission state is in memory",
  ],
  [
    "api",
    "API processes of distributed mode (Redis, a queue, PostgreSQL): --processes N share one port, default the cores",
  ],
  ["worker", "worker processes of distributed mode (--processes N, default 1)"],
  ["migrate", "apply the ledger's schema migrations (also done at start)"],
  ["bench", "fire a claim spike at a server and check the invariants"],
  ["doctor", "check every configured dependency and what a 202 survives"],
  [
    "verify-draw",
    "check a waiting room's draw: verify-draw <base-url> <campaign> [--user <userId>] (--help for more)",
  ],
] as const;

/** Where a scoped setting applies: `start` refuses a distributed one (src/config/commands.ts). */
const SCOPE = { embedded: "start", distributed: "api, worker" } as const;

export function helpText(command?: string): string {
  const lines = [
    "Usage: stampede <command> [--setting value ...]",
    "       stampede --version",
    "",
    "Commands:",
  ];
  for (const [name, doc] of COMMANDS)
    if (!command || command === name) lines.push(`  ${name.padEnd(12)}${doc}`);
  lines.push("", "Settings (environment variable, or the same name as a --flag):");
  for (const [name, setting] of Object.entries(SETTINGS) as [string, Setting<unknown>][]) {
    const shown = setting.defaultText ?? JSON.stringify(setting.default) ?? "(unset)";
    const only = setting.scope ? ` (${SCOPE[setting.scope]} only)` : "";
    lines.push(
      `  ${name.padEnd(20)} --${flagName(name).padEnd(20)} ${setting.doc}${only} [default: ${shown}]`,
    );
  }
  return `${lines.join("\n")}\n`;
}
