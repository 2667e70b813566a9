// Keys and OAuth clients: each credential with its scopes, last use, expiry and the "rotation
// due" mark, and its use against its limits as bars; create (the secret shown once), rotate
// with a grace period, revoke with confirmation, edit limits, and the requests per hour over
// the last 7 days (GET /v1/usage/credentials/{id}/hourly).

import { h, fill, field, setFieldError, errorBox, heading, loading, empty, confirmDialog, when, badge, table, secretBox, usageBar } from '../ui.js';
import { chart } from '../chart.js';

const KINDS = {
  keys: { path: '/v1/keys', label: 'API keys', one: 'API key' },
  clients: { path: '/v1/clients', label: 'OAuth clients', one: 'OAuth client' },
};
const SCOPES = ['resource:read', 'resource:write', 'admin'];

/** A secret just minted, shown until the screen is left (never kept anywhere else). */
let justMinted = null;

export async function render(ctx, main) {
  const [id] = ctx.rest;
  if (id === 'new') return create(ctx, main);
  if (id) return detail(ctx, main, id);
  return list(ctx, main);
}

const kindOf = (id) => (id.startsWith('tgc_') ? 'clients' : 'keys');

async function list(ctx, main) {
  fill(main, heading('Keys & clients'), loading('Loading credentials'));
  const minted = justMinted;
  justMinted = null;
  let keys; let clients; let usage;
  try {
    [keys, clients, usage] = await Promise.all([
      ctx.api.get('/v1/keys'), ctx.api.get('/v1/clients'), ctx.api.get('/v1/usage/credentials'),
    ]);
  } catch (err) {
    fill(main, heading('Keys & clients'), errorBox(err));
    return;
  }
  const byId = Object.fromEntries(usage.items.map((u) => [u.credential, u]));
  const section = (kind, items) => h('section', { 'aria-labelledby': `${kind}-title` },
    h('h2', { id: `${kind}-title` }, KINDS[kind].label),
    items.length ? table(KINDS[kind].label, ['Name', 'Scopes', 'Status', 'Last used', 'Expires', 'Use of limits'],
      items.map((c) => [
        h('a', { href: `#/keys/${encodeURIComponent(c.id)}` }, c.name), h('span', { class: 'mono' }, c.scopes.join(' ')),
        h('span', {}, badge(c.status, c.status === 'active' ? 'ok' : 'alert'), c.rotation_due ? badge('rotation due', 'warning') : null),
        when(c.last_used_at), when(c.expires_at),
        byId[c.id] ? h('div', {}, usageBar('read', byId[c.id].read), usageBar('write', byId[c.id].write)) : '—',
      ])) : empty(`No ${KINDS[kind].label} yet.`));
  fill(main, heading('Keys & clients'),
    minted ? mintedBox(minted) : null,
    h('div', { class: 'toolbar' }, h('a', { href: '#/keys/new', class: 'button primary' }, 'New key or client')),
    section('keys', keys.items), section('clients', clients.items));
}

function mintedBox(m) {
  return h('div', { class: 'card' },
    h('h2', {}, m.title),
    m.clientId ? h('p', {}, 'Client id: ', h('code', {}, m.clientId)) : null,
    secretBox('Secret', m.secret, 'Copy this secret now: it is shown this once and never again, not even here after you leave or reload.'));
}

async function create(ctx, main) {
  const kind = field('Kind', h('select', { name: 'kind' },
    h('option', { value: 'keys' }, 'API key'), h('option', { value: 'clients' }, 'OAuth client')));
  const name = field('Name', h('input', { type: 'text', name: 'name', required: true }));
  const scopes = h('fieldset', { class: 'field' }, h('legend', {}, 'Scopes'),
    SCOPES.map((s) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'scope', value: s, checked: s === 'resource:read' }), ` ${s}`)));
  const scopesError = h('p', { class: 'field-error', role: 'alert' });
  scopes.append(scopesError);
  const expires = field('Expires in', h('input', { type: 'text', name: 'expires_in', placeholder: 'e.g. 90d' }), 'Empty: until revoked');
  const read = field('Read limit', h('input', { type: 'text', name: 'read', placeholder: 'e.g. 5000/1h' }), 'Empty: the server default; or “unlimited”');
  const write = field('Write limit', h('input', { type: 'text', name: 'write', placeholder: 'e.g. 500/1h' }), 'Empty: the server default; or “unlimited”');
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true }, kind.wrap, name.wrap, scopes, expires.wrap, read.wrap, write.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create'), h('a', { href: '#/keys', class: 'button' }, 'Cancel')),
    status);
  fill(main, heading('New key or client'), form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    [name, expires, read, write].forEach((x) => setFieldError(x, ''));
    scopesError.textContent = '';
    fill(status);
    const body = { name: name.input.value, scopes: [...form.querySelectorAll('input[name=scope]:checked')].map((i) => i.value) };
    if (expires.input.value.trim()) body.expires_in = expires.input.value.trim();
    const limits = {};
    if (read.input.value.trim()) limits.read = read.input.value.trim();
    if (write.input.value.trim()) limits.write = write.input.value.trim();
    if (Object.keys(limits).length) body.limits = limits;
    try {
      const k = KINDS[kind.input.value];
      const made = (await ctx.api.call('POST', k.path, { body })).body;
      justMinted = made.client_secret
        ? { title: `OAuth client “${body.name}” created`, clientId: made.client_id, secret: made.client_secret }
        : { title: `API key “${body.name}” created`, secret: made.secret };
      ctx.go('keys');
    } catch (err) {
      const fields = { name, expires_in: expires, 'limits.read': read, 'limits.write': write, read, write };
      for (const [k, v] of Object.entries(err.details || {})) {
        if (k === 'scopes') scopesError.textContent = String(v);
        else if (fields[k]) setFieldError(fields[k], String(v));
        else if (k === 'limits') setFieldError(read, String(v));
      }
      fill(status, errorBox(err));
    }
  });
}

