// Credits used per day as an SVG bar chart, drawn by hand (no library): 30 bars, a baseline,
// the highest value as the scale's top and a day label every week.

import { day, num } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";

function el(name, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** The last `days` UTC dates, oldest first, as YYYY-MM-DD. */
export function lastDays(days, now = new Date()) {
  const out = [];
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let i = days - 1; i >= 0; i -= 1) out.push(new Date(today - i * 86400000).toISOString().slice(0, 10));
  return out;
}

/** Replace `container`'s content with the chart of `byDay` ([{date, credits}]) over `dates`. */
export function drawChart(container, dates, byDay) {
  const credits = new Map(byDay.map((row) => [row.date, row.credits]));
  const values = dates.map((date) => credits.get(date) || 0);
  const total = values.reduce((a, b) => a + b, 0);
  const top = Math.max(1, ...values);
  const width = 600;
  const height = 200;
  const left = 40;
  const bottom = 24;
  const plotH = height - bottom - 10;
  const step = (width - left - 5) / dates.length;
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": "chart-title",
    "data-total": total,
  });
  svg.append(el("title", { id: "chart-title" }, `${num(total)} credits used in the last ${dates.length} days; most in one day: ${num(Math.max(...values))}`));
  svg.append(el("line", { x1: left, x2: width - 5, y1: 10 + plotH, y2: 10 + plotH, stroke: "#9aa3b5" }));
  svg.append(el("text", { x: left - 6, y: 14, "text-anchor": "end" }, num(top)));
  svg.append(el("text", { x: left - 6, y: 10 + plotH, "text-anchor": "end" }, "0"));
  dates.forEach((date, i) => {
    const value = values[i];
    const h = (value / top) * plotH;
    const x = left + i * step + 1;
    const rect = el("rect", {
      class: "bar-rect",
      x: x.toFixed(1),
      y: (10 + plotH - h).toFixed(1),
      width: Math.max(1, step - 2).toFixed(1),
      height: h.toFixed(1),
      "data-date": date,
      "data-credits": value,
    });
    rect.append(el("title", {}, `${day(date)}: ${num(value)} credits`));
    svg.append(rect);
    if (i % 7 === 0 || (i === dates.length - 1 && i % 7 > 3)) {
      svg.append(el("text", { x: (x + step / 2).toFixed(1), y: height - 6, "text-anchor": "middle" }, day(date)));
    }
  });
  container.replaceChildren(svg);
}
