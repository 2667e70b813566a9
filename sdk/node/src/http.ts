/**
 * Sends one logical call: authentication, per-attempt timeout, retries with backoff, and the
 * mapping of failures to typed errors. A `Call` is built once per SDK method call, so its
 * Idempotency-Key is fixed across retries.
 */

import { setTimeout as sleep } from "node:timers/promises";

import type { Settings } from "./config.js";
import { APIConnectionError, APITimeoutError, errorFromResponse, type TollgateError } from "./errors.js";
import { isReplayable, retryDelay } from "./retry.js";
import { VERSION } from "./version.js";

export const USER_AGENT = `tollgate-node/${VERSION}`;

/** Endpoints already warned about as deprecated in this process. */
const WARNED = new Set<string>();

export interface Call<T> {
  method: string;
  path: string;
  query?: Array<[string, string]>;
  headers?: Record<string, string>;
  body?: string;
  /** Reads a successful response's body text. */
  parse: (text: string) => T;
  /** False for the token endpoint, which authenticates with the client secret instead. */
  authenticate?: boolean;
  /** Overrides the method/Idempotency-Key rule (the token request has no side effect). */
  replayable?: boolean;
  signal?: AbortSignal | undefined;
}

/** Supplies credentials for each attempt. */
export interface Authenticator {
  headers(): Promise<Record<string, string>>;
  /** Called on a 401 with the headers that were refused; true if fresh credentials may help. */
  invalidate(refused: Record<string, string>): boolean;
}

/** Connection failures that happen before any byte of the request is sent. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

export class Transport {
  private readonly auth: Authenticator;

  /** `makeAuth` gets the transport because the OAuth authenticator fetches tokens through it. */
  constructor(
    private readonly settings: Settings,
    makeAuth: (transport: Transport) => Authenticator,
  ) {
    this.auth = makeAuth(this);
  }

  async send<T>(call: Call<T>): Promise<T> {
    const replayable = call.replayable ?? isReplayable(call.method, call.headers ?? {});
    const authenticate = call.authenticate !== false;
    let retries = 0;
    let renewedCredentials = false;
    for (;;) {
      const auth = authenticate ? await this.auth.headers() : {};
      let error: TollgateError;
      let mayReplay = replayable;
      const started = performance.now();
      const outcome = await this.attempt(call, auth);
      if ("response" in outcome) {
        const { response, text } = outcome;
        this.settings.logger?.debug(
          `${call.method} ${call.path} -> ${response.status} (request_id=${response.headers.get("x-request-id")}, ${(performance.now() - started).toFixed(1)} ms)`,
        );
        this.warnDeprecation(call, response.headers);
        if (response.ok) return call.parse(text);
        if (response.status === 401 && authenticate && !renewedCredentials && this.auth.invalidate(auth)) {
          // The cached token was revoked or expired early: get a new one, once.
          renewedCredentials = true;
          continue;
        }
        error = errorFromResponse(response.status, response.statusText, response.headers, text);
      } else {
        error = outcome.error;
        mayReplay ||= outcome.neverSent;
      }
      const wait = retryDelay(this.settings.retry, retries, error, mayReplay);
      if (wait === undefined) throw error;
      this.settings.logger?.warn(`${call.method} ${call.path}: retry ${retries + 1} in ${(wait / 1000).toFixed(2)} s after ${String(error)}`);
      await sleep(wait, undefined, call.signal ? { signal: call.signal } : undefined);
      retries += 1;
    }
  }

  /**
   * Opens a long-lived `text/event-stream` answer: one attempt (the caller reconnects), the
   * client's timeout bounding only the wait for the headers, a refused OAuth token renewed once.
   * Resolves to the 2xx response, whose body stays open until `signal` aborts or the server ends it.
   */
  async openStream(path: string, query: Array<[string, string]>, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const url = new URL(this.settings.endpoint + path);
    for (const [key, value] of query) url.searchParams.append(key, value);
    let renewedCredentials = false;
    for (;;) {
      const auth = await this.auth.headers();
      const timer = new AbortController();
      const timeout = setTimeout(() => timer.abort(), this.settings.timeout);
      let response: Response;
      try {
        response = await this.settings.fetch(url, {
          headers: { "user-agent": USER_AGENT, accept: "text/event-stream", ...headers, ...auth },
          signal: AbortSignal.any([signal, timer.signal]),
        });
      } catch (cause) {
        if (signal.aborted) throw signal.reason;
        const where = `GET ${url.origin}${url.pathname}`;
        if (timer.signal.aborted) throw new APITimeoutError(`request timed out after ${this.settings.timeout} ms (${where})`, { cause });
        throw new APIConnectionError(`connection failed (${where}): ${errorCode(cause) ?? String(cause)}`, { cause });
      } finally {
        clearTimeout(timeout);
      }
      if (response.ok) return response;
      const text = await response.text();
      if (response.status === 401 && !renewedCredentials && this.auth.invalidate(auth)) {
        renewedCredentials = true;
        continue;
      }
      throw errorFromResponse(response.status, response.statusText, response.headers, text);
    }
  }

  /** Once per process and endpoint: the server said this call is deprecated (RFC 9745, RFC 8594). */
  private warnDeprecation(call: Call<unknown>, headers: Headers): void {
    const deprecation = headers.get("deprecation");
    const key = `${call.method} ${call.path}`;
    if (deprecation === null || WARNED.has(key)) return;
    WARNED.add(key);
    const sunset = headers.get("sunset");
    const link = headers.get("link");
    this.settings.logger?.warn(`${key} is deprecated (Deprecation: ${deprecation}${sunset ? `; Sunset: ${sunset}` : ""}${link ? `; see ${link}` : ""})`);
  }

  /** One request; a network failure is returned, not thrown, so the caller decides on a retry. */
  private async attempt(
    call: Call<unknown>,
    auth: Record<string, string>,
  ): Promise<{ response: Response; text: string } | { error: APIConnectionError; neverSent: boolean }> {
    const url = new URL(this.settings.endpoint + call.path);
    for (const [key, value] of call.query ?? []) url.searchParams.append(key, value);
    const timeout = AbortSignal.timeout(this.settings.timeout);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    try {
      const response = await this.settings.fetch(url, {
        method: call.method,
        headers: { "user-agent": USER_AGENT, accept: "application/json", ...call.headers, ...auth },
        body: call.body,
        signal,
      });
      const text = await response.text(); // also under the timeout: a stalled body is a timeout
      return { response, text };
    } catch (cause) {
      if (call.signal?.aborted) throw call.signal.reason; // cancelled by the caller: never retried
      if (timeout.aborted) {
        return { error: new APITimeoutError(`request timed out after ${this.settings.timeout} ms (${call.method} ${url.origin}${url.pathname})`, { cause }), neverSent: false };
      }
      const code = errorCode(cause);
      const message = `connection failed (${call.method} ${url.origin}${url.pathname}): ${code ?? (cause instanceof Error ? cause.message : String(cause))}`;
      return { error: new APIConnectionError(message, { cause }), neverSent: code !== undefined && NOT_SENT_CODES.has(code) };
    }
  }
}

/** The system or undici error code under fetch's generic "fetch failed" TypeError. */
function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function parseJson<T>(text: string): T {
  return (text ? JSON.parse(text) : undefined) as T;
}
