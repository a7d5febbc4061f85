/**
 * Flag tables: each flag is declared once (type, help line, default) and
 * both the parser and the --help text are made from that declaration, so
 * they cannot disagree. `stampede bench` (options.ts) and the scenario
 * scripts (bench/harness/args.ts) share it. Anything wrong with a flag is a
 * UsageError whose message is one line naming the flag.
 */

import { parseArgs } from "node:util";

export class UsageError extends Error {}

export interface Flag {
  type: "string" | "boolean";
  doc: string;
  /** The value when the flag is not given (string flags), also shown by --help. */
  default?: string;
  /** What --help shows as the default when there is no value to give, e.g. "(off)". */
  shown?: string;
  multiple?: true;
  short?: string;
}

export type FlagTable = Record<string, Flag>;
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

type ParseArgsOption = {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  default?: string | string[];
};

export function parseFlags(argv: string[], table: FlagTable): FlagValues {
  const options: Record<string, ParseArgsOption> = {};
  for (const [name, flag] of Object.entries(table)) {
    const option: ParseArgsOption = { type: flag.type };
    if (flag.multiple) option.multiple = true;
    if (flag.short) option.short = flag.short;
    if (flag.default !== undefined) option.default = flag.multiple ? [flag.default] : flag.default;
    options[name] = option;
  }
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** One line per flag: `  --name   what it does [default: value]`. */
export function flagHelp(table: FlagTable, width = 18): string[] {
  return Object.entries(table).map(([name, flag]) => {
    const shown = flag.default ?? flag.shown;
    return `  --${name.padEnd(width)} ${flag.doc}${shown === undefined ? "" : ` [default: ${shown}]`}`;
  });
}

/** A whole number between min and max ("_" allowed as a separator: 100_000). */
export function int(name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(raw.replaceAll("_", "")))
    throw new UsageError(`--${name}: expected an integer, got "${raw}"`);
  const n = Number(raw.replaceAll("_", ""));
  if (n < min || n > max) throw new UsageError(`--${name}: expected ${min} to ${max}, got ${n}`);
  return n;
}
