// Overview: the node's request rate, error rate, p95 latency and quota alerts over the last
// hour or day (GET /v1/metrics/history, kept in memory per node) and the health of the
// database, Redis and NATS.

import { h, fill, heading, loading, errorBox, badge } from '../ui.js';
import { chart } from '../chart.js';

const RANGES = { hour: { minutes: 60, step: 1, label: 'Last hour' }, day: { minutes: 1440, step: 15, label: 'Last 24 hours' } };

export async function render(ctx, main) {
  let range = ctx.rest[0] === 'day' ? 'day' : 'hour';
  const body = h('div', {}, loading('Loading metrics'));
  const toggle = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' },
    Object.entries(RANGES).map(([key, r]) => h('button', {
      type: 'button',
      'aria-pressed': String(key === range),
      onclick: () => ctx.go(`overview/${key}`),
    }, r.label)));
  const refresh = h('button', { type: 'button', onclick: () => load() }, 'Refresh');
  fill(main,
    heading('Overview'),
    h('p', { class: 'note' }, 'These charts come from this node\u2019s memory: per-minute buckets for the last 24 hours, since the node started. Each node keeps its own; a restart empties them.'),
    h('div', { class: 'toolbar' }, toggle, refresh),
    body);

  async function load() {
    const r = RANGES[range];
    try {
      const history = await ctx.api.get(`/v1/metrics/history?minutes=${r.minutes}&step=${r.step}`);
      fill(body, health(history.health), charts(history, r));
    } catch (err) {
      fill(body, errorBox(err));
    }
  }
  await load();
  const timer = setInterval(load, 30_000);
  ctx.onLeave(() => clearInterval(timer));
}

function health(checks) {
  const kind = (v) => (v === 'ok' ? 'ok' : v === 'not_configured' ? '' : 'alert');
  const text = (v) => v.replace('_', ' ');
  return h('section', { 'aria-labelledby': 'health-title', class: 'card' },
    h('h2', { id: 'health-title' }, 'Health'),
    h('dl', { class: 'facts' },
      ['database', 'redis', 'nats'].flatMap((name) => [
        h('dt', {}, { database: 'Database', redis: 'Redis (rate limits)', nats: 'NATS (events)' }[name]),
        h('dd', { 'data-health': name }, badge(text(checks[name]), kind(checks[name]))),
      ])));
}

function charts(history, r) {
  const points = (f) => history.steps.map((s) => ({ t: new Date(s.start), v: f(s) }));
  const per = r.step === 1 ? 'per minute' : `per ${r.step} minutes`;
  const total = history.steps.reduce((a, s) => a + s.requests, 0);
  return h('section', { 'aria-labelledby': 'charts-title' },
    h('h2', { id: 'charts-title' }, `${r.label}: ${total} requests`),
    h('div', { class: 'charts' },
      chart({ title: `Requests ${per}`, points: points((s) => s.requests) }),
      chart({ title: 'Error rate (5xx)', points: points((s) => (s.requests ? s.error_rate * 100 : null)), unit: '%', kind: 'line' }),
      chart({ title: 'p95 latency', points: points((s) => s.p95_ms), unit: ' ms', kind: 'line' }),
      chart({ title: 'Quota alerts (credentials above 90%) and 429s', points: points((s) => s.quota_alerts + s.rate_limited) })));
}