async function detail(ctx, main, id) {
  const kind = kindOf(id);
  const base = `${KINDS[kind].path}/${encodeURIComponent(id)}`;
  fill(main, heading(KINDS[kind].one), loading());
  const minted = justMinted;
  justMinted = null;
  let cred; let usage; let hourly;
  try {
    [cred, usage, hourly] = await Promise.all([
      ctx.api.get(base), ctx.api.get('/v1/usage/credentials'), ctx.api.get(`/v1/usage/credentials/${encodeURIComponent(id)}/hourly?days=7`),
    ]);
  } catch (err) {
    fill(main, heading(KINDS[kind].one), errorBox(err), h('a', { href: '#/keys' }, 'Back to keys'));
    return;
  }
  const use = usage.items.find((u) => u.credential === id);
  const status = h('div', { 'aria-live': 'polite' });
  const active = cred.status === 'active';
  const grace = field('Grace period for the old secret', h('input', { type: 'text', name: 'grace', value: '24h' }), 'e.g. 1h, 24h, 0s');
  const rotate = h('form', { class: 'inline-form' }, grace.wrap, h('button', { type: 'submit', disabled: !active }, 'Rotate secret'));
  rotate.addEventListener('submit', async (e) => {
    e.preventDefault();
    setFieldError(grace, '');
    try {
      const made = (await ctx.api.call('POST', `${base}/rotate`, { body: { grace: grace.input.value.trim() || '24h' } })).body;
      justMinted = { title: 'Secret rotated', secret: made.secret || made.client_secret, clientId: made.client_id };
      ctx.rerender();
    } catch (err) {
      if (err.details.grace) setFieldError(grace, String(err.details.grace));
      fill(status, errorBox(err));
    }
  });
  const limitField = (cls) => field(`${cls === 'read' ? 'Read' : 'Write'} limit`, h('input', { type: 'text', name: cls, value: cred.limits[cls] || '' }), 'Empty: the server default; or “unlimited”');
  const read = limitField('read');
  const write = limitField('write');
  const limits = h('form', { class: 'inline-form' }, read.wrap, write.wrap, h('button', { type: 'submit', disabled: !active }, 'Save limits'));
  limits.addEventListener('submit', async (e) => {
    e.preventDefault();
    [read, write].forEach((x) => setFieldError(x, ''));
    const body = { limits: { read: read.input.value.trim() || null, write: write.input.value.trim() || null } };
    try {
      await ctx.api.call('PATCH', base, { body });
      ctx.rerender();
    } catch (err) {
      for (const [k, v] of Object.entries(err.details)) {
        if (k.includes('read')) setFieldError(read, String(v));
        if (k.includes('write')) setFieldError(write, String(v));
      }
      fill(status, errorBox(err));
    }
  });
  const revoke = async () => {
    const ok = await confirmDialog(`Revoke “${cred.name}”?`, 'Its next request is refused. Revoking cannot be undone.', 'Revoke');
    if (!ok) return;
    try {
      await ctx.api.call('DELETE', base);
      ctx.rerender();
    } catch (err) {
      fill(status, errorBox(err));
    }
  };
  const points = hourly.hours.map((x) => ({ t: new Date(x.start), v: x.requests }));
  fill(main,
    heading(cred.name),
    h('p', {}, h('a', { href: '#/keys' }, '← All keys and clients')),
    minted ? mintedBox(minted) : null,
    status,
    h('section', { class: 'card', 'aria-labelledby': 'facts-title' },
      h('h2', { id: 'facts-title' }, 'Details'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Id'), h('dd', { class: 'mono' }, cred.id),
        h('dt', {}, 'Status'), h('dd', {}, badge(cred.status, active ? 'ok' : 'alert'), cred.rotation_due ? badge('rotation due', 'warning') : null),
        h('dt', {}, 'Scopes'), h('dd', { class: 'mono' }, cred.scopes.join(' ')),
        h('dt', {}, 'Secret'), h('dd', { class: 'mono' }, cred.hint),
        h('dt', {}, 'Created'), h('dd', {}, when(cred.created_at)),
        h('dt', {}, 'Secret issued'), h('dd', {}, when(cred.rotated_at)),
        h('dt', {}, 'Last used'), h('dd', {}, when(cred.last_used_at)),
        h('dt', {}, 'Expires'), h('dd', {}, when(cred.expires_at)),
        cred.revoked_at ? [h('dt', {}, 'Revoked'), h('dd', {}, when(cred.revoked_at))] : null)),
    h('section', { class: 'card', 'aria-labelledby': 'use-title' },
      h('h2', { id: 'use-title' }, 'Use'),
      use ? h('div', {}, usageBar('Reads', use.read), usageBar('Writes', use.write)) : empty('No current use (revoked or expired).'),
      chart({ title: 'Requests per hour, last 7 days', points, timeFormat: 'date' })),
    active ? h('section', { class: 'card', 'aria-labelledby': 'manage-title' },
      h('h2', { id: 'manage-title' }, 'Manage'), rotate, limits,
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: revoke }, 'Revoke'))) : null);
}
