/** The resource endpoints as `Call`s: paths, query strings, bodies and headers in one place. */

import { randomUUID } from "node:crypto";

import { parseJson, type Call } from "./http.js";
import { IDEMPOTENCY_HEADER } from "./retry.js";
import type {
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

export function listResources(params: ListResourcesParams = {}, options: RequestOptions = {}): Call<ResourcePage> {
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
  return { method: "GET", path: "/v1/resource", query, parse: parseJson, signal: options.signal };
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
