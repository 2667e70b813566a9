/**
 * The events API (`client.events.list`, `.iter`, `.get`) and the live stream
 * (`client.events.stream`): an async iterable of events that outlives connections. After a
 * drop, an end or `idleTimeout` ms of silence (the server sends a keep-alive every 15 s) it
 * reconnects with backoff and full jitter and sends the id of the last event it yielded as
 * `Last-Event-ID`, so the server replays what was missed: no gap, no duplicate. A 429 waits at
 * least its Retry-After; `410 GONE` and every other refusal end it by throwing the typed error.
 * Breaking out of `for await`, or `close()`, closes the connection.
 */

import { setTimeout as sleep } from "node:timers/promises";

import { TollgateError } from "./errors.js";
import { parseJson, type Transport } from "./http.js";
import { commaList, rfc3339 } from "./operations.js";
import { backoff, isTransient, type RetryPolicy } from "./retry.js";
import type { JsonValue, RequestOptions } from "./types.js";

/** One change: the webhook payload with its id. */
export interface Event {
  /** `evt_` + a ULID; what `lastEventId` resumes after. */
  id: string;
  /** E.g. `resource.created`, `resource.updated`, `resource.deleted`. */
  type: string;
  /** RFC 3339, UTC. */
  timestamp: string;
  /** The resource (for `resource.deleted`, its id). */
  data: JsonValue;
}

/** One page of events; `next_cursor` is null on the last page. */
export interface EventPage {
  items: Event[];
  has_next: boolean;
  next_cursor: string | null;
}

/** Which events: shared by the listing and the stream. */
export interface EventFilters {
  /** One event type or several (e.g. `resource.updated`). */
  type?: string | string[];
  resourceId?: string;
  resourceType?: string;
  /** A Date or an RFC 3339 string. */
  after?: Date | string;
  before?: Date | string;
}

export interface ListEventsParams extends EventFilters {
  /** `newest` (the default) or `oldest`. */
  order?: "newest" | "oldest";
  /** 1-100 (default 50). */
  limit?: number;
  /** The previous page's `next_cursor`. */
  cursor?: string;
}

export interface StreamEventsParams extends EventFilters {
  /** Start after this event (one seen before): the server replays the ones since. */
  lastEventId?: string;
  /** Give up after this many failed reconnects in a row (none since the last event); unlimited by default. */
  maxReconnects?: number;
  /** Reconnect when nothing, not even a keep-alive, arrives for this long (ms, default 45 000). */
  idleTimeout?: number;
}

const DEFAULT_IDLE_TIMEOUT = 45_000;

function filterQuery(f: EventFilters): Array<[string, string]> {
  const query: Array<[string, string]> = [];
  if (f.type !== undefined) query.push(["type", commaList("type", f.type)]);
  if (f.resourceId !== undefined) query.push(["resource_id", f.resourceId]);
  if (f.resourceType !== undefined) query.push(["resource_type", f.resourceType]);
  if (f.after !== undefined) query.push(["after", rfc3339("after", f.after)]);
  if (f.before !== undefined) query.push(["before", rfc3339("before", f.before)]);
  return query;
}

/** The events of the client's project. */
export class Events {
  /** @internal */
  constructor(
    private readonly transport: Transport,
    private readonly retry: RetryPolicy,
  ) {}

  /** One page, newest first unless `order: "oldest"`. */
  list(params: ListEventsParams = {}, options: RequestOptions = {}): Promise<EventPage> {
    const query = filterQuery(params);
    if (params.order !== undefined) query.push(["order", params.order]);
    if (params.limit !== undefined) query.push(["limit", String(params.limit)]);
    if (params.cursor !== undefined) query.push(["cursor", params.cursor]);
    return this.transport.send({ method: "GET", path: "/v1/events", query, parse: parseJson<EventPage>, signal: options.signal });
  }

  /** Every matching event, page by page by cursor (100 a page unless `limit` says otherwise). */
  async *iter(params: Omit<ListEventsParams, "cursor"> = {}, options: RequestOptions = {}): AsyncGenerator<Event, void, undefined> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.list({ limit: 100, ...params, ...(cursor === undefined ? {} : { cursor }) }, options);
      yield* page.items;
      if (!page.has_next || !page.next_cursor) return;
      cursor = page.next_cursor;
    }
  }

  get(id: string, options: RequestOptions = {}): Promise<Event> {
    if (!id) throw new TypeError("an event id must not be empty");
    return this.transport.send({ method: "GET", path: `/v1/events/${encodeURIComponent(id)}`, parse: parseJson<Event>, signal: options.signal });
  }

  /** The live events from now (or after `lastEventId`); connects on the first `next()`. */
  stream(params: StreamEventsParams = {}): EventStream {
    return new EventStream(this.transport, this.retry, params);
  }
}

/** The live stream: `for await (const event of stream)`; `close()` stops it. */
export class EventStream implements AsyncIterableIterator<Event> {
  /** The id of the last event yielded: where a reconnect resumes. */
  lastEventId: string | undefined;
  private readonly query: Array<[string, string]>;
  private readonly idleTimeout: number;
  private readonly stop = new AbortController();
  private connection: { reader: ReadableStreamDefaultReader<Uint8Array>; abort: AbortController } | undefined;
  private readonly parser = new SseParser();
  /** Reconnects since the last event: the backoff's exponent. */
  private failures = 0;

