// Resources: browse with the list's filters, sort and search; one resource as pretty JSON;
// create and edit with a JSON editor that puts the server's validation errors (JSON pointers
// in `details.errors`) next to the field they are about; delete with confirmation. Edits are
// merge patches sent with `If-Match`, so a stale edit shows the conflict instead of
// overwriting someone else's change.

import { h, fill, field, setFieldError, errorBox, heading, loading, empty, confirmDialog, when, badge, table } from '../ui.js';

/** The list's filters, kept while the tab lives. */
const filters = { q: '', type: '', status: '', sort: '-created_at', attribute: '', page: 1 };
const SORTS = [
  ['-created_at', 'Newest first'], ['created_at', 'Oldest first'], ['-updated_at', 'Recently changed'],
  ['name', 'Name A–Z'], ['-name', 'Name Z–A'], ['type', 'Type'],
];

export async function render(ctx, main) {
  const [id, action] = ctx.rest;
  if (id === 'new') return editor(ctx, main, null);
  if (id && action === 'edit') return editor(ctx, main, id);
  if (id) return view(ctx, main, id);
  return list(ctx, main);
}

function listQuery() {
  const p = new URLSearchParams({ per_page: '20', page: String(filters.page) });
  if (filters.q) p.set('q', filters.q);
  if (filters.type) p.set('type', filters.type);
  if (filters.status) p.set('status', filters.status);
  if (filters.sort && !(filters.q && filters.sort === '-created_at')) p.set('sort', filters.sort);
  const attr = filters.attribute.match(/^\s*([^=\s]+)\s*=\s*(.*)$/);
  if (attr) p.set(`attributes[${attr[1]}]`, attr[2].trim());
  return p.toString();
}

async function list(ctx, main) {
  const results = h('div', { 'aria-live': 'polite' }, loading('Loading resources'));
  const input = (name, label, hint) => field(label, h('input', { type: name === 'q' ? 'search' : 'text', name, value: filters[name] }), hint);
  const q = input('q', 'Search', 'Words in names, attributes and data');
  const type = input('type', 'Type');
  const attribute = input('attribute', 'Attribute', 'key=value');
  const status = field('Status', h('select', { name: 'status' },
    ['', 'active', 'archived'].map((s) => h('option', { value: s, selected: filters.status === s }, s || 'Any'))));
  const sort = field('Sort', h('select', { name: 'sort' },
    SORTS.map(([v, l]) => h('option', { value: v, selected: filters.sort === v }, l))));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter resources' },
    q.wrap, type.wrap, status.wrap, attribute.wrap, sort.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(filters, {
      q: q.input.value.trim(), type: type.input.value.trim(), status: status.input.value,
      sort: sort.input.value, attribute: attribute.input.value, page: 1,
    });
    load();
  });
  fill(main, heading('Resources'),
    h('div', { class: 'toolbar' }, h('a', { href: '#/resources/new', class: 'button primary' }, 'New resource')),
    form, results);

  async function load() {
    fill(results, loading('Loading resources'));
    try {
      const page = await ctx.api.get(`/v1/resource?${listQuery()}`);
      if (!page.items.length) {
        fill(results, empty(filters.page > 1 ? 'No more resources.' : 'No resources match. Create one, or change the filters.'));
      } else {
        fill(results, table(`Resources, page ${filters.page}`, ['Name', 'Type', 'Status', 'Version', 'Updated'],
          page.items.map((r) => [
            h('a', { href: `#/resources/${encodeURIComponent(r.id)}` }, r.name),
            r.type, badge(r.status, r.status === 'active' ? 'ok' : ''), String(r.version), when(r.updated_at),
          ])));
      }
      const pager = h('div', { class: 'actions pager' });
      if (filters.page > 1) pager.append(h('button', { type: 'button', onclick: () => { filters.page -= 1; load(); } }, 'Previous page'));
      if (page.has_next) pager.append(h('button', { type: 'button', onclick: () => { filters.page += 1; load(); } }, 'Next page'));
      results.append(pager);
    } catch (err) {
      fill(results, errorBox(err));
    }
  }
  await load();
}

async function view(ctx, main, id) {
  fill(main, heading('Resource'), loading());
  let resource;
  try {
    resource = await ctx.api.get(`/v1/resource/${encodeURIComponent(id)}`);
  } catch (err) {
    fill(main, heading('Resource'), errorBox(err), h('a', { href: '#/resources' }, 'Back to resources'));
    return;
  }
  const status = h('div', { 'aria-live': 'polite' });
  const remove = async () => {
    const ok = await confirmDialog('Delete this resource?', `“${resource.name}” (${resource.id}) will be deleted. This cannot be undone.`, 'Delete');
    if (!ok) return;
    try {
      await ctx.api.call('DELETE', `/v1/resource/${encodeURIComponent(id)}`, { headers: { 'If-Match': `"${resource.version}"` } });
      ctx.go('resources');
    } catch (err) {
      fill(status, errorBox(err));
    }
  };
  fill(main,
    heading(resource.name),
    h('p', {}, h('a', { href: '#/resources' }, '← All resources')),
    h('div', { class: 'toolbar' },
      h('a', { href: `#/resources/${encodeURIComponent(id)}/edit`, class: 'button primary' }, 'Edit'),
      h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete')),
    status,
    h('pre', { class: 'json', tabindex: '0', 'aria-label': 'The resource as JSON' }, JSON.stringify(resource, null, 2)));
}

/** An RFC 7396 merge patch that turns `from` into `to` (arrays and scalars are replaced). */
export function mergePatch(from, to) {
  const isObj = (v) => v && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(from) || !isObj(to)) return to;
  const patch = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (JSON.stringify(from[k]) === JSON.stringify(v)) continue;
    patch[k] = isObj(from[k]) && isObj(v) ? mergePatch(from[k], v) : v;
  }
  return patch;
}

