// Projects: the project of each signed-in credential (a credential sees exactly its own), the
// switch between them, signing in to another project, and the project's rule for
// unregistered resource types.

import { h, fill, heading, errorBox, table, badge } from '../ui.js';
import { sessions, current, switchTo, signOut, signInForm } from '../app.js';

export async function render(ctx, main) {
  const status = h('div', { 'aria-live': 'polite' });
  const project = ctx.api.project;
  const rule = h('input', { type: 'checkbox', id: 'require-types', checked: project.require_registered_types });
  rule.addEventListener('change', async () => {
    try {
      ctx.api.project = (await ctx.api.call('PATCH', '/v1/project', { body: { require_registered_types: rule.checked } })).body;
      fill(status, h('p', { role: 'status', class: 'ok-box' }, 'Saved.'));
    } catch (err) {
      rule.checked = !rule.checked;
      fill(status, errorBox(err));
    }
  });
  fill(main,
    heading('Projects'),
    h('p', {}, 'Each credential belongs to one project and sees only that project. Sign in with a key of another project to add it here, then switch between them.'),
    table('Signed-in projects', ['Project', 'Credential', ''], sessions().map((s) => [
      h('span', { class: 'mono' }, s.project.id, s === current() ? [' ', badge('current', 'ok')] : null),
      h('span', { class: 'mono' }, s.who),
      h('div', { class: 'actions' },
        s === current() ? null : h('button', { type: 'button', onclick: () => switchTo(s) }, `Switch to ${s.project.id}`),
        h('button', { type: 'button', onclick: () => signOut(s) }, 'Sign out of this project')),
    ])),
    h('section', { class: 'card', 'aria-labelledby': 'rule-title' },
      h('h2', { id: 'rule-title' }, 'Resource types in this project'),
      h('label', { class: 'check', for: 'require-types' }, rule, ' Refuse resources of a type that is not registered'),
      status),
    signInForm(() => ctx.rerender(), 'Add another project'));
}
