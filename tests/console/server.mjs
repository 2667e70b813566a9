// Starts the real `tollgate` binary ($TOLLGATE_BIN) on a random port with a temporary data
// directory, and reads the first admin key from its stderr, as an operator would.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function startServer(extraEnv = {}) {
  const bin = process.env.TOLLGATE_BIN;
  if (!bin) throw new Error('TOLLGATE_BIN must name the tollgate binary');
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-console-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOLLGATE_')));
  Object.assign(env, extraEnv);
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--log-format', 'json', '--data-dir', dataDir], {
    env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  let adminKey = '';
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tollgate did not start:\n${logs.join('\n')}`)), 60_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      logs.push(line);
      try {
        const v = JSON.parse(line);
        if (v.message === 'listening') {
          clearTimeout(timer);
          resolve(v.address);
        }
      } catch { /* not JSON */ }
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      logs.push(`stderr: ${line}`);
      const key = line.split(/\s+/).find((w) => w.startsWith('tgk_'));
      if (key) adminKey = key;
    });
    child.on('exit', (code) => reject(new Error(`tollgate exited (${code}):\n${logs.join('\n')}`)));
  });
  const url = `http://${address}`;
  for (let i = 0; i < 200 && !adminKey; i += 1) await new Promise((r) => setTimeout(r, 25));
  return {
    url,
    adminKey,
    logs,
    /** Runs the CLI on the server's data directory. */
    cli(args) {
      const out = spawnSync(bin, ['--data-dir', dataDir, ...args], { env, encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`tollgate ${args.join(' ')} failed: ${out.stderr}`);
      return out.stdout;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => { if (child.exitCode !== null) r(); else child.on('exit', r); });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A JSON call to the server with an API key: `{status, body}`. */
export async function call(server, method, path, key, body, headers = {}) {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'X-API-Key': key, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: res.status, body: parsed };
}