async function editor(ctx, main, id) {
  const title = id ? 'Edit resource' : 'New resource';
  fill(main, heading(title), loading());
  let original = null;
  if (id) {
    try {
      original = await ctx.api.get(`/v1/resource/${encodeURIComponent(id)}`);
    } catch (err) {
      fill(main, heading(title), errorBox(err));
      return;
    }
  }
  const start = original || { name: '', type: '', status: 'active', attributes: {}, data: {} };
  const f = {
    name: field('Name', h('input', { type: 'text', name: 'name', value: start.name, required: true })),
    type: field('Type', h('input', { type: 'text', name: 'type', value: start.type, required: true }), 'A lower-case identifier, e.g. machine'),
    status: field('Status', h('select', { name: 'status' },
      ['active', 'archived'].map((s) => h('option', { value: s, selected: start.status === s }, s)))),
    attributes: field('Attributes (JSON object of strings)', h('textarea', { name: 'attributes', rows: '4', class: 'code', spellcheck: 'false' },
      JSON.stringify(start.attributes || {}, null, 2))),
    data: field('Data (JSON)', h('textarea', { name: 'data', rows: '12', class: 'code', spellcheck: 'false' },
      JSON.stringify(start.data ?? {}, null, 2))),
  };
  const status = h('div', { 'aria-live': 'polite', class: 'form-status' });
  const version = original ? h('p', { class: 'hint' }, `Editing version ${original.version}; saving checks nobody changed it since.`) : null;
  const form = h('form', { class: 'card editor', novalidate: true },
    Object.values(f).map((x) => x.wrap), version,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, id ? 'Save changes' : 'Create'),
      h('a', { href: id ? `#/resources/${encodeURIComponent(id)}` : '#/resources', class: 'button' }, 'Cancel')),
    status);
  fill(main, heading(title), form);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    Object.values(f).forEach((x) => setFieldError(x, ''));
    fill(status);
    const body = { name: f.name.input.value, type: f.type.input.value.trim(), status: f.status.input.value };
    for (const key of ['attributes', 'data']) {
      try {
        body[key] = JSON.parse(f[key].input.value || (key === 'data' ? 'null' : '{}'));
      } catch (err) {
        setFieldError(f[key], `Not valid JSON: ${err.message}`);
        f[key].input.focus();
        return;
      }
    }
    try {
      let saved;
      if (original) {
        const before = { name: original.name, type: original.type, status: original.status, attributes: original.attributes, data: original.data };
        const patch = mergePatch(before, body);
        saved = (await ctx.api.call('PATCH', `/v1/resource/${encodeURIComponent(id)}`, {
          body: patch, contentType: 'application/merge-patch+json', headers: { 'If-Match': `"${original.version}"` },
        })).body;
      } else {
        saved = (await ctx.api.call('POST', '/v1/resource', { body })).body;
      }
      ctx.go(`resources/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      showError(err);
    }
  });

  function showError(err) {
    if (err.status === 412) {
      const now = err.details.current_version;
      fill(status, h('div', { class: 'error-box conflict', role: 'alert' },
        h('strong', {}, 'Conflict: someone changed this resource since you opened it.'),
        h('p', {}, `You edited version ${original.version}; it is now version ${now ?? 'newer'}. Nothing was saved: your edits are still in the form.`),
        h('p', { class: 'error-facts' }, `code ${err.code} · HTTP 412 · request id ${err.requestId}`),
        h('button', { type: 'button', onclick: () => ctx.rerender() }, 'Discard my edits and load the latest version')));
      return;
    }
    const unplaced = [];
    const place = (pointer, message) => {
      const top = String(pointer).replace(/^\//, '').split('/')[0];
      const target = f[top];
      if (!target) return unplaced.push(`${pointer}: ${message}`);
      const text = pointer.startsWith('/') && pointer !== `/${top}` ? `${pointer}: ${message}` : message;
      setFieldError(target, target.error.textContent ? `${target.error.textContent} ${text}` : text);
    };
    for (const e of err.details.errors || []) place(e.pointer || '', e.message);
    for (const [k, v] of Object.entries(err.details)) if (k !== 'errors' && typeof v === 'string') place(`/${k}`, v);
    const first = Object.values(f).find((x) => x.error.textContent);
    fill(status, errorBox(err), unplaced.length ? h('ul', {}, unplaced.map((u) => h('li', {}, u))) : null);
    if (first) first.input.focus();
  }
}
