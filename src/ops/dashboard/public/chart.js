// A tiny line chart: polylines in an SVG whose viewBox is 300 x 60, scaled to the width of its box.

const NS = "http://www.w3.org/2000/svg";
const W = 300;
const H = 60;

/**
 * Draws each series (arrays of numbers or null, newest last) across the width,
 * with at least `minSlots` slots so a young history does not stretch; returns
 * the top of the scale.
 */
export function drawLines(svg, series, minSlots) {
  const points = Math.max(minSlots, ...series.map((s) => s.values.length));
  const values = series.flatMap((s) => s.values).filter((v) => v !== null);
  const top = niceCeil(Math.max(1, ...values));
  svg.replaceChildren();
  for (const { values: data, className } of series) {
    let path = "";
    let pen = false;
    data.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      const x = (W * (i + points - data.length)) / (points - 1);
      const y = H - (H * v) / top;
      path += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
      pen = true;
    });
    const line = document.createElementNS(NS, "path");
    line.setAttribute("d", path);
    line.setAttribute("class", className);
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
  }
  return top;
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
