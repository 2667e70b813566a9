/**
 * The resource-type endpoints (`/v1/types`, admin) as `Call`s: a JSON Schema for a type's `data`
 * and rules for its attributes, checked by the server on every write of a resource of that type.
 */

import { parseJson, type Call } from "./http.js";
import { checkKeys } from "./operations.js";
import type { CreateTypeInput, RequestOptions, ResourceType, TypeDefinition } from "./types.js";

const JSON_HEADERS = { "content-type": "application/json" };
const DEFINITION_KEYS = ["schema", "attributes", "description"] as const;

export function createType(input: CreateTypeInput, options: RequestOptions = {}): Call<ResourceType> {
  checkKeys(input, ["name", ...DEFINITION_KEYS], "createType");
  const { name, schema, attributes, description } = input;
  return {
    method: "POST",
    path: "/v1/types",
    headers: JSON_HEADERS,
    body: JSON.stringify({ name, schema, attributes, description }), // undefined fields are left out
    parse: parseJson,
    signal: options.signal,
  };
}

export function listTypes(options: RequestOptions = {}): Call<ResourceType[]> {
  return { method: "GET", path: "/v1/types", parse: (text) => parseJson<{ items: ResourceType[] }>(text).items, signal: options.signal };
}

export function getType(name: string, options: RequestOptions = {}): Call<ResourceType> {
  return { method: "GET", path: typePath(name), parse: parseJson, signal: options.signal };
}

export function updateType(name: string, definition: TypeDefinition, options: RequestOptions = {}): Call<ResourceType> {
  checkKeys(definition, DEFINITION_KEYS, "updateType");
  const { schema, attributes, description } = definition;
  return {
    method: "PUT",
    path: typePath(name),
    headers: JSON_HEADERS,
    body: JSON.stringify({ schema, attributes, description }),
    parse: parseJson,
    signal: options.signal,
  };
}

export function deleteType(name: string, options: RequestOptions = {}): Call<void> {
  return { method: "DELETE", path: typePath(name), parse: () => undefined, signal: options.signal };
}

function typePath(name: string): string {
  if (!name) throw new TypeError("type name must not be empty");
  return `/v1/types/${encodeURIComponent(name)}`;
}
