/**
 * Figures as every report prints them (the tool's text and HTML reports, the
 * scenarios' pair lines): thousands separated, milliseconds with two decimals
 * below 10 ms, and "n/a" for a figure that was not measured.
 */

const missing = (v: number | undefined): v is undefined => v === undefined || Number.isNaN(v);

/** 12,345 (rounded). */
export const num = (v: number | undefined): string =>
  missing(v) ? "n/a" : Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : String(v);

/** A duration without its unit, for a column headed "ms". */
export const msFigure = (v: number | undefined): string =>
  missing(v) ? "n/a" : v < 10 ? v.toFixed(2) : num(v);

/** "3.25 ms", "1,204 ms". */
export const ms = (v: number | undefined): string => (missing(v) ? "n/a" : `${msFigure(v)} ms`);

/** A ratio as a percentage: 0.56 -> "56%". */
export const pct = (ratio: number): string =>
  Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)}%` : "n/a";
