/**
 * TypeScript/JavaScript client for the Tollgate resource API.
 *
 *     import { Client } from "@tollgate/sdk";
 *     const tg = new Client(); // TOLLGATE_API_KEY and TOLLGATE_ENDPOINT from the environment
 *     for await (const resource of tg.iterResources({ type: "machine" })) console.log(resource.id);
 */

export { Client } from "./client.js";
export type { ClientOptions, Logger } from "./config.js";
export { Events, EventStream } from "./events.js";
export type { Event, EventFilters, EventPage, ListEventsParams, StreamEventsParams } from "./events.js";
export {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  ConflictError,
  GoneError,
  errorFromResponse,
  HeadersTooLargeError,
  KNOWN_ERROR_CODES,
  NotFoundError,
  PermissionDeniedError,
  PreconditionFailedError,
  RateLimitError,
  ServerError,
  TollgateError,
  UriTooLongError,
  ValidationError,
} from "./errors.js";
export type { FieldError, TollgateErrorFields } from "./errors.js";
export { batchCreate, batchDelete, batchUpdate, MAX_BATCH_OPERATIONS } from "./operations.js";
export type { RawRequest } from "./operations.js";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.js";
export type {
  AttributeRule,
  BatchItem,
  BatchOperation,
  BatchResult,
  CreateResourceInput,
  CreateTypeInput,
  DeleteOptions,
  IterResourcesParams,
  JsonValue,
  ListResourcesParams,
  PartialResource,
  RequestOptions,
  Resource,
  ResourcePage,
  ResourcePatch,
  ResourceStatus,
  ResourceType,
  SparseListResourcesParams,
  TypeDefinition,
  UpdateOptions,
  WriteOptions,
} from "./types.js";
export { VERSION } from "./version.js";
