/** Typed errors for the server's real failures, and credentials from the environment. */

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";

import {
  AuthenticationError,
  Client,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  TollgateError,
  ValidationError,
} from "@tollgate/sdk";

import { cleanSdkEnv, TollgateServer, uniqueKind } from "./support/tollgate-server.js";

describe("errors", () => {
  let server: TollgateServer;
  let client: Client;

  before(async () => {
    cleanSdkEnv();
    server = await TollgateServer.start();
    client = new Client({ apiKey: server.adminKey, endpoint: server.url });
  });
  after(() => server?.stop());
  afterEach(cleanSdkEnv);

  test("a bad key is an AuthenticationError", async () => {
    const bad = new Client({ apiKey: "tgk_not_a_real_key", endpoint: server.url });
    await assert.rejects(bad.listResources(), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError && err instanceof TollgateError && err instanceof Error);
      assert.equal(err.name, "AuthenticationError");
      assert.equal(err.status, 401);
      assert.equal(err.code, "AUTHENTICATION_FAILED");
      assert.match(err.requestId ?? "", /^req_/);
      return true;
    });
  });

  test("a read-only key cannot create: PermissionDeniedError", async () => {
    const kind = uniqueKind();
    const readOnly = new Client({ apiKey: await server.createKey(["resource:read"]), endpoint: server.url });
    assert.deepEqual((await readOnly.listResources({ type: kind })).items, []);
    await assert.rejects(readOnly.createResource({ name: "x", type: kind }), (err: unknown) => {
      assert.ok(err instanceof PermissionDeniedError);
      assert.equal(err.status, 403);
      assert.equal(err.code, "PERMISSION_DENIED");
      assert.deepEqual(err.details, { required_scope: "resource:write" });
      return true;
    });
  });

  test("a missing resource is a NotFoundError", async () => {
    await assert.rejects(client.getResource("res_01JD3Z0000000000000000000"), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.deepEqual([err.status, err.code], [404, "NOT_FOUND"]);
      assert.match(err.requestId ?? "", /^req_/);
      return true;
    });
  });

  test("an invalid resource is a ValidationError with details", async () => {
    await assert.rejects(client.createResource({ name: "", type: "Not A Type" }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual([err.status, err.code], [400, "VALIDATION_FAILED"]);
      assert.ok("name" in err.details && "type" in err.details);
      return true;
    });
  });

  test("an unknown list filter is a ValidationError", async () => {
    await assert.rejects(client.request("GET", "/v1/resource", { query: { colour: "red" } }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.details, { colour: "unknown query parameter" });
      return true;
    });
  });

  test("a RateLimitError carries retryAfter", async () => {
    const kind = uniqueKind();
    const apiKey = await server.createKey(["resource:read", "resource:write"], { write: "1/1m" });
    // The server asks for ~60 s; over maxRetryWait the SDK throws at once instead of sleeping.
    const limited = new Client({ apiKey, endpoint: server.url, maxRetryWait: 5_000 });
    await limited.createResource({ name: "first", type: kind });
    const started = performance.now();
    await assert.rejects(limited.createResource({ name: "second", type: kind }), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.deepEqual([err.status, err.code], [429, "RATE_LIMIT_EXCEEDED"]);
      assert.ok(err.retryAfter !== undefined && err.retryAfter > 0 && err.retryAfter <= 60, `retryAfter ${err.retryAfter}`);
      assert.notEqual(err.details.retry_after, undefined);
      return true;
    });
    assert.ok(performance.now() - started < 5_000);
  });

  test("credentials and endpoint come from the environment", async () => {
    const kind = uniqueKind();
    process.env.TOLLGATE_API_KEY = server.adminKey;
    process.env.TOLLGATE_ENDPOINT = `${server.url}/`;
    const fromEnv = new Client();
    assert.equal(fromEnv.endpoint, server.url);
    assert.equal((await fromEnv.createResource({ name: "from env", type: kind })).name, "from env");
  });

  test("options override the environment", async () => {
    process.env.TOLLGATE_API_KEY = "tgk_wrong";
    process.env.TOLLGATE_ENDPOINT = "http://127.0.0.1:9";
    const explicit = new Client({ apiKey: server.adminKey, endpoint: server.url });
    assert.equal((await explicit.listResources({ perPage: 1 })).per_page, 1);
  });

  test("no credentials is a clear error at construction", () => {
    assert.throws(() => new Client({ endpoint: "http://127.0.0.1:9" }), /TOLLGATE_API_KEY/);
  });

  test("an API key and an OAuth client together are refused", () => {
    assert.throws(() => new Client({ apiKey: "tgk_x", clientId: "tgc_x", clientSecret: "tgs_x" }), /not both/);
  });
});
