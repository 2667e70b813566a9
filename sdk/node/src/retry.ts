/**
 * When to retry and how long to wait.
 *
 * A request is retried only if sending it twice cannot do something twice:
 * - GET, HEAD, OPTIONS, PUT and DELETE are idempotent by definition;
 * - POST and PATCH only when they carry an `Idempotency-Key` (the SDK adds one to every POST and
 *   PATCH it builds, and reuses it across that call's attempts, so the server can deduplicate);
 * - any request whose connection failed before a byte was sent (nothing reached the server).
 *
 * It is retried on 429 (no sooner than `Retry-After`), 500, 502, 503, 504, on 409
 * `IDEMPOTENCY_KEY_IN_USE` (the first attempt is still running on the server) and on network
 * failures, with exponential backoff and full jitter so that many clients do not retry in step.
 */

import { APIConnectionError, RateLimitError, type TollgateError } from "./errors.js";

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/** Durations in milliseconds. `maxRetries` counts retries, not attempts: 3 means up to 4 requests. */
export interface RetryPolicy {
  maxRetries: number;
  backoffBase: number;
  backoffCap: number;
  /**
   * Longest `Retry-After` the SDK sleeps for; a longer one (an hourly quota is spent) is thrown
   * at once as RateLimitError so the caller decides, rather than the SDK blocking for an hour.
   */
  maxRetryWait: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  backoffBase: 500,
  backoffCap: 8_000,
  maxRetryWait: 60_000,
};

/** Whether the request may be sent again after an ambiguous failure. */
export function isReplayable(method: string, headers: Record<string, string>): boolean {
  if (IDEMPOTENT_METHODS.has(method.toUpperCase())) return true;
  const wanted = IDEMPOTENCY_HEADER.toLowerCase();
  return Object.keys(headers).some((name) => name.toLowerCase() === wanted);
}

/** Whether the same request may succeed later. */
export function isTransient(error: TollgateError): boolean {
  if (error instanceof APIConnectionError) return true;
  if (error.status !== undefined && RETRYABLE_STATUSES.has(error.status)) return true;
  return error.status === 409 && error.code === "IDEMPOTENCY_KEY_IN_USE";
}

/** Full jitter: uniform in [0, min(cap, base * 2**retry)] milliseconds. */
export function backoff(policy: RetryPolicy, retry: number): number {
  return Math.random() * Math.min(policy.backoffCap, policy.backoffBase * 2 ** retry);
}

/** Milliseconds to sleep before retry number `retry + 1`, or undefined to give up and throw. */
export function retryDelay(policy: RetryPolicy, retry: number, error: TollgateError, replayable: boolean): number | undefined {
  if (retry >= policy.maxRetries || !replayable || !isTransient(error)) return undefined;
  let wait = backoff(policy, retry);
  if (error instanceof RateLimitError && error.retryAfter !== undefined) {
    const retryAfterMs = error.retryAfter * 1000;
    if (retryAfterMs > policy.maxRetryWait) return undefined;
    wait = Math.max(wait, retryAfterMs);
  }
  return wait;
}
