/**
 * The errors the SDK throws, one class per kind of failure a caller handles differently. Every
 * API error carries the server's envelope (`code`, `message`, `details`, `requestId`) so that a
 * log line or a support ticket can quote the exact request the server saw. The class follows the
 * envelope's `code` (`BY_CODE` covers every code of the server's error table; a test checks it
 * against docs/openapi.json); a code this SDK does not know, or an answer without the envelope, is
 * classed by its HTTP status.
 */

export interface TollgateErrorFields {
  /** HTTP status; undefined when no response arrived. */
  status?: number;
  code?: string;
  details?: Record<string, unknown>;
  requestId?: string;
  cause?: unknown;
}

/** Base of every error this SDK throws. */
export class TollgateError extends Error {
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly details: Record<string, unknown>;
  readonly requestId: string | undefined;

  constructor(message: string, fields: TollgateErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = new.target.name;
    this.status = fields.status;
    this.code = fields.code;
    this.details = fields.details ?? {};
    this.requestId = fields.requestId;
  }

  /** For a failed batch: the position of the operation that failed (`details.index`). */
  get operationIndex(): number | undefined {
    const index = this.details.index;
    return typeof index === "number" && Number.isInteger(index) ? index : undefined;
  }

  /**
   * `Name: STATUS CODE message[: field: why; ...] (operation i) (request_id=...)`, what a log
   * line or a support ticket needs to quote.
   */
  override toString(): string {
    const head = [this.status, this.code, this.message].filter((p) => p !== undefined && p !== "").join(" ");
    const index = this.operationIndex === undefined ? "" : ` (operation ${this.operationIndex})`;
    return `${this.name}: ${head}${this.extra()}${index}${this.requestId ? ` (request_id=${this.requestId})` : ""}`;
  }

  /** What the string form adds after the message. */
  protected extra(): string {
    return "";
  }
}

/** 401: the key or token is missing, malformed, expired or revoked (also OAuth token failures). */
export class AuthenticationError extends TollgateError {}

/** 403: the credential is valid but lacks the scope; `details.required_scope` names it. */
export class PermissionDeniedError extends TollgateError {}

/** 404: no such resource in the credential's project (also for malformed ids). */
export class NotFoundError extends TollgateError {}

/** One way a resource breaks its registered type: an entry of a validation error's `details.errors`. */
export interface FieldError {
  /** Where, as a JSON Pointer (RFC 6901) into the resource: `/data/cpus`, `/attributes/region`. */
  pointer: string;
  /** What is wrong there. */
  message: string;
}

/** 400, 413, 415 or 422: the request itself is wrong; `details` maps each bad field to why. */
export class ValidationError extends TollgateError {
  /**
   * For a write that breaks its registered type: every violation, in the server's order (empty
   * for other validation errors).
   */
  get errors(): FieldError[] {
    const errors = this.details.errors;
    if (!Array.isArray(errors)) return [];
    return errors
      .filter((e): e is Record<string, unknown> => isObject(e) && typeof e.pointer === "string")
      .map((e) => ({ pointer: String(e.pointer), message: String(e.message ?? "") }));
  }

  /**
   * Each bad field (a parameter name or a JSON Pointer) and why it was refused: the `details`
   * map, and the `details.errors` list of `{pointer, message}` that schema validation answers with.
   */
  get fields(): Record<string, string> {
    const found: Record<string, string> = {};
    for (const e of this.errors) found[e.pointer] = e.message;
    for (const [key, value] of Object.entries(this.details)) if (typeof value === "string") found[key] = value;
    return found;
  }

  protected override extra(): string {
    // Every violation, even two at one pointer (which `fields` holds once), then the map.
    const parts = this.errors.map((e) => `${e.pointer}: ${e.message}`);
    for (const [key, value] of Object.entries(this.details)) if (typeof value === "string") parts.push(`${key}: ${value}`);
    return parts.length ? `: ${parts.join("; ")}` : "";
  }
}

/**
 * 409: CONFLICT (the change conflicts with the current state, e.g. rotating a revoked key), or
 * IDEMPOTENCY_KEY_IN_USE while the first request with that key is still running.
 */
export class ConflictError extends TollgateError {}

/**
 * 410 GONE: an event stream was resumed from an id older than the retention window; some events
 * were missed, so read the current state again and resume from the newest event.
 */
export class GoneError extends TollgateError {}

/** 414 URI_TOO_LONG: the path and query are longer than the server accepts. */
export class UriTooLongError extends ValidationError {}

/** 431 HEADERS_TOO_LARGE: the request's header section is larger than the server accepts. */
export class HeadersTooLargeError extends ValidationError {}

/** 412: `ifVersion` named an older version; `details.current_version` is the live one. */
export class PreconditionFailedError extends TollgateError {}

