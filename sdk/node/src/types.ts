/**
 * The API's JSON shapes. Naming: what the API returns keeps the wire names (snake_case:
 * `created_at`, `next_cursor`), so a document reads the same as in the API reference, the OpenAPI
 * document, the other SDKs and a webhook payload, and can be stored or forwarded as is; what you
 * pass to a method (options, parameters) is camelCase, as JavaScript APIs are. A snake_case
 * option (`per_page`) is refused with the camelCase name to use instead, never ignored.
 */

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

/** A resource listed with `fields`: its `id` and only the fields asked for. */
export type PartialResource = Partial<Resource> & { id: string };

/**
 * One page of a listing. `page` is null when paging by cursor; `next_cursor` is null on the last
 * page; `total` is there only when asked for (`includeTotal: true`).
 */
export interface ResourcePage<T = Resource> {
  items: T[];
  page: number | null;
  per_page: number;
  has_next: boolean;
  next_cursor: string | null;
  total?: number;
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
  /**
   * Order: keys among `created_at`, `updated_at`, `name`, `type`, `status`, `attributes.KEY`,
   * each with `-` for descending (an array, or one comma-separated string). Cursors follow any sort.
   */
  sort?: string | string[];
  /** Time ranges: a Date or an RFC 3339 string. */
  createdAfter?: Date | string;
  createdBefore?: Date | string;
  updatedAfter?: Date | string;
  updatedBefore?: Date | string;
  /** Sparse fieldsets (`["name", "attributes.region", "data.cpus"]`): items hold `id` and these only. */
  fields?: string | string[];
  /** Also count the matching resources (`page.total`; costs a scan). */
  includeTotal?: boolean;
  /**
   * Full-text search over name, attribute values and the strings in `data`: words and
   * `"quoted phrases"`, all required, stemmed; at most 500 characters, none of them syntax.
   * Results come by relevance (paged by `page`), or in the `sort` given (then cursors work too).
   */
  q?: string;
}

/** List parameters with `fields`: the page's items are partial. */
export type SparseListResourcesParams = ListResourcesParams & { fields: string | string[] };

export type IterResourcesParams = Omit<ListResourcesParams, "page" | "cursor" | "includeTotal">;

/**
 * One operation of a batch, in the API's form; build them with `batchCreate`, `batchUpdate` and
 * `batchDelete`.
 */
export type BatchOperation =
  | { op: "create"; body: CreateResourceInput }
  | { op: "update"; id: string; if_match?: number; body: ResourcePatch }
  | { op: "delete"; id: string; if_match?: number };

/** What one operation did: the status its single form answers with, and the resource or id. */
export type BatchItem =
  | { op: "create"; status: 201; resource: Resource }
  | { op: "update"; status: 200; resource: Resource }
  | { op: "delete"; status: 204; id: string };

/** Every operation applied; `results[i]` is operation `i`. */
export interface BatchResult {
  results: BatchItem[];
}

/** What an attribute of a registered type must be (the API's form). */
export interface AttributeRule {
  /** Every resource of the type has the attribute. */
  required: boolean;
  /** The attribute's value, when present, is one of these. */
  enum?: string[];
}

/**
 * A registered resource type: the JSON Schema (2020-12) every resource's `data` must match
 * (`true` when none was given), the rule per attribute key, and `version`, 1 at registration and
 * one more with each `updateType`.
 */
export interface ResourceType {
  name: string;
  version: number;
  schema: JsonValue;
  attributes: Record<string, AttributeRule>;
  /** "" when none was given. */
  description: string;
  /** RFC 3339, UTC. */
  created_at: string;
  /** RFC 3339, UTC: when the definition last changed. */
  updated_at: string;
}

/**
 * A type's definition, as `createType` registers it and `updateType` replaces it: what is left
 * out is reset (any `data`, no attribute rules, no description).
 */
export interface TypeDefinition {
  /** A JSON Schema (2020-12) for `data`: at most 64 KiB, references only inside itself. */
  schema?: JsonValue;
  /** Rules per attribute key; `required` defaults to false. */
  attributes?: Record<string, { required?: boolean; enum?: string[] }>;
  /** What the type is for (at most 1000 characters). */
  description?: string;
}

/** What `createType` takes: the type's name and its definition. */
export interface CreateTypeInput extends TypeDefinition {
  /** The `type` its resources carry: a lower-case identifier. */
  name: string;
}

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
