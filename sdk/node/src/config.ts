/**
 * Resolves a client's settings from its options and the environment, once, at construction, so
 * that a configuration mistake fails there rather than on the first request.
 */

import { checkKeys } from "./operations.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";

/** Where `tollgate serve` listens by default. */
export const DEFAULT_ENDPOINT = "http://127.0.0.1:8080";
export const DEFAULT_TIMEOUT = 30_000;

export interface ClientOptions {
  /** An API key (`tgk_...`). Default: `TOLLGATE_API_KEY`. */
  apiKey?: string;
  /** OAuth 2.0 client credentials (`tgc_...` / `tgs_...`). Default: `TOLLGATE_CLIENT_ID` / `TOLLGATE_CLIENT_SECRET`. */
  clientId?: string;
  clientSecret?: string;
  /** Space-separated scopes to ask the token for (default: all of the client's). */
  scope?: string;
  /** Base URL. Default: `TOLLGATE_ENDPOINT`, then http://127.0.0.1:8080. */
  endpoint?: string;
  /** Per-attempt timeout in milliseconds (default 30 000). */
  timeout?: number;
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Backoff base and cap in milliseconds (default 500 and 8 000). */
  backoffBase?: number;
  backoffCap?: number;
  /** Longest Retry-After to wait for, in milliseconds (default 60 000). */
  maxRetryWait?: number;
  /** A fetch implementation (default: the global one), e.g. one with a proxy dispatcher. */
  fetch?: typeof fetch;
  /**
   * Where the client reports what it does (`console` works): `debug` gets every response
   * (method, path, status, request id, duration; never a secret or a body), `warn` each retry
   * with its reason and wait, and each deprecated endpoint once per process. Default: nothing.
   */
  logger?: Logger;
}

/** What the client logs through; any object with these methods (console, pino, winston). */
export interface Logger {
  debug(message: string): void;
  warn(message: string): void;
}

const OPTION_KEYS = [
  "apiKey", "clientId", "clientSecret", "scope", "endpoint", "timeout",
  "maxRetries", "backoffBase", "backoffCap", "maxRetryWait", "fetch", "logger",
] as const;

export type Credentials =
  | { kind: "apiKey"; apiKey: string }
  | { kind: "oauth"; clientId: string; clientSecret: string; scope: string | undefined };

export interface Settings {
  endpoint: string;
  credentials: Credentials;
  timeout: number;
  retry: RetryPolicy;
  fetch: typeof fetch;
  logger: Logger | undefined;
}

/** Options win over the environment; an explicit OAuth client wins over `TOLLGATE_API_KEY`. */
export function resolveSettings(options: ClientOptions, env: NodeJS.ProcessEnv = process.env): Settings {
  checkKeys(options, OPTION_KEYS, "Client");
  const { apiKey, clientId, clientSecret } = options;
  if (apiKey !== undefined && (clientId !== undefined || clientSecret !== undefined)) {
    throw new TypeError("give either apiKey or clientId/clientSecret, not both");
  }
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new TypeError("clientId and clientSecret must be given together");
  }
  const credentials = pickCredentials(options, env);
  const retry: RetryPolicy = {
    maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    backoffBase: options.backoffBase ?? DEFAULT_RETRY_POLICY.backoffBase,
    backoffCap: options.backoffCap ?? DEFAULT_RETRY_POLICY.backoffCap,
    maxRetryWait: options.maxRetryWait ?? DEFAULT_RETRY_POLICY.maxRetryWait,
  };
  if (!Number.isInteger(retry.maxRetries) || retry.maxRetries < 0) throw new RangeError("maxRetries must be a whole number, 0 or more");
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (!(timeout > 0)) throw new RangeError("timeout must be positive");
  const endpoint = normalizeEndpoint(options.endpoint || env.TOLLGATE_ENDPOINT || DEFAULT_ENDPOINT);
  return { endpoint, credentials, timeout, retry, fetch: options.fetch ?? globalThis.fetch, logger: options.logger };
}

/**
 * The base URL without a trailing `/` or `/v1`: paths already start with `/v1`, and
 * `https://host/v1` is what people copy from the API reference.
 */
export function normalizeEndpoint(endpoint: string): string {
  let url = endpoint.trim().replace(/\/+$/, "");
  if (!/^https?:\/\//.test(url)) throw new TypeError(`endpoint must be an http:// or https:// URL, not ${JSON.stringify(endpoint)}`);
  if (url.endsWith("/v1")) url = url.slice(0, -3);
  return url;
}

function pickCredentials(options: ClientOptions, env: NodeJS.ProcessEnv): Credentials {
  if (options.apiKey !== undefined) return { kind: "apiKey", apiKey: options.apiKey };
  if (options.clientId !== undefined && options.clientSecret !== undefined) {
    return { kind: "oauth", clientId: options.clientId, clientSecret: options.clientSecret, scope: options.scope };
  }
  if (env.TOLLGATE_API_KEY) return { kind: "apiKey", apiKey: env.TOLLGATE_API_KEY };
  if (env.TOLLGATE_CLIENT_ID && env.TOLLGATE_CLIENT_SECRET) {
    return { kind: "oauth", clientId: env.TOLLGATE_CLIENT_ID, clientSecret: env.TOLLGATE_CLIENT_SECRET, scope: options.scope };
  }
  throw new TypeError(
    "no credentials: pass apiKey (or clientId and clientSecret), " +
      "or set TOLLGATE_API_KEY (or TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET)",
  );
}
