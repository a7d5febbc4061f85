import { flagName, SETTINGS } from "./config.ts";
import type { Setting } from "./settings.ts";

/**
 * docs/configuration.md, rendered from the settings table (config.ts):
 * `npm run docs:config` writes it, and test/config/reference.test.ts fails
 * when the file in the repository is not what this renders.
 */
export function configurationReference(): string {
  const rows = (Object.entries(SETTINGS) as [string, Setting<unknown>][]).map(([name, setting]) => [
    `\`${name}\``,
    `\`--${flagName(name)}\``,
    cell(shownDefault(setting)),
    cell(setting.doc),
  ]);
  return `${[
    "# Configuration",
    "",
    "<!-- Generated from the settings table (src/config/config.ts) by `npm run docs:config`; do not edit. -->",
    "",
    "Every setting is an environment variable, or the same name as a command-line",
    "flag (`PORT=9000` or `--port 9000`); a flag wins over the environment. Each is",
    "checked when the process starts: a missing or malformed one stops it with one",
    "line naming the setting. `stampede --help` prints the same table.",
    "",
    ...table(["Setting", "Flag", "Default", "What it does"], rows),
  ].join("\n")}\n`;
}

/** A Markdown table with padded columns, as the formatter (Biome) writes it. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: string[]) => `| ${cells.map((text, i) => text.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)];
}

function shownDefault(setting: Setting<unknown>): string {
  if (setting.defaultText !== undefined) return setting.defaultText;
  const value = setting.default;
  if (value === undefined) return "(unset)";
  if (Array.isArray(value)) return value.length === 0 ? "(none)" : `\`${value.join(",")}\``;
  return `\`${String(value)}\``;
}

/** A Markdown table cell: pipes escaped, one line. */
const cell = (text: string): string => text.replaceAll("|", "\\|").replaceAll("\n", " ");
