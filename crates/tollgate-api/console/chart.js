// A small SVG chart of our own (no library): bars or a line over time. The marks are drawn in
// an SVG that stretches to its box; the scale and the time range are HTML text around it, so
// they stay readable from 375 px to 1440 px. Each chart is an image with a text summary for
// assistive technology, and carries `data-points` (how many non-zero values) for the tests.

import { h } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';
const WIDTH = 600;
const HEIGHT = 150;

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function short(value) {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 3 : 1);
}

/**
 * `points`: `[{t: Date, v: number|null}]`, oldest first (`null`: nothing to show, e.g. no
 * latency without requests). `kind`: `bar` or `line`. `unit`: text after values.
 */
export function chart({ title, points, kind = 'bar', unit = '', timeFormat = 'time' }) {
  const known = points.map((p) => (p.v === null || p.v === undefined ? null : p.v));
  const max = Math.max(0, ...known.filter((v) => v !== null));
  const top = max > 0 ? max : 1;
  const step = WIDTH / Math.max(1, points.length);
  const y = (v) => HEIGHT - (v / top) * (HEIGHT - 4);
  const fmt = (d) => (timeFormat === 'date'
    ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
    : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }));
  const nonZero = known.filter((v) => v > 0).length;
  const total = known.reduce((a, b) => a + (b || 0), 0);
  const range = points.length ? `from ${fmt(points[0].t)} to ${fmt(points[points.length - 1].t)}` : 'no data';
  const summary = `${title}, ${range}: highest ${short(max)}${unit}${kind === 'bar' ? `, total ${short(total)}${unit}` : ''}`;
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', class: 'chart', role: 'img', 'aria-label': summary });
  root.append(svg('title', {}, summary));
  root.append(svg('line', { x1: 0, y1: 2, x2: WIDTH, y2: 2, class: 'grid' }));
  root.append(svg('line', { x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5, class: 'axis' }));
  if (kind === 'bar') {
    known.forEach((v, i) => {
      if (!(v > 0)) return;
      const bar = svg('rect', { x: i * step, y: y(v), width: Math.max(1, step * 0.8), height: HEIGHT - y(v), class: 'bar-mark' });
      bar.append(svg('title', {}, `${fmt(points[i].t)}: ${short(v)}${unit}`));
      root.append(bar);
    });
  } else {
    // A line through the known values; a gap where there is none, a dot for a lone value.
    let d = '';
    known.forEach((v, i) => {
      if (v === null) return;
      const x = (i + 0.5) * step;
      d += `${i > 0 && known[i - 1] !== null ? 'L' : 'M'}${x.toFixed(1)},${y(v).toFixed(1)}`;
      const alone = (i === 0 || known[i - 1] === null) && (i === known.length - 1 || known[i + 1] === null);
      if (alone) root.append(svg('rect', { x: x - 2, y: y(v) - 2, width: 4, height: 4, class: 'bar-mark' }));
    });
    if (d) root.append(svg('path', { d, class: 'line-mark', 'vector-effect': 'non-scaling-stroke' }));
  }
  const figure = h('figure', { class: 'chart-figure', 'data-points': String(nonZero) },
    h('figcaption', {}, title),
    h('div', { class: 'chart-body' },
      h('div', { class: 'chart-scale', 'aria-hidden': 'true' }, h('span', {}, `${short(top)}${unit}`), h('span', {}, '0')),
      root),
    h('div', { class: 'chart-times', 'aria-hidden': 'true' },
      h('span', {}, points.length ? fmt(points[0].t) : ''), h('span', {}, points.length ? fmt(points[points.length - 1].t) : '')));
  return figure;
}
