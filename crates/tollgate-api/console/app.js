// The console's shell: sign-in, the signed-in credentials (one per project, switchable), the
// navigation and a hash router (`#/resources/res_...`) that renders one screen at a time.
// Every secret stays in memory (see api.js): reloading the page signs out.

import { ApiError, Session } from './api.js';
import { h, fill, field, errorBox, heading } from './ui.js';
import * as overview from './screens/overview.js';
import * as resources from './screens/resources.js';
import * as credentials from './screens/credentials.js';
import * as webhooks from './screens/webhooks.js';
import * as projects from './screens/projects.js';
import * as events from './screens/events.js';

const SCREENS = [
  { path: 'overview', label: 'Overview', screen: overview },
  { path: 'resources', label: 'Resources', screen: resources },
  { path: 'keys', label: 'Keys & clients', screen: credentials },
  { path: 'webhooks', label: 'Webhooks', screen: webhooks },
  { path: 'events', label: 'Live events', screen: events },
  { path: 'projects', label: 'Projects', screen: projects },
];

/** The signed-in credentials and which one is in use. */
const state = { sessions: [], current: -1, cleanup: [] };

const root = document.getElementById('app');

/** Signs in with a credential: it must answer the admin-only project read. */
export async function signIn(credential) {
  const session = new Session(credential);
  let project;
  try {
    project = (await session.call('GET', '/v1/project')).body;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      err.message = 'This credential has no admin scope. The console needs an API key or OAuth client with the admin scope.';
    } else if (err instanceof ApiError && err.status === 401) {
      err.message = `The credential was refused: ${err.message}`;
    }
    throw err;
  }
  const usage = await session.get('/v1/usage');
  session.project = project;
  session.who = usage.credential;
  const existing = state.sessions.findIndex((s) => s.project.id === project.id);
  if (existing >= 0) state.sessions.splice(existing, 1, session);
  else state.sessions.push(session);
  state.current = state.sessions.indexOf(session);
  return session;
}

/** Signs out of every credential and forgets their secrets. */
export function signOutAll() {
  state.sessions = [];
  state.current = -1;
  location.hash = '#/';
  render();
}

/** Signs out of one credential. */
export function signOut(session) {
  state.sessions = state.sessions.filter((s) => s !== session);
  state.current = state.sessions.length ? 0 : -1;
  render();
}

/** Switches to another signed-in project. */
export function switchTo(session) {
  state.current = state.sessions.indexOf(session);
  render();
}

export function sessions() {
  return state.sessions;
}

export function current() {
  return state.sessions[state.current];
}

/** The sign-in form; `onDone` runs after a successful sign-in. */
export function signInForm(onDone, title = 'Sign in') {
  const form = h('form', { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' });
  const status = h('div', { 'aria-live': 'polite' });
  const kind = h('select', {},
    h('option', { value: 'key' }, 'API key'),
    h('option', { value: 'client' }, 'OAuth client (id and secret)'));
  const key = field('Admin API key', h('input', { type: 'password', name: 'api-key', autocomplete: 'off', spellcheck: 'false' }), 'tgk_… with the admin scope');
  const clientId = field('Client id', h('input', { type: 'text', name: 'client-id', autocomplete: 'off', spellcheck: 'false' }), 'tgc_…');
  const clientSecret = field('Client secret', h('input', { type: 'password', name: 'client-secret', autocomplete: 'off' }), 'tgs_…');
  const clientFields = h('div', { hidden: true }, clientId.wrap, clientSecret.wrap);
  kind.addEventListener('change', () => {
    const client = kind.value === 'client';
    clientFields.hidden = !client;
    key.wrap.hidden = client;
  });
  fill(
    form,
    h('h1', { id: 'sign-in-title', tabindex: '-1', class: 'screen-title' }, title),
    h('p', {}, 'The credential stays in this tab\u2019s memory only: it is never stored, and reloading the page signs you out.'),
    field('Sign in with', kind).wrap,
    key.wrap,
    clientFields,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    fill(status, h('p', { role: 'status' }, 'Signing in…'));
    const credential = kind.value === 'client'
      ? { kind: 'client', clientId: clientId.input.value.trim(), secret: clientSecret.input.value.trim() }
      : { kind: 'key', secret: key.input.value.trim() };
    try {
      await signIn(credential);
      key.input.value = '';
      clientSecret.input.value = '';
      fill(status);
      onDone();
    } catch (err) {
      fill(status, errorBox(err));
    }
  });
  return form;
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return { path: parts[0] || 'overview', rest: parts.slice(1) };
}

/** Navigates to `#/path`. */
export function go(path) {
  if (location.hash === `#/${path}`) render();
  else location.hash = `#/${path}`;
}

function header(session) {
  const nav = h('nav', { 'aria-label': 'Screens' }, h('ul', {}, SCREENS.map((s) => h('li', {},
    h('a', { href: `#/${s.path}`, 'aria-current': parseHash().path === s.path ? 'page' : null }, s.label)))));
  const picker = h('select', { id: 'project-picker', 'aria-label': 'Project' },
    state.sessions.map((s, i) => h('option', { value: String(i), selected: i === state.current }, `project ${s.project.id}`)));
  picker.addEventListener('change', () => switchTo(state.sessions[Number(picker.value)]));
  return h('header', { class: 'top' },
    h('div', { class: 'brand' }, 'Tollgate console'),
    h('div', { class: 'who' }, picker, h('span', { class: 'hint' }, session.who),
      h('button', { type: 'button', id: 'sign-out', onclick: signOutAll }, 'Sign out')),
    nav);
}

/** Renders the current screen (or the sign-in form). */
export async function render() {
  state.cleanup.splice(0).forEach((f) => f());
  const session = current();
  if (!session) {
    fill(root, h('main', { id: 'main', class: 'signed-out' }, signInForm(() => render())));
    root.querySelector('h1')?.focus();
    return;
  }
  const { path, rest } = parseHash();
  const entry = SCREENS.find((s) => s.path === path) || SCREENS[0];
  const main = h('main', { id: 'main' });
  fill(root, h('a', { href: '#main', class: 'skip' }, 'Skip to content'), header(session), main);
  // A screen keeps working after an await or a timer, possibly after the user has left it: once
  // left, its navigation and re-renders do nothing (they would replace the screen the user is on,
  // and what they are typing there), and its clean-ups run at once.
  let left = false;
  state.cleanup.push(() => { left = true; });
  const onLeave = (f) => { if (left) f(); else state.cleanup.push(f); };
  const ctx = {
    api: session,
    rest,
    go: (to) => { if (!left) go(to); },
    onLeave,
    rerender: () => { if (!left) render(); },
    /** Runs `f` after `ms` unless the screen was left first. */
    later: (ms, f) => {
      const timer = setTimeout(f, ms);
      onLeave(() => clearTimeout(timer));
    },
  };
  try {
    await entry.screen.render(ctx, main);
  } catch (err) {
    fill(main, heading(entry.label), errorBox(err));
  }
  const title = main.querySelector('h1');
  if (title && document.activeElement === document.body) title.focus();
}

window.addEventListener('hashchange', () => render());
render();
