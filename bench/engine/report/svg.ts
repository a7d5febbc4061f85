/**
 * Tiny SVG charts for the HTML report: no library, no script, so the page
 * is one self-contained file that opens anywhere.
 */

const W = 760;
const H = 220;
const PAD = { left: 60, right: 12, top: 12, bottom: 40 };

export const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

const compact = (v: number) =>
  v >= 1e6
    ? `${(v / 1e6).toFixed(1)}M`
    : v >= 1e3
      ? `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`
      : `${Math.round(v)}`;

function frame(maxY: number, yLabel: string): string {
  const plotH = H - PAD.top - PAD.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = PAD.top + plotH * (1 - f);
    return (
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>` +
      `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${compact(maxY * f)}</text>`
    );
  });
  return `${ticks.join("")}<text x="12" y="${PAD.top + plotH / 2}" font-size="11" transform="rotate(-90 12 ${PAD.top + plotH / 2})" text-anchor="middle">${esc(yLabel)}</text>`;
}

/** Vertical bars with a label under each (sparse labels when many bars). */
export function barChart(values: number[], labels: string[], yLabel: string, color = "#3b6fd4"): string {
  const maxY = Math.max(1, ...values);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const bw = plotW / Math.max(1, values.length);
  const every = Math.ceil(values.length / 16);
  const bars = values.map((v, i) => {
    const h = (v / maxY) * plotH;
    const x = PAD.left + i * bw;
    const label =
      i % every === 0
        ? `<text x="${x + bw / 2}" y="${H - PAD.bottom + 14}" font-size="10" text-anchor="middle">${esc(labels[i] ?? "")}</text>`
        : "";
    return `<rect x="${x + 0.5}" y="${PAD.top + plotH - h}" width="${Math.max(0.5, bw - 1)}" height="${h}" fill="${color}"><title>${esc(labels[i] ?? "")}: ${v.toLocaleString("en-US")}</title></rect>${label}`;
  });
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">${frame(maxY, yLabel)}${bars.join("")}</svg>`;
}

/** Lines over a shared x axis (seconds). */
export function lineChart(
  xs: number[],
  series: { name: string; values: number[]; color: string }[],
  yLabel: string,
): string {
  const maxY = Math.max(1, ...series.flatMap((s) => s.values));
  const maxX = Math.max(1e-9, ...xs);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const px = (x: number) => PAD.left + (x / maxX) * plotW;
  const py = (y: number) => PAD.top + plotH * (1 - y / maxY);
  const lines = series.map(
    (s) =>
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${s.values.map((v, i) => `${px(xs[i]!).toFixed(1)},${py(v).toFixed(1)}`).join(" ")}"/>`,
  );
  const legend = series.map(
    (s, i) =>
      `<text x="${PAD.left + 10 + i * 120}" y="${H - 6}" font-size="11" fill="${s.color}">■ ${esc(s.name)}</text>`,
  );
  const xTicks = [0, 0.25, 0.5, 0.75, 1].map(
    (f) =>
      `<text x="${px(maxX * f)}" y="${H - PAD.bottom + 14}" font-size="10" text-anchor="middle">${(maxX * f).toFixed(1)} s</text>`,
  );
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">${frame(maxY, yLabel)}${lines.join("")}${xTicks.join("")}${legend.join("")}</svg>`;
}