/** 429: over the credential's limit; wait `retryAfter` seconds before trying again. */
export class RateLimitError extends TollgateError {
  /** Seconds, from `Retry-After` or `details.retry_after`; undefined when the server gave neither. */
  readonly retryAfter: number | undefined;

  constructor(message: string, fields: TollgateErrorFields & { retryAfter?: number | undefined } = {}) {
    super(message, fields);
    this.retryAfter = fields.retryAfter;
  }
}

/** 5xx: the server (or a proxy in front of it) failed; safe requests are retried first. */
export class ServerError extends TollgateError {}

/** No response: the connection could not be made or was dropped. */
export class APIConnectionError extends TollgateError {}

/** No response within the client's timeout. */
export class APITimeoutError extends APIConnectionError {}

/** The class for each code of the server's error table. */
const BY_CODE: Record<string, typeof TollgateError> = {
  AUTHENTICATION_FAILED: AuthenticationError,
  PERMISSION_DENIED: PermissionDeniedError,
  NOT_FOUND: NotFoundError,
  VALIDATION_FAILED: ValidationError,
  MALFORMED_JSON: ValidationError,
  UNSUPPORTED_MEDIA_TYPE: ValidationError,
  PAYLOAD_TOO_LARGE: ValidationError,
  IDEMPOTENCY_KEY_REUSED: ValidationError,
  // A wrong method, or a request the server gave up waiting for: nothing more specific.
  METHOD_NOT_ALLOWED: TollgateError,
  REQUEST_TIMEOUT: TollgateError,
  URI_TOO_LONG: UriTooLongError,
  HEADERS_TOO_LARGE: HeadersTooLargeError,
  PRECONDITION_FAILED: PreconditionFailedError,
  CONFLICT: ConflictError,
  IDEMPOTENCY_KEY_IN_USE: ConflictError,
  RATE_LIMIT_EXCEEDED: RateLimitError,
  INTERNAL_ERROR: ServerError,
  SERVICE_UNAVAILABLE: ServerError,
  GONE: GoneError,
};

/** The error codes this SDK maps to a class (every code of the server's table it was built for). */
export const KNOWN_ERROR_CODES: readonly string[] = Object.freeze(Object.keys(BY_CODE));

/** The fallback for codes this SDK does not know and answers without the envelope. */
const BY_STATUS: Record<number, typeof TollgateError> = {
  400: ValidationError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  410: GoneError,
  412: PreconditionFailedError,
  413: ValidationError,
  414: UriTooLongError,
  415: ValidationError,
  422: ValidationError,
  429: RateLimitError,
  431: HeadersTooLargeError,
};

/**
 * The typed error for a non-2xx response. Understands the API's envelope
 * `{"error": {"code", ...}}`, the OAuth endpoints' RFC 6749 form
 * `{"error": "invalid_client", "error_description": ...}`, and anything else by status alone.
 */
export function errorFromResponse(status: number, statusText: string, headers: Headers, bodyText: string): TollgateError {
  const body = parseJson(bodyText);
  let code = `HTTP_${status}`;
  let message = statusText || "HTTP error";
  let details: Record<string, unknown> = {};
  let requestId: string | undefined;
  const error = isObject(body) ? body.error : undefined;
  if (isObject(error)) {
    if (typeof error.code === "string" && error.code) code = error.code;
    if (typeof error.message === "string" && error.message) message = error.message;
    if (isObject(error.details)) details = error.details;
    if (typeof error.request_id === "string") requestId = error.request_id;
  } else if (typeof error === "string" && isObject(body)) {
    code = error;
    message = typeof body.error_description === "string" ? body.error_description : error;
  }
  requestId ??= headers.get("x-request-id") ?? undefined;
  const fields = { status, code, details, requestId };
  const Class = (Object.hasOwn(BY_CODE, code) ? BY_CODE[code] : undefined) ?? BY_STATUS[status] ?? (status >= 500 ? ServerError : TollgateError);
  if (Class === RateLimitError) return new RateLimitError(message, { ...fields, retryAfter: retryAfterSeconds(headers, details) });
  return new Class(message, fields);
}

/** Seconds to wait, from `Retry-After` (delta-seconds or an HTTP date), else `details.retry_after`. */
export function retryAfterSeconds(headers: Headers, details: Record<string, unknown> = {}): number | undefined {
  const header = headers.get("retry-after")?.trim();
  if (header) {
    if (/^\d+(\.\d+)?$/.test(header)) return Number(header);
    const when = Date.parse(header);
    if (!Number.isNaN(when)) return Math.max(0, (when - Date.now()) / 1000);
  }
  const fromBody = details.retry_after;
  return typeof fromBody === "number" && fromBody >= 0 ? fromBody : undefined;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
