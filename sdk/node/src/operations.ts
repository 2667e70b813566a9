/** The resource endpoints as `Call`s: paths, query strings, bodies and headers in one place. */

import { randomUUID } from "node:crypto";

import { parseJson, type Call } from "./http.js";
import { IDEMPOTENCY_HEADER } from "./retry.js";
import type {
  BatchOperation,
  BatchResult,
  CreateResourceInput,
  DeleteOptions,
  ListResourcesParams,
  RequestOptions,
  Resource,
  ResourcePage,
  ResourcePatch,
  UpdateOptions,
  WriteOptions,
} from "./types.js";

const JSON_TYPE = "application/json";
const MERGE_PATCH_TYPE = "application/merge-patch+json";

export function getResource(id: string, options: RequestOptions = {}): Call<Resource> {
  return { method: "GET", path: resourcePath(id), parse: parseJson, signal: options.signal };
}

export function createResource(input: CreateResourceInput, options: WriteOptions = {}): Call<Resource> {
  const { name, type, status, attributes, data } = input;
  return {
    method: "POST",
    path: "/v1/resource",
    headers: { "content-type": JSON_TYPE, [IDEMPOTENCY_HEADER]: options.idempotencyKey ?? randomUUID() },
    body: JSON.stringify({ name, type, status, attributes, data }), // undefined fields are left out
    parse: parseJson,
    signal: options.signal,
  };
}

export function updateResource(id: string, patch: ResourcePatch, options: UpdateOptions = {}): Call<Resource> {
  return {
    method: "PATCH",
    path: resourcePath(id),
    headers: {
      "content-type": MERGE_PATCH_TYPE,
      [IDEMPOTENCY_HEADER]: options.idempotencyKey ?? randomUUID(),
      ...ifMatch(options.ifVersion),
    },
    body: JSON.stringify(patch),
    parse: parseJson,
    signal: options.signal,
  };
}

export function deleteResource(id: string, options: DeleteOptions = {}): Call<void> {
  return { method: "DELETE", path: resourcePath(id), headers: ifMatch(options.ifVersion), parse: () => undefined, signal: options.signal };
}

/** Every option `listResources` knows: anything else is refused, not ignored. */
const LIST_KEYS = [
  "page", "perPage", "type", "status", "attributes", "cursor", "sort",
  "createdAfter", "createdBefore", "updatedAfter", "updatedBefore", "fields", "includeTotal", "q",
] as const;

/** What `iterResources` takes: the list options without the paging it does itself. */
export const ITER_KEYS: readonly string[] = LIST_KEYS.filter((k) => k !== "page" && k !== "cursor" && k !== "includeTotal");

export function listResources(params: ListResourcesParams = {}, options: RequestOptions = {}): Call<ResourcePage<unknown>> {
  checkKeys(params, LIST_KEYS, "listResources");
  const query: Array<[string, string]> = [];
  const scalars: Array<[string, string | number | undefined]> = [
    ["page", params.page],
    ["per_page", params.perPage],
    ["type", params.type],
    ["status", params.status],
  ];
  for (const [key, value] of scalars) if (value !== undefined) query.push([key, String(value)]);
  for (const [key, value] of Object.entries(params.attributes ?? {})) query.push([`attributes[${key}]`, value]);
  if (params.cursor !== undefined) query.push(["cursor", params.cursor]); // "" asks for the first cursor page
  if (params.sort !== undefined) query.push(["sort", commaList("sort", params.sort)]);
  const ranges: Array<[string, Date | string | undefined]> = [
    ["created_after", params.createdAfter],
    ["created_before", params.createdBefore],
    ["updated_after", params.updatedAfter],
    ["updated_before", params.updatedBefore],
  ];
  for (const [key, value] of ranges) if (value !== undefined) query.push([key, rfc3339(key, value)]);
  if (params.fields !== undefined) query.push(["fields", commaList("fields", params.fields)]);
  if (params.includeTotal) query.push(["include_total", "true"]);
  if (params.q !== undefined) query.push(["q", params.q]);
  return { method: "GET", path: "/v1/resource", query, parse: parseJson, signal: options.signal };
}