  /** @internal */
  constructor(
    private readonly transport: Transport,
    private readonly retry: RetryPolicy,
    private readonly params: StreamEventsParams,
  ) {
    this.lastEventId = params.lastEventId;
    this.query = filterQuery(params);
    this.idleTimeout = params.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
  }

  [Symbol.asyncIterator](): EventStream {
    return this;
  }

  async next(): Promise<IteratorResult<Event, undefined>> {
    while (!this.stop.signal.aborted) {
      const sse = this.parser.next();
      if (sse) {
        let event: Event;
        try {
          event = decode(sse);
        } catch (error) {
          this.close();
          throw error;
        }
        this.lastEventId = event.id;
        this.failures = 0;
        return { value: event, done: false };
      }
      if (!this.connection) {
        try {
          await this.connect();
        } catch (error) {
          if (this.stop.signal.aborted) break;
          const wait = this.delay(error);
          if (wait === undefined) {
            this.close();
            throw error;
          }
          await this.pause(wait);
        }
        continue;
      }
      const chunk = await this.read(this.connection.reader);
      if (chunk) {
        this.parser.feed(chunk);
        continue;
      }
      // Ended by the server (a shutdown, or this client fell too far behind), broken, or silent:
      // reconnect. Only a failing reconnect counts against maxReconnects.
      this.drop();
      const wait = backoff(this.retry, this.failures);
      this.failures += 1;
      await this.pause(wait);
    }
    return { value: undefined, done: true };
  }

  /** Called when a `for await` loop exits early: closes the connection. */
  async return(): Promise<IteratorResult<Event, undefined>> {
    this.close();
    return { value: undefined, done: true };
  }

  /** Stops: closes the connection; the iterator ends. */
  close(): void {
    this.stop.abort();
    this.drop();
  }

  private async connect(): Promise<void> {
    const headers: Record<string, string> = this.lastEventId ? { "last-event-id": this.lastEventId } : {};
    const abort = new AbortController();
    const response = await this.transport.openStream("/v1/events/stream", this.query, headers, AbortSignal.any([this.stop.signal, abort.signal]));
    const type = response.headers.get("content-type") ?? "";
    if (!type.startsWith("text/event-stream") || !response.body) {
      abort.abort();
      throw new TollgateError(`the event stream answered ${JSON.stringify(type)}, not text/event-stream`, { status: response.status, code: "DECODE" });
    }
    this.parser.reset();
    this.connection = { reader: response.body.getReader(), abort };
  }

  /** The next chunk, or undefined when the body ended, failed or stayed silent too long. */
  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Uint8Array | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.idleTimeout);
    });
    try {
      const got = await Promise.race([reader.read(), silent]);
      return got && !got.done ? got.value : undefined;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private drop(): void {
    if (!this.connection) return;
    this.connection.abort.abort();
    this.connection.reader.cancel().catch(() => undefined);
    this.connection = undefined;
  }

  private delay(error: unknown): number | undefined {
    if (!(error instanceof TollgateError) || !isTransient(error)) return undefined;
    if (this.params.maxReconnects !== undefined && this.failures >= this.params.maxReconnects) return undefined;
    let wait = backoff(this.retry, this.failures);
    this.failures += 1;
    const retryAfter = (error as { retryAfter?: number }).retryAfter;
    if (retryAfter !== undefined) wait = Math.max(wait, retryAfter * 1000);
    return wait;
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.stop.signal });
    } catch {
      // closed while waiting
    }
  }
}

interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string[];
}

/**
 * Incremental `text/event-stream` parsing: lines end in LF, CRLF or CR; a blank line ends an
 * event; `:` starts a comment (the keep-alive); several `data:` lines join with LF.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buf = "";
  private afterCr = false;
  private current: SseEvent = { id: undefined, event: undefined, data: [] };
  private readonly ready: SseEvent[] = [];

  feed(chunk: Uint8Array | string): void {
    const text = typeof chunk === "string" ? chunk : this.decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.afterCr) {
        this.afterCr = false;
        if (ch === "\n") {
          start = i + 1;
          continue;
        }
      }
      if (ch === "\n" || ch === "\r") {
        this.afterCr = ch === "\r";
        const line = this.buf + text.slice(start, i);
        this.buf = "";
        start = i + 1;
        this.line(line);
      }
    }
    this.buf += text.slice(start);
  }

  next(): SseEvent | undefined {
    return this.ready.shift();
  }

  reset(): void {
    this.buf = "";
    this.afterCr = false;
    this.current = { id: undefined, event: undefined, data: [] };
    this.ready.length = 0;
  }

  private line(line: string): void {
    if (line === "") {
      if (this.current.data.length > 0) this.ready.push(this.current);
      this.current = { id: undefined, event: undefined, data: [] };
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "id" && !value.includes("\0")) this.current.id = value;
    else if (name === "event") this.current.event = value;
    else if (name === "data") this.current.data.push(value);
  }
}

/** The event in `data:`; the SSE `id:` and `event:` fill in when the JSON lacks them. */
export function decode(sse: SseEvent): Event {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(sse.data.join("\n")) as Record<string, unknown>;
  } catch (cause) {
    throw new TollgateError(`event data is not JSON: ${String(cause)}`, { code: "DECODE", cause });
  }
  if (sse.id !== undefined) body.id ??= sse.id;
  if (sse.event !== undefined) body.type ??= sse.event;
  if (typeof body.id !== "string" || typeof body.type !== "string") {
    throw new TollgateError("an event without an id or a type", { code: "DECODE" });
  }
  return body as unknown as Event;
}
