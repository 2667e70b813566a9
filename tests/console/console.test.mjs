// The admin console in a real browser (Debian's Chromium driven by playwright-core) against the
// real binary. Each flow asserts what the page shows and what the API then holds; axe-core
// checks every screen for serious or critical violations, and each screen is photographed at
// 375 and 1440 px into screenshots/ (kept out of git).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, call } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, 'screenshots');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let server; let browser; let page; let receiver; let receiverPort; let receiverHits = 0;
const problems = [];
const audited = [];

async function nav(hash, title) {
  await page.evaluate((h) => { window.location.hash = h; }, hash);
  if (title) await page.getByRole('heading', { level: 1, name: title }).waitFor();
}

async function signIn(key) {
  await page.getByLabel('Admin API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Screenshots at both widths and an axe-core run; no serious or critical violation allowed. */
async function audit(name) {
  for (const width of [375, 1440]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  audited.push(name);
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [], `axe on ${name}`);
}

async function until(check, what, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('admin console', () => {
  before(async () => {
    mkdirSync(shots, { recursive: true });
    receiver = createServer((req, res) => {
      receiverHits += 1;
      req.resume();
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end('receiver is down');
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    receiverPort = receiver.address().port;
    server = await startServer({
      TOLLGATE_WEBHOOK_ALLOW_LOOPBACK: 'true',
      TOLLGATE_WEBHOOK_RETRY_SCHEDULE: '1s',
      TOLLGATE_USAGE_FLUSH_INTERVAL: '1s',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${server.url}/console`);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    receiver?.close();
  });

  test('a non-admin key is refused with a clear message', async () => {
    const r = await call(server, 'POST', '/v1/keys', server.adminKey, { name: 'reader', scopes: ['resource:read'] });
    assert.equal(r.status, 201);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await audit('sign-in');
    await signIn(r.body.secret);
    const alert = page.locator('.error-box');
    await alert.waitFor();
    assert.match(await alert.innerText(), /no admin scope/);
    assert.match(await alert.innerText(), /request id \S+/);
    assert.equal(await page.getByRole('heading', { name: 'Overview' }).count(), 0);
  });

  test('sign in, and the secret is kept nowhere but the tab', async () => {
    await signIn(server.adminKey);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const me = await call(server, 'GET', '/v1/usage', server.adminKey);
    assert.ok((await page.locator('header').innerText()).includes(me.body.credential));
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie + location.href);
    assert.ok(!stored.includes(server.adminKey), 'the key is not stored or in the URL');
    assert.deepEqual(await page.context().cookies(), []);
  });

  test('create a key: its secret shown once, it works, revoked it is refused', async () => {
    await nav('#/keys/new', 'New key or client');
    await audit('key-create');
    await page.getByLabel('Name').fill('browser-key');
    await page.getByLabel('resource:write').check();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 1, name: 'Keys & clients' }).waitFor();
    const secret = await page.locator('input[data-secret]').inputValue();
    assert.match(secret, /^tgk_/);
    assert.ok(await page.getByRole('button', { name: 'Copy' }).isVisible());
    assert.match(await page.locator('.secret-box').innerText(), /shown this once/);
    await audit('keys');
    const keys = await call(server, 'GET', '/v1/keys', server.adminKey);
    const made = keys.body.items.find((k) => k.name === 'browser-key');
    assert.deepEqual(made.scopes, ['resource:read', 'resource:write']);
    assert.equal((await call(server, 'GET', '/v1/resource', secret)).status, 200, 'the new key works over HTTP');

    // Gone after a reload, which also signs out.
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await signIn(server.adminKey);
    // Signed in again on the screen the address names.
    await page.getByRole('heading', { level: 1, name: 'Keys & clients' }).waitFor();
    await page.getByRole('link', { name: 'browser-key' }).waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');

    await page.getByRole('link', { name: 'browser-key' }).click();
    await page.getByRole('heading', { level: 1, name: 'browser-key' }).waitFor();
    await page.locator('figure.chart-figure').waitFor();
    await audit('key-detail');
    // Rotate with a grace period: the new secret is shown once, the old one still works.
    await page.getByLabel('Grace period for the old secret').fill('1h');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.locator('input[data-secret]').waitFor();
    const rotated = await page.locator('input[data-secret]').inputValue();
    assert.ok(rotated.startsWith('tgk_') && rotated !== secret);
    assert.equal((await call(server, 'GET', '/v1/resource', rotated)).status, 200, 'the new secret works');
    assert.equal((await call(server, 'GET', '/v1/resource', secret)).status, 200, 'the old one, during the grace period');
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await page.locator('.badge', { hasText: 'revoked' }).first().waitFor();
    for (const s of [secret, rotated]) {
      assert.equal((await call(server, 'GET', '/v1/resource', s)).status, 401, 'the revoked key is refused');
    }
    assert.equal((await call(server, 'GET', `/v1/keys/${made.id}`, server.adminKey)).body.status, 'revoked');
  });

  test('create a resource, see a validation error by its field, fix it', async () => {
    const type = await call(server, 'POST', '/v1/types', server.adminKey, {
      name: 'server',
      schema: { type: 'object', required: ['cpus'], properties: { cpus: { type: 'integer', minimum: 1 } } },
    });
    assert.equal(type.status, 201);
    await nav('#/resources/new', 'New resource');
    await page.getByLabel('Name').fill('s1');
    await page.getByLabel('Type').fill('server');
    await page.getByLabel('Data (JSON)').fill('{"cpus": 2}');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { level: 1, name: 's1' }).waitFor();
    assert.match(await page.locator('pre.json').innerText(), /"cpus": 2/);
    await audit('resource');
    const listed = await call(server, 'GET', '/v1/resource?type=server', server.adminKey);
    const id = listed.body.items[0].id;

    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { level: 1, name: 'Edit resource' }).waitFor();
    await page.getByLabel('Data (JSON)').fill('{"cpus": 0}');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const dataError = page.locator('.field', { has: page.getByLabel('Data (JSON)') }).locator('.field-error');
    await dataError.waitFor();
    assert.match(await dataError.innerText(), /\/data\/cpus/);
    assert.equal(await page.getByLabel('Data (JSON)').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('.error-box').first().innerText(), /request id/);
    await audit('resource-edit-error');
    let stored = await call(server, 'GET', `/v1/resource/${id}`, server.adminKey);
    assert.deepEqual([stored.body.version, stored.body.data.cpus], [1, 2], 'nothing was written');

    await page.getByLabel('Data (JSON)').fill('{"cpus": 4}');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { level: 1, name: 's1' }).waitFor();
    assert.match(await page.locator('pre.json').innerText(), /"cpus": 4/);
    stored = await call(server, 'GET', `/v1/resource/${id}`, server.adminKey);
    assert.deepEqual([stored.body.version, stored.body.data.cpus], [2, 4]);

    await nav('#/resources', 'Resources');
    await page.getByRole('link', { name: 's1' }).waitFor();
    await page.getByLabel('Search').fill('s1');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('link', { name: 's1' }).waitFor();
    await audit('resources');
  });

  test('a stale edit shows the conflict instead of overwriting', async () => {
    const listed = await call(server, 'GET', '/v1/resource?type=server', server.adminKey);
    const { id } = listed.body.items[0];
    await nav(`#/resources/${id}/edit`, 'Edit resource');
    const elsewhere = await call(server, 'PATCH', `/v1/resource/${id}`, server.adminKey, { name: 'changed elsewhere' },
      { 'If-Match': '"2"', 'Content-Type': 'application/merge-patch+json' });
    assert.equal(elsewhere.status, 200);
    await page.getByLabel('Name').fill('s1-renamed');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const conflict = page.locator('.conflict');
    await conflict.waitFor();
    assert.match(await conflict.innerText(), /You edited version 2; it is now version 3/);
    const stored = await call(server, 'GET', `/v1/resource/${id}`, server.adminKey);
    assert.deepEqual([stored.body.name, stored.body.version], ['changed elsewhere', 3]);
  });

  test("a failing webhook's attempts are shown and a replay is made", async () => {
    await nav('#/webhooks', 'Webhooks');
    await page.getByLabel('Endpoint URL').fill(`http://127.0.0.1:${receiverPort}/hook`);
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.locator('input[data-secret]').waitFor();
    assert.match(await page.locator('input[data-secret]').inputValue(), /^whsec_/);
    await audit('webhooks');
    const hooks = await call(server, 'GET', '/v1/webhooks', server.adminKey);
    const hook = hooks.body.items[0];
    await page.getByRole('link', { name: hook.url }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhook endpoint' }).waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByText(/Test event evt_\S+ queued/).waitFor();
    // One retry a second after the first failure, then the delivery is failed.
    await until(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByRole('heading', { level: 1, name: 'Webhook endpoint' }).waitFor();
      return (await page.locator('.delivery .badge', { hasText: 'failed' }).count()) > 0;
    }, 'the delivery to fail');
    const card = page.locator('.delivery', { has: page.locator('.badge', { hasText: 'failed' }) }).first();
    // A refresh clicked in the loop above may still be re-rendering the screen: the rows are
    // read once the card is drawn again, not from a screen between two renders.
    await card.locator('tbody tr').nth(1).waitFor();
    const attempts = await card.locator('tbody tr').allInnerTexts();
    assert.equal(attempts.length, 2);
    assert.ok(attempts.every((row) => row.includes('500')), attempts.join('\n'));
    await audit('webhook-detail');
    const deliveryId = await card.getAttribute('data-delivery');
    const hitsBefore = receiverHits;
    await card.getByRole('button', { name: 'Replay' }).click();
    await page.getByText(`Delivery ${deliveryId} queued again.`).waitFor();
    await until(() => receiverHits > hitsBefore, 'the replayed attempt');
    const deliveries = await call(server, 'GET', `/v1/webhooks/${hook.id}/deliveries`, server.adminKey);
    const replayed = deliveries.body.items.find((d) => d.id === deliveryId);
    assert.ok(replayed.attempts >= 3 || replayed.status === 'pending', JSON.stringify(replayed));

    // The endpoint screen refreshes itself 1.5 s after a test event is sent; leaving it before
    // then must not redraw the screen the user went to, nor lose what they are typing there.
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByText(/Test event evt_\S+ queued/).waitFor();
    await nav('#/projects', 'Projects');
    await page.getByLabel('Admin API key').fill('half-typed');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(await page.getByLabel('Admin API key').inputValue(), 'half-typed', 'a left screen redrew the projects screen');
    await page.getByLabel('Admin API key').fill('');
  });

  test('live events appear as they happen', async () => {
    await nav('#/events', 'Live events');
    await page.getByText('Live: new events appear at the top.').waitFor();
    const r = await call(server, 'POST', '/v1/resource', server.adminKey, { name: 'live-one', type: 'widget' });
    assert.equal(r.status, 201);
    await page.locator('ol.events li', { hasText: 'live-one' }).first().waitFor();
    await audit('events');
  });

  test('charts render with data after traffic', async () => {
    for (let i = 0; i < 5; i += 1) await call(server, 'GET', '/v1/resource', server.adminKey);
    await nav('#/overview/hour', 'Overview');
    const requests = page.locator('figure.chart-figure', { hasText: 'Requests per minute' });
    await requests.waitFor();
    assert.ok(Number(await requests.getAttribute('data-points')) > 0, 'requests per minute has data');
    assert.ok((await requests.locator('rect.bar-mark').count()) > 0);
    assert.equal(await page.locator('[data-health=database]').innerText(), 'ok');
    assert.ok((await page.getByText('this node\u2019s memory').count()) > 0, 'the overview says where the data comes from');
    await audit('overview');
    await page.getByRole('button', { name: 'Last 24 hours' }).click();
    await page.locator('figure.chart-figure', { hasText: 'Requests per 15 minutes' }).waitFor();

    const me = await call(server, 'GET', '/v1/usage', server.adminKey);
    await nav(`#/keys/${me.body.credential}`);
    const hourly = page.locator('figure.chart-figure', { hasText: 'Requests per hour' });
    await hourly.waitFor();
    assert.ok(Number(await hourly.getAttribute('data-points')) > 0, 'the admin key has hourly counts');
    assert.ok((await page.locator('[role=meter]').count()) >= 2, 'use against limits as bars');
    await audit('key-usage');
  });

  test('projects: another project is added and switched to', async () => {
    server.cli(['projects', 'create', 'second']);
    const key = server.cli(['keys', 'create', '--project', 'second', '--name', 'second-admin', '--scopes', 'admin,resource:read']).trim();
    await nav('#/projects', 'Projects');
    const first = await page.locator('#project-picker option').first().innerText();
    await signIn(key);
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    await until(async () => (await page.locator('#project-picker option').count()) === 2, 'two projects');
    await audit('projects');
    const keys = await call(server, 'GET', '/v1/keys', key);
    assert.deepEqual(keys.body.items.map((k) => k.name), ['second-admin'], 'the second project holds its own key');
    await nav('#/keys', 'Keys & clients');
    assert.equal(await page.getByRole('link', { name: 'browser-key' }).count(), 0, 'the second project sees only its own keys');
    await page.locator('#project-picker').selectOption({ label: first });
    await page.getByRole('link', { name: 'browser-key' }).waitFor();
  });

  test('sign out forgets every credential', async () => {
    await page.locator('#sign-out').click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.locator('#project-picker').count(), 0);
    await page.evaluate(() => { window.location.hash = '#/keys'; });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  test('an OAuth client signs in, by keyboard alone', async () => {
    const made = await call(server, 'POST', '/v1/clients', server.adminKey, { name: 'console-client', scopes: ['admin', 'resource:read'] });
    assert.equal(made.status, 201);
    await page.getByLabel('Sign in with').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Tab');
    await page.keyboard.type(made.body.client_id);
    await page.keyboard.press('Tab');
    await page.keyboard.type(made.body.client_secret);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Keys & clients' }).waitFor();
    assert.ok((await page.locator('header').innerText()).includes(made.body.client_id));
    await page.getByRole('link', { name: 'console-client' }).waitFor();
    const client = await call(server, 'GET', `/v1/clients/${made.body.client_id}`, server.adminKey);
    assert.ok(client.body.last_used_at, 'the client was used by the console');
    await page.locator('#sign-out').click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });

  test('no Content-Security-Policy violation or script error on any screen', () => {
    assert.deepEqual(problems, []);
    assert.ok(audited.length >= 12, `audited ${audited.join(', ')}`);
  });
});