/** The most operations one batch holds. */
export const MAX_BATCH_OPERATIONS = 100;

/** `POST /v1/batch`, with an Idempotency-Key (random unless given) so a retry is a replay. */
export function batch(operations: BatchOperation[], options: WriteOptions = {}): Call<BatchResult> {
  if (!Array.isArray(operations) || operations.length < 1 || operations.length > MAX_BATCH_OPERATIONS) {
    throw new RangeError(`a batch holds 1 to ${MAX_BATCH_OPERATIONS} operations`);
  }
  return {
    method: "POST",
    path: "/v1/batch",
    headers: { "content-type": JSON_TYPE, [IDEMPOTENCY_HEADER]: options.idempotencyKey ?? randomUUID() },
    body: JSON.stringify({ operations }),
    parse: parseJson,
    signal: options.signal,
  };
}

/** A batch operation creating a resource (what `createResource` takes). */
export function batchCreate(input: CreateResourceInput): BatchOperation {
  const { name, type, status, attributes, data } = input;
  return { op: "create", body: { name, type, status, attributes, data } };
}

/** A batch operation merge-patching resource `id`, only at version `ifVersion` when given. */
export function batchUpdate(id: string, patch: ResourcePatch, options: { ifVersion?: number } = {}): BatchOperation {
  checkKeys(options, ["ifVersion"], "batchUpdate");
  return { op: "update", id, ...version(options.ifVersion), body: patch };
}

/** A batch operation deleting resource `id`, only at version `ifVersion` when given. */
export function batchDelete(id: string, options: { ifVersion?: number } = {}): BatchOperation {
  checkKeys(options, ["ifVersion"], "batchDelete");
  return { op: "delete", id, ...version(options.ifVersion) };
}

function version(ifVersion: number | undefined): { if_match?: number } {
  if (ifVersion === undefined) return {};
  if (!Number.isInteger(ifVersion)) throw new TypeError("ifVersion must be a whole number");
  return { if_match: ifVersion };
}

export function commaList(name: string, value: string | string[]): string {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0 || !items.every((i) => typeof i === "string" && i !== "")) {
    throw new TypeError(`${name} must be a non-empty string or an array of non-empty strings`);
  }
  return items.join(",");
}

export function rfc3339(name: string, value: Date | string): string {
  if (typeof value === "string") return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  throw new TypeError(`${name} must be a valid Date or an RFC 3339 string`);
}

/**
 * Refuses keys a method does not know, so a typo or a snake_case name (`per_page`) fails loudly
 * instead of being silently ignored; a snake_case key gets its camelCase name as a hint.
 */
export function checkKeys(given: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== key && known.includes(camel) ? `; did you mean ${camel}?` : `; known: ${known.join(", ")}`;
    throw new TypeError(`${where}: unknown option ${JSON.stringify(key)}${hint}`);
  }
}

export interface RawRequest extends RequestOptions {
  query?: Record<string, string>;
  /** Sent as JSON when given. */
  json?: unknown;
  headers?: Record<string, string>;
}

/**
 * Any endpoint, sent exactly as given: no Idempotency-Key is added, so a POST or PATCH is
 * retried only if the caller passes one in `headers`.
 */
export function raw<T>(method: string, path: string, request: RawRequest = {}): Call<T> {
  const headers = { ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined) {
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = JSON_TYPE;
    body = JSON.stringify(request.json);
  }
  return {
    method: method.toUpperCase(),
    path,
    query: Object.entries(request.query ?? {}),
    headers,
    body,
    parse: parseJson,
    signal: request.signal,
  };
}

function resourcePath(id: string): string {
  if (!id) throw new TypeError("resource id must not be empty");
  return `/v1/resource/${encodeURIComponent(id)}`;
}

function ifMatch(version: number | undefined): Record<string, string> {
  if (version === undefined) return {};
  if (!Number.isInteger(version)) throw new TypeError("ifVersion must be a whole number");
  return { "if-match": `"${version}"` };
}
