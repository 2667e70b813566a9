/** The API's JSON shapes. Field names are the wire names, so they match the API reference. */

export type ResourceStatus = "active" | "archived";

/** Any JSON value (a resource's `data`). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One stored resource. `version` starts at 1 and grows by one per change; pass it as
 * `ifVersion` to update or delete only if nobody changed the resource since you read it.
 */
export interface Resource {
  id: string;
  name: string;
  type: string;
  status: ResourceStatus;
  attributes: Record<string, string>;
  data: JsonValue;
  /** RFC 3339, UTC. */
  created_at: string;
  updated_at: string;
  version: number;
}

/** One page of a listing. `page` is null when paging by cursor; `next_cursor` is null on the last page. */
export interface ResourcePage {
  items: Resource[];
  page: number | null;
  per_page: number;
  has_next: boolean;
  next_cursor: string | null;
}

export interface CreateResourceInput {
  name: string;
  type: string;
  status?: ResourceStatus;
  attributes?: Record<string, string>;
  data?: JsonValue;
}

/**
 * A JSON Merge Patch (RFC 7396): absent fields stay as they are; an attribute set to null is
 * removed; `data: null` clears data.
 */
export interface ResourcePatch {
  name?: string;
  type?: string;
  status?: ResourceStatus;
  attributes?: Record<string, string | null>;
  data?: JsonValue;
}

export interface ListResourcesParams {
  /** Page number (offset paging); cannot be combined with `cursor`. */
  page?: number;
  /** 1-100, default 20. */
  perPage?: number;
  type?: string;
  status?: ResourceStatus;
  /** Only resources whose attributes hold every one of these pairs. */
  attributes?: Record<string, string>;
  /** Cursor paging: "" for the first page, then each page's `next_cursor`. */
  cursor?: string;
}

export type IterResourcesParams = Omit<ListResourcesParams, "page" | "cursor">;

/** Per-call options. */
export interface RequestOptions {
  /** Cancels the call, including any wait between retries. */
  signal?: AbortSignal;
}

export interface WriteOptions extends RequestOptions {
  /** Sent as `Idempotency-Key` (default: a random UUID per call, reused across its retries). */
  idempotencyKey?: string;
}

export interface UpdateOptions extends WriteOptions {
  /** Only change the resource if it is still at this version (`If-Match`); else PreconditionFailedError. */
  ifVersion?: number;
}

export interface DeleteOptions extends RequestOptions {
  ifVersion?: number;
}
