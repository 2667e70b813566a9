// Webhooks: the project's endpoints, create (the signing secret shown once) and delete; per
// endpoint its deliveries with every attempt (time, response code, error, duration, next
// retry), a test event, and replay of a delivery that used up its retries.

import { h, fill, field, setFieldError, errorBox, heading, loading, empty, confirmDialog, when, badge, table, secretBox } from '../ui.js';

const EVENT_TYPES = ['resource.created', 'resource.updated', 'resource.deleted'];
let justMinted = null;

export async function render(ctx, main) {
  const [id] = ctx.rest;
  if (id) return detail(ctx, main, id);
  return list(ctx, main);
}

async function list(ctx, main) {
  fill(main, heading('Webhooks'), loading('Loading webhooks'));
  const minted = justMinted;
  justMinted = null;
  let hooks;
  try {
    hooks = await ctx.api.get('/v1/webhooks');
  } catch (err) {
    fill(main, heading('Webhooks'), errorBox(err));
    return;
  }
  const url = field('Endpoint URL', h('input', { type: 'url', name: 'url', required: true }), 'Where deliveries are POSTed: an HTTPS address your receiver listens on');
  const types = h('fieldset', { class: 'field' }, h('legend', {}, 'Event types (none checked: all)'),
    EVENT_TYPES.map((t) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'event_type', value: t }), ` ${t}`)));
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'new-hook' },
    h('h2', { id: 'new-hook' }, 'New endpoint'), url.wrap, types,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create endpoint')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setFieldError(url, '');
    const body = { url: url.input.value.trim() };
    const checked = [...form.querySelectorAll('input[name=event_type]:checked')].map((i) => i.value);
    if (checked.length) body.event_types = checked;
    try {
      const made = (await ctx.api.call('POST', '/v1/webhooks', { body })).body;
      justMinted = { url: made.webhook.url, secret: made.secret };
      ctx.rerender();
    } catch (err) {
      if (err.details.url) setFieldError(url, String(err.details.url));
      fill(status, errorBox(err));
    }
  });
  fill(main, heading('Webhooks'),
    minted ? h('div', { class: 'card' }, h('h2', {}, `Endpoint ${minted.url} created`),
      secretBox('Signing secret', minted.secret, 'Copy the signing secret now: it is shown this once. Receivers verify each delivery with it.')) : null,
    hooks.items.length ? table('Webhook endpoints', ['URL', 'Events', 'Status', 'Created'], hooks.items.map((w) => [
      h('a', { href: `#/webhooks/${encodeURIComponent(w.id)}` }, w.url), w.event_types.join(', ') || 'all',
      badge(w.status, w.status === 'active' ? 'ok' : 'alert'), when(w.created_at),
    ])) : empty('No webhook endpoints yet.'),
    form);
}

async function detail(ctx, main, id) {
  fill(main, heading('Webhook'), loading());
  const base = `/v1/webhooks/${encodeURIComponent(id)}`;
  let hook; let deliveries;
  try {
    [hook, deliveries] = await Promise.all([ctx.api.get(base), ctx.api.get(`${base}/deliveries`)]);
  } catch (err) {
    fill(main, heading('Webhook'), errorBox(err), h('a', { href: '#/webhooks' }, 'Back to webhooks'));
    return;
  }
  const status = h('div', { 'aria-live': 'polite' });
  const sendTest = async () => {
    try {
      const queued = (await ctx.api.call('POST', `${base}/test`)).body;
      fill(status, h('p', { role: 'status', class: 'ok-box' }, `Test event ${queued.event_id} queued.`));
      ctx.later(1500, ctx.rerender);
    } catch (err) {
      fill(status, errorBox(err));
    }
  };
  const remove = async () => {
    if (!await confirmDialog('Delete this endpoint?', `${hook.url} and its deliveries will be removed.`, 'Delete')) return;
    try {
      await ctx.api.call('DELETE', base);
      ctx.go('webhooks');
    } catch (err) {
      fill(status, errorBox(err));
    }
  };
  const replay = (d) => async () => {
    try {
      await ctx.api.call('POST', `${base}/deliveries/${encodeURIComponent(d.id)}/replay`);
      fill(status, h('p', { role: 'status', class: 'ok-box' }, `Delivery ${d.id} queued again.`));
      ctx.later(1500, ctx.rerender);
    } catch (err) {
      fill(status, errorBox(err));
    }
  };
  const kind = (s) => (s === 'succeeded' ? 'ok' : s === 'failed' ? 'alert' : 'warning');
  const deliveryCard = (d) => h('article', { class: 'card delivery', 'data-delivery': d.id, 'aria-label': `Delivery ${d.id}` },
    h('h3', {}, `${d.event_type} `, badge(d.status, kind(d.status))),
    h('p', { class: 'hint' }, `${d.id} · event ${d.event_id} · created ${when(d.created_at)} · ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`,
      d.next_attempt_at ? ` · next retry ${when(d.next_attempt_at)}` : ''),
    d.attempt_history.length ? table(`Attempts of ${d.id}`, ['#', 'Time', 'Response', 'Error', 'Duration'], d.attempt_history.map((a, i) => [
      String(i + 1), when(a.at), a.status_code ? String(a.status_code) : '—', a.error || '—', `${a.duration_ms} ms`,
    ])) : empty('No attempt yet.'),
    d.status === 'failed' ? h('button', { type: 'button', onclick: replay(d) }, 'Replay') : null);
  fill(main,
    heading('Webhook endpoint'),
    h('p', {}, h('a', { href: '#/webhooks' }, '← All webhooks')),
    h('dl', { class: 'facts card' },
      h('dt', {}, 'URL'), h('dd', { class: 'mono' }, hook.url),
      h('dt', {}, 'Id'), h('dd', { class: 'mono' }, hook.id),
      h('dt', {}, 'Events'), h('dd', {}, hook.event_types.join(', ') || 'all'),
      h('dt', {}, 'Status'), h('dd', {}, badge(hook.status, hook.status === 'active' ? 'ok' : 'alert'))),
    h('div', { class: 'toolbar' },
      h('button', { type: 'button', onclick: sendTest }, 'Send test event'),
      h('button', { type: 'button', onclick: () => ctx.rerender() }, 'Refresh'),
      h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete endpoint')),
    status,
    h('h2', {}, 'Deliveries'),
    deliveries.items.length ? h('div', {}, deliveries.items.map(deliveryCard)) : empty('No deliveries yet. Send a test event.'));
}
