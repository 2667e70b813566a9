/** The client: resource methods over a retrying, authenticating transport. */

import { ApiKeyAuth, OAuthAuth } from "./auth.js";
import { resolveSettings, type ClientOptions, type Settings } from "./config.js";
import { Events } from "./events.js";
import { Transport } from "./http.js";
import * as ops from "./operations.js";
import * as typeOps from "./resource-types.js";
import type {
  BatchOperation,
  BatchResult,
  CreateResourceInput,
  CreateTypeInput,
  DeleteOptions,
  IterResourcesParams,
  ListResourcesParams,
  PartialResource,
  RequestOptions,
  Resource,
  ResourcePage,
  SparseListResourcesParams,
  ResourcePatch,
  ResourceType,
  TypeDefinition,
  UpdateOptions,
  WriteOptions,
} from "./types.js";

/**
 * A Tollgate API client. Reuse one per process: it holds the OAuth token and fetch pools
 * connections.
 *
 * Credentials: `apiKey`, or `clientId` + `clientSecret` (OAuth 2.0 client credentials); when
 * none are given, `TOLLGATE_API_KEY` (or `TOLLGATE_CLIENT_ID` + `TOLLGATE_CLIENT_SECRET`) from
 * the environment. `endpoint` defaults to `TOLLGATE_ENDPOINT`, then http://127.0.0.1:8080.
 */
export class Client {
  readonly endpoint: string;
  private readonly settings: Settings;
  private readonly transport: Transport;
  /** The events API and the live stream: `client.events.list()`, `.iter()`, `.get()`, `.stream()`. */
  readonly events: Events;

  constructor(options: ClientOptions = {}) {
    this.settings = resolveSettings(options);
    this.endpoint = this.settings.endpoint;
    const credentials = this.settings.credentials;
    this.transport = new Transport(this.settings, (transport) =>
      credentials.kind === "oauth"
        ? new OAuthAuth(credentials, (call) => transport.send(call))
        : new ApiKeyAuth(credentials.apiKey),
    );
    this.events = new Events(this.transport, this.settings.retry);
  }

  /** Whether this client authenticates with OAuth client credentials (rather than an API key). */
  get usesOAuth(): boolean {
    return this.settings.credentials.kind === "oauth";
  }

  getResource(id: string, options?: RequestOptions): Promise<Resource> {
    return this.transport.send(ops.getResource(id, options));
  }

  /**
   * Creates a resource. A random Idempotency-Key is sent (or `options.idempotencyKey`) so a
   * retry after a lost response cannot create it twice.
   */
  createResource(input: CreateResourceInput, options?: WriteOptions): Promise<Resource> {
    return this.transport.send(ops.createResource(input, options));
  }

  /**
   * Changes the given fields (JSON Merge Patch). With `ifVersion`, rejects with
   * PreconditionFailedError if the resource is no longer at that version.
   */
  updateResource(id: string, patch: ResourcePatch, options?: UpdateOptions): Promise<Resource> {
    return this.transport.send(ops.updateResource(id, patch, options));
  }

  deleteResource(id: string, options?: DeleteOptions): Promise<void> {
    return this.transport.send(ops.deleteResource(id, options));
  }

  /**
   * One page, by number (`page`) or by cursor (`cursor: ""` for the first page), filtered,
   * sorted (`sort`), bounded in time (`createdAfter`...), with only some `fields` (the items
   * are then partial) and the `total` count when `includeTotal` is set.
   */
  listResources(params: SparseListResourcesParams, options?: RequestOptions): Promise<ResourcePage<PartialResource>>;
  listResources(params?: ListResourcesParams, options?: RequestOptions): Promise<ResourcePage>;
  listResources(params?: ListResourcesParams, options?: RequestOptions): Promise<ResourcePage<unknown>> {
    return this.transport.send(ops.listResources(params, options));
  }

  /**
   * Applies 1 to 100 operations (`batchCreate`, `batchUpdate`, `batchDelete`) in one
   * transaction: all of them, answered in order, or none, rejecting with the failing
   * operation's error and its position in `err.operationIndex`. Each counts as one write.
   */
  batch(operations: BatchOperation[], options?: WriteOptions): Promise<BatchResult> {
    return this.transport.send(ops.batch(operations, options));
  }

  /**
   * Every matching resource, oldest first unless `sort` says otherwise, fetched page by page by cursor (stable while
   * resources are added, unlike page numbers): `for await (const r of client.iterResources())`. Search results by
   * relevance (`q` without `sort`) have no cursor and are fetched by page number.
   */
  iterResources(params: IterResourcesParams & { fields: string | string[] }, options?: RequestOptions): AsyncGenerator<PartialResource, void, undefined>;
  iterResources(params?: IterResourcesParams, options?: RequestOptions): AsyncGenerator<Resource, void, undefined>;
  async *iterResources(params: IterResourcesParams = {}, options?: RequestOptions): AsyncGenerator<unknown, void, undefined> {
    ops.checkKeys(params, ops.ITER_KEYS, "iterResources");
    const byNumber = params.q !== undefined && params.sort === undefined;
    let position: { page?: number; cursor?: string } | undefined = byNumber ? { page: 1 } : { cursor: "" };
    while (position) {
      const page: ResourcePage<unknown> = await this.listResources({ perPage: 100, ...params, ...position }, options);
      yield* page.items;
      // A page by number carries a `next_cursor` too, which search by relevance refuses.
      if (position.page !== undefined) position = page.has_next ? { page: position.page + 1 } : undefined;
      else position = page.next_cursor ? { cursor: page.next_cursor } : undefined;
    }
  }

  /**
   * Registers a resource type (admin, version 1): a JSON Schema (2020-12) for `data` and rules
   * per attribute (`{ region: { required: true, enum: ["eu", "us"] } }`). Every later write of a
   * resource of the type is checked against it; one that breaks it rejects with a
   * ValidationError listing every violation in `err.errors`. ConflictError if the name is taken.
   */
  createType(input: CreateTypeInput, options?: RequestOptions): Promise<ResourceType> {
    return this.transport.send(typeOps.createType(input, options));
  }

  /** The project's registered types, by name (admin). */
  listTypes(options?: RequestOptions): Promise<ResourceType[]> {
    return this.transport.send(typeOps.listTypes(options));
  }

  getType(name: string, options?: RequestOptions): Promise<ResourceType> {
    return this.transport.send(typeOps.getType(name, options));
  }

  /**
   * Replaces a type's definition (what is left out is reset: any data, no rules, no description)
   * and raises its version by one; stored resources are checked at their next write.
   */
  updateType(name: string, definition: TypeDefinition, options?: RequestOptions): Promise<ResourceType> {
    return this.transport.send(typeOps.updateType(name, definition, options));
  }

  /** Removes a type; rejects with ConflictError while resources of the type exist. */
  deleteType(name: string, options?: RequestOptions): Promise<void> {
    return this.transport.send(typeOps.deleteType(name, options));
  }

  /**
   * Calls any endpoint (e.g. `/v1/usage`) with this client's auth and retries; resolves to the
   * decoded JSON body (undefined when empty).
   */
  request<T = unknown>(method: string, path: string, request?: ops.RawRequest): Promise<T> {
    return this.transport.send(ops.raw<T>(method, path, request));
  }
}
