/**
 * Runs the real `tollgate serve` (TOLLGATE_BIN) for a test file, on a random port with a
 * throwaway data directory, and makes credentials on it through the admin API and the CLI.
 * Deliberately uses plain fetch rather than the SDK, so a bug in the SDK cannot hide in the setup.
 */

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export function tollgateBin(): string {
  return process.env.TOLLGATE_BIN || join(homedir(), ".cache/tollgate/target/debug/tollgate");
}

/**
 * The environment without the caller's TOLLGATE_* settings, and with no rate limits: the suite
 * makes far more writes than the default 100 per hour. Rate-limit tests give their own key a
 * small limit instead.
 */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("TOLLGATE_")) env[name] = value;
  env.TOLLGATE_RATE_LIMIT_READ = "unlimited";
  env.TOLLGATE_RATE_LIMIT_WRITE = "unlimited";
  return env;
}

export class TollgateServer {
  private constructor(
    readonly bin: string,
    readonly dataDir: string,
    private proc: ChildProcess,
    readonly url: string,
    readonly adminKey: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** `env`: extra settings for the server, e.g. `{ TOLLGATE_EVENT_RETENTION: "1h" }`. */
  static async start(env: Record<string, string> = {}): Promise<TollgateServer> {
    const bin = tollgateBin();
    accessSync(bin, constants.X_OK);
    const dataDir = mkdtempSync(join(tmpdir(), "tollgate-sdk-node-"));
    const fullEnv = { ...serverEnv(), ...env };
    const proc = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-format", "json"], {
      env: fullEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      const [url, adminKey] = await withTimeout(Promise.all([listeningUrl(proc), adminKeyOf(proc)]), 30_000, "tollgate did not start");
      await waitForHealth(url);
      return new TollgateServer(bin, dataDir, proc, url, adminKey, fullEnv);
    } catch (error) {
      proc.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  async createKey(scopes: string[], limits?: Record<string, string>): Promise<string> {
    const response = await fetch(`${this.url}/v1/keys`, {
      method: "POST",
      headers: { "x-api-key": this.adminKey, "content-type": "application/json" },
      body: JSON.stringify({ name: "sdk-test", scopes, expires_in: "1d", limits }),
    });
    if (response.status !== 201) throw new Error(`POST /v1/keys: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { secret: string }).secret;
  }

  /** Through the CLI, as an operator would; accepts the id at the top level or under `client`. */
  createOAuthClient(scopes: string[]): { clientId: string; clientSecret: string } {
    const out = execFileSync(
      this.bin,
      ["--data-dir", this.dataDir, "clients", "create", "--name", "sdk-test", "--scopes", scopes.join(","), "--output", "json"],
      { env: serverEnv(), encoding: "utf8", timeout: 30_000 },
    );
    const body = JSON.parse(out) as { client_id?: string; client_secret?: string; secret?: string; client?: { client_id?: string } };
    const clientId = body.client_id ?? body.client?.client_id;
    const clientSecret = body.client_secret ?? body.secret;
    if (!clientId || !clientSecret) throw new Error(`unexpected \`clients create\` output: ${out}`);
    return { clientId, clientSecret };
  }

  /** `kill -9`, then the binary again on the same port and data directory: a crash that clients at the same URL must ride out. */
  async restart(): Promise<void> {
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.proc.kill("SIGKILL");
    await exited;
    const listen = this.url.replace("http://", "");
    this.proc = spawn(this.bin, ["serve", "--listen", listen, "--data-dir", this.dataDir, "--log-format", "json"], {
      env: this.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout!.resume();
    this.proc.stderr!.resume();
    await waitForHealth(this.url);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((resolve) => this.proc.once("exit", resolve));
      this.proc.kill("SIGKILL");
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

function listeningUrl(proc: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`tollgate exited with ${code}`)));
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      try {
        const event = JSON.parse(line) as { message?: string; address?: string };
        if (event.message === "listening" && event.address) resolve(`http://${event.address}`);
      } catch {
        // not a JSON log line
      }
    });
  });
}

function adminKeyOf(proc: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    createInterface({ input: proc.stderr! }).on("line", (line) => {
      const match = /(?<!\S)tgk_[A-Za-z0-9]+/.exec(line);
      if (match) resolve(match[0]);
    });
  });
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) return;
    } catch {
      // not accepting yet
    }
    if (Date.now() > deadline) throw new Error("GET /health never answered 200");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Removes the SDK's own variables from this process, so a developer's shell never leaks into a test. */
export function cleanSdkEnv(): void {
  for (const name of ["TOLLGATE_API_KEY", "TOLLGATE_ENDPOINT", "TOLLGATE_CLIENT_ID", "TOLLGATE_CLIENT_SECRET"]) delete process.env[name];
}

/** A resource type no other test uses, so list assertions see only this test's resources. */
export function uniqueKind(): string {
  return `t_${Math.random().toString(36).slice(2, 12)}`;
}
