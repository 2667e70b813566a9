/**
 * A local HTTP server that misbehaves on cue, to test the SDK's retries without timing luck.
 *
 * Each request to an API path takes the next `Action` from `script` (and a plain 200 with a
 * resource once the script is used up); `/oauth/token` takes `tokenScript` first, then issues
 * numbered tokens. Every request is recorded with its arrival time, headers and body.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface Action {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Close the connection without sending any response. */
  drop?: boolean;
  /** Wait this many ms before answering (to trip the client's timeout). */
  delay?: number;
}

export interface Recorded {
  method: string;
  path: string;
  /** Names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** performance.now() on arrival. */
  at: number;
}

export const RES = "res_01JD3Z0000000000000000000";

export function resourceBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: RES,
    name: "fault",
    type: "machine",
    status: "active",
    attributes: {},
    data: null,
    created_at: "2026-01-01T00:00:00.000001Z",
    updated_at: "2026-01-01T00:00:00.000001Z",
    version: 1,
    ...overrides,
  };
}

export const ok = (): Action => ({ status: 200, body: resourceBody() });
export const drop = (): Action => ({ drop: true });
export function error(status: number, code: string, headers: Record<string, string> = {}, details: Record<string, unknown> = {}): Action {
  return { status, headers, body: { error: { code, message: code.toLowerCase(), details, request_id: `req_fault${status}` } } };
}

export class FaultServer {
  script: Action[] = [];
  tokenScript: Action[] = [];
  tokenLifetime = 3600;
  tokensIssued = 0;
  readonly requests: Recorded[] = [];
  url = "";
  private readonly server: Server;

  private constructor(script: Action[]) {
    this.script = [...script];
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(script: Action[] = []): Promise<FaultServer> {
    const fault = new FaultServer(script);
    await new Promise<void>((resolve) => fault.server.listen(0, "127.0.0.1", resolve));
    fault.url = `http://127.0.0.1:${(fault.server.address() as AddressInfo).port}`;
    return fault;
  }

  apiRequests(): Recorded[] {
    return this.requests.filter((r) => !r.path.startsWith("/oauth/"));
  }

  tokenRequests(): Recorded[] {
    return this.requests.filter((r) => r.path.startsWith("/oauth/"));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : (value ?? "");
    const recorded = { method: req.method ?? "", path: req.url ?? "", headers, body: Buffer.concat(chunks).toString(), at: performance.now() };
    this.requests.push(recorded);
    const action = recorded.path.startsWith("/oauth/token") ? this.tokenAction() : (this.script.shift() ?? ok());
    if (action.delay) await sleep(action.delay);
    if (action.drop) {
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return; // the client gave up already
    const payload = action.body === undefined ? "" : JSON.stringify(action.body);
    res.writeHead(action.status ?? 200, {
      ...(payload ? { "content-type": "application/json" } : {}),
      "content-length": Buffer.byteLength(payload),
      ...action.headers,
    });
    res.end(payload);
  }

  private tokenAction(): Action {
    const scripted = this.tokenScript.shift();
    if (scripted) return scripted;
    this.tokensIssued += 1;
    return {
      status: 200,
      body: { access_token: `tok${this.tokensIssued}`, token_type: "Bearer", expires_in: this.tokenLifetime, scope: "resource:read resource:write" },
    };
  }
}

/** The (id, secret) of an HTTP Basic header, still form-encoded. */
export function basicCredentials(recorded: Recorded): [string, string] {
  const [scheme, encoded] = (recorded.headers.authorization ?? "").split(" ");
  if (scheme !== "Basic" || !encoded) throw new Error("no Basic authorization");
  const decoded = Buffer.from(encoded, "base64").toString();
  const colon = decoded.indexOf(":");
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}
