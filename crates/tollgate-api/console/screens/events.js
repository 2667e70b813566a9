// Live events: the project's recent events, then new ones as they happen, read from
// GET /v1/events/stream with fetch and a stream reader (EventSource cannot send the
// Authorization header). Leaving the screen closes the stream.

import { h, fill, heading, errorBox, empty, when } from '../ui.js';

const KEEP = 200;

export async function render(ctx, main) {
  const list = h('ol', { class: 'events', 'aria-live': 'polite', 'aria-relevant': 'additions' });
  const state = h('p', { role: 'status', class: 'hint' });
  const status = h('div');
  let controller = null;
  const row = (e) => h('li', { 'data-event': e.id },
    h('strong', {}, e.type), ' ', h('span', { class: 'hint' }, `${when(e.timestamp)} · ${e.id}`),
    h('pre', { class: 'json small', tabindex: '0', 'aria-label': `Data of ${e.id}` }, JSON.stringify(e.data, null, 2)));
  const add = (e) => {
    list.prepend(row(e));
    while (list.children.length > KEEP) list.lastChild.remove();
    empties.hidden = true;
  };
  const empties = empty('No events yet: create, change or delete a resource to see one.');
  const start = async () => {
    stop();
    controller = new AbortController();
    const mine = controller;
    toggle.textContent = 'Pause';
    state.textContent = 'Live: new events appear at the top.';
    const last = list.firstChild?.dataset.event;
    const path = last ? `/v1/events/stream?last_event_id=${encodeURIComponent(last)}` : '/v1/events/stream';
    try {
      await ctx.api.stream(path, (ev) => add(JSON.parse(ev.data)), mine.signal);
      state.textContent = 'The stream ended.';
    } catch (err) {
      if (err.name === 'AbortError') return;
      fill(status, errorBox(err));
      state.textContent = 'Not live.';
    }
    if (controller === mine) controller = null;
    toggle.textContent = 'Resume';
  };
  const stop = () => {
    if (controller) controller.abort();
    controller = null;
  };
  const toggle = h('button', { type: 'button', onclick: () => {
    if (controller) {
      stop();
      toggle.textContent = 'Resume';
      state.textContent = 'Paused.';
    } else start();
  } }, 'Pause');
  fill(main, heading('Live events'), h('div', { class: 'toolbar' }, toggle), state, status, empties, list);
  ctx.onLeave(stop);
  try {
    const recent = await ctx.api.get('/v1/events?limit=20');
    recent.items.slice().reverse().forEach(add);
  } catch (err) {
    fill(status, errorBox(err));
  }
  start();
}
