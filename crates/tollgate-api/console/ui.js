// Small DOM helpers shared by the screens: element building (never innerHTML with data, so
// nothing the API returns is ever parsed as markup), error boxes that show the envelope's
// message and request id, confirmation dialogs, loading and empty states, usage bars.

/** `h('p', {class: 'x', onclick}, 'text', child)`: an element; null children are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces `el`'s children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A unique id for label/field pairs. */
export function uid(prefix = 'f') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled field: `{label, input, hint, error}`; `error` is where a server message goes. */
export function field(label, input, hint) {
  const id = input.id || uid();
  input.id = id;
  const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const help = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [help && `${id}-hint`, `${id}-error`].filter(Boolean).join(' '));
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input, help, error);
  return { wrap, input, error };
}

/** Shows `message` as the field's error (or clears it). */
export function setFieldError(f, message) {
  f.error.textContent = message || '';
  if (message) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}

/** A failed call, as the envelope says: message, code and request id. */
export function errorBox(err) {
  const box = h('div', { class: 'error-box', role: 'alert' });
  box.append(h('strong', {}, err.message || String(err)));
  const facts = [];
  if (err.code) facts.push(`code ${err.code}`);
  if (err.status) facts.push(`HTTP ${err.status}`);
  if (err.requestId) facts.push(`request id ${err.requestId}`);
  if (facts.length) box.append(h('p', { class: 'error-facts' }, facts.join(' · ')));
  const details = Object.entries(err.details || {}).filter(([k]) => k !== 'errors');
  if (details.length) {
    box.append(h('ul', {}, details.map(([k, v]) => h('li', {}, `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`))));
  }
  return box;
}

/** A status line while something loads. */
export function loading(what = 'Loading') {
  return h('p', { class: 'loading', role: 'status' }, `${what}…`);
}

/** What an empty list says. */
export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog(title, text, confirmLabel = 'Confirm') {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'confirm-title' });
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    fill(
      dialog,
      h('h2', { id: 'confirm-title' }, title),
      h('p', {}, text),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'danger', onclick: () => done(true) }, confirmLabel),
        h('button', { type: 'button', onclick: () => done(false), autofocus: true }, 'Cancel'),
      ),
    );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A secret shown once: a read-only field, a copy button and the warning. */
export function secretBox(title, secret, note) {
  const input = h('input', { type: 'text', readonly: true, value: secret, class: 'secret', 'data-secret': true });
  const copied = h('span', { class: 'hint', role: 'status' });
  const f = field(title, input);
  const copy = h('button', {
    type: 'button',
    onclick: async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(secret);
        copied.textContent = 'Copied.';
      } catch {
        copied.textContent = 'Selected: press Ctrl+C to copy.';
      }
    },
  }, 'Copy');
  return h(
    'div',
    { class: 'secret-box', role: 'region', 'aria-label': 'New secret' },
    h('p', { class: 'warning' }, note || 'This secret is shown once and never again: store it now.'),
    f.wrap,
    h('div', { class: 'actions' }, copy, copied),
  );
}

/** A bar of `used` out of `limit` (a meter, with the numbers as text). */
export function usageBar(label, usage) {
  if (!usage || usage.unlimited) return h('div', { class: 'usage' }, h('span', {}, `${label}: unlimited`));
  const ratio = Math.min(1, usage.ratio || 0);
  const bar = h('span', { class: 'bar-fill' + (ratio > 0.9 ? ' alert' : ratio > 0.8 ? ' warning' : '') });
  bar.style.width = `${(ratio * 100).toFixed(1)}%`;
  const text = `${label}: ${usage.used} of ${usage.limit} per ${duration(usage.window_seconds)}`;
  return h(
    'div',
    { class: 'usage' },
    h('span', {}, text),
    h('span', { class: 'bar', role: 'meter', 'aria-label': text, 'aria-valuemin': 0, 'aria-valuemax': usage.limit, 'aria-valuenow': usage.used }, bar),
  );
}

/** `3600` as `1h`. */
export function duration(seconds) {
  if (!seconds) return '';
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** An RFC 3339 time, readable (or a dash). */
export function when(text) {
  if (!text) return '—';
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toLocaleString();
}

/** A small coloured label. */
export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

/** A table with a caption, column headers and rows of cells. */
export function table(caption, headers, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))),
    ),
  );
}

/** A screen's heading, focused after navigation so that keyboard and screen-reader users land on it. */
export function heading(text) {
  return h('h1', { tabindex: '-1', class: 'screen-title' }, text);
}

/** Runs `task`, showing `status` in `where` while it runs and the error box if it fails. */
export async function attempt(where, task) {
  try {
    return await task();
  } catch (err) {
    fill(where, errorBox(err));
    return undefined;
  }
}
