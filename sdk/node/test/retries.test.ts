/**
 * Retries against a local fault-injecting server: which requests are retried, how often, how
 * long the client waits, and which error is thrown in the end.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterEach, beforeEach, describe, test } from "node:test";

import {
  APIConnectionError,
  APITimeoutError,
  Client,
  type ClientOptions,
  RateLimitError,
  ServerError,
  VERSION,
  ValidationError,
} from "@tollgate/sdk";

import { drop, error, FaultServer, ok, RES, resourceBody } from "./support/fault-server.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("retries", () => {
  let fault: FaultServer;

  beforeEach(async () => {
    fault = await FaultServer.start();
  });
  afterEach(() => fault.close());

  /** Tiny backoff so tests measure Retry-After, not jitter. */
  const fastClient = (options: ClientOptions = {}) =>
    new Client({ apiKey: "tgk_test", endpoint: fault.url, backoffBase: 10, backoffCap: 50, ...options });

  test("429 waits at least Retry-After", async () => {
    fault.script = [error(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "1" }, { retry_after: 1 }), ok()];
    assert.equal((await fastClient().getResource(RES)).id, RES);
    const [first, second] = fault.apiRequests();
    const waited = second!.at - first!.at;
    assert.ok(waited >= 1000 && waited < 3000, `waited ${waited} ms`);
  });

  test("Retry-After as an HTTP date is honoured", async () => {
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString(); // whole seconds: waits 1-2 s
    fault.script = [error(429, "RATE_LIMIT_EXCEEDED", { "retry-after": inTwoSeconds }), ok()];
    await fastClient().getResource(RES);
    const [first, second] = fault.apiRequests();
    assert.ok(second!.at - first!.at >= 900, `waited ${second!.at - first!.at} ms`);
  });

  test("503 then 200 is retried", async () => {
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), ok()];
    assert.equal((await fastClient().getResource(RES)).version, 1);
    assert.equal(fault.apiRequests().length, 2);
  });

  for (const status of [500, 502, 504]) {
    test(`${status} is retried`, async () => {
      fault.script = [{ status, body: { oops: true } }, ok()];
      await fastClient().getResource(RES);
      assert.equal(fault.apiRequests().length, 2);
    });
  }

  test("a dropped connection then 200 is retried", async () => {
    fault.script = [drop(), ok()];
    assert.equal((await fastClient().getResource(RES)).id, RES);
    assert.equal(fault.apiRequests().length, 2);
  });

  test("POST retries reuse one Idempotency-Key; each call gets its own", async () => {
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), drop(), { status: 201, body: resourceBody() }];
    const client = fastClient();
    await client.createResource({ name: "x", type: "machine" });
    await client.createResource({ name: "y", type: "machine" });
    const requests = fault.apiRequests();
    assert.deepEqual(requests.map((r) => r.method), ["POST", "POST", "POST", "POST"]);
    const keys = requests.map((r) => r.headers["idempotency-key"]);
    assert.match(keys[0]!, UUID_V4);
    assert.deepEqual([keys[1], keys[2]], [keys[0], keys[0]]);
    assert.notEqual(keys[3], keys[0]);
    assert.deepEqual(JSON.parse(requests[0]!.body), { name: "x", type: "machine" });
  });

  test("a caller-supplied Idempotency-Key is sent", async () => {
    await fastClient().createResource({ name: "x", type: "machine" }, { idempotencyKey: "order-42" });
    assert.equal(fault.apiRequests()[0]!.headers["idempotency-key"], "order-42");
  });

  test("PATCH carries a key and If-Match, and is retried", async () => {
    fault.script = [error(502, "BAD_GATEWAY"), ok()];
    await fastClient().updateResource(RES, { name: "new" }, { ifVersion: 3 });
    const [first, second] = fault.apiRequests();
    assert.equal(first!.method, "PATCH");
    assert.equal(first!.headers["if-match"], '"3"');
    assert.equal(first!.headers["content-type"], "application/merge-patch+json");
    assert.equal(first!.headers["idempotency-key"], second!.headers["idempotency-key"]);
  });

  test("POST or PATCH without an Idempotency-Key (request()) is not retried", async () => {
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), drop()];
    const client = fastClient();
    await assert.rejects(client.request("PATCH", `/v1/resource/${RES}`, { json: { name: "x" } }), ServerError);
    await assert.rejects(client.request("POST", "/v1/resource", { json: { name: "x", type: "t" } }), APIConnectionError);
    assert.equal(fault.apiRequests().length, 2);
    assert.equal(fault.apiRequests()[0]!.headers["idempotency-key"], undefined);
  });

  test("maxRetries is honoured and the last error thrown", async () => {
    fault.script = Array.from({ length: 5 }, () => error(503, "SERVICE_UNAVAILABLE"));
    await assert.rejects(fastClient({ maxRetries: 2 }).getResource(RES), (err: unknown) => {
      assert.ok(err instanceof ServerError);
      assert.deepEqual([err.status, err.code], [503, "SERVICE_UNAVAILABLE"]);
      return true;
    });
    assert.equal(fault.apiRequests().length, 3);
  });

  test("exhausted 429s throw RateLimitError (retryAfter from details without a header)", async () => {
    fault.script = Array.from({ length: 3 }, () => error(429, "RATE_LIMIT_EXCEEDED", {}, { retry_after: 0 }));
    await assert.rejects(fastClient({ maxRetries: 1 }).getResource(RES), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.equal(err.retryAfter, 0);
      return true;
    });
    assert.equal(fault.apiRequests().length, 2);
  });

  test("exhausted drops throw APIConnectionError", async () => {
    fault.script = [drop(), drop(), drop()];
    await assert.rejects(fastClient({ maxRetries: 2 }).deleteResource(RES), APIConnectionError);
    assert.equal(fault.apiRequests().length, 3);
  });

  test("maxRetries 0 sends once", async () => {
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), ok()];
    await assert.rejects(fastClient({ maxRetries: 0 }).getResource(RES), ServerError);
    assert.equal(fault.apiRequests().length, 1);
  });

  test("a Retry-After longer than maxRetryWait is thrown at once", async () => {
    fault.script = [error(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "120" })];
    await assert.rejects(fastClient({ maxRetryWait: 10_000 }).getResource(RES), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.equal(err.retryAfter, 120);
      return true;
    });
    assert.equal(fault.apiRequests().length, 1);
  });

  test("client errors are not retried", async () => {
    fault.script = [error(400, "VALIDATION_FAILED", {}, { name: "must be 1-200 characters" })];
    await assert.rejects(fastClient().createResource({ name: "", type: "machine" }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.details, { name: "must be 1-200 characters" });
      return true;
    });
    assert.equal(fault.apiRequests().length, 1);
  });

  test("a timeout is retried, then thrown as APITimeoutError", async () => {
    fault.script = [{ ...ok(), delay: 1000 }, ok()];
    assert.equal((await fastClient({ timeout: 300 }).getResource(RES)).id, RES);
    fault.script = [{ ...ok(), delay: 1000 }, { ...ok(), delay: 1000 }];
    await assert.rejects(fastClient({ timeout: 300, maxRetries: 1 }).getResource(RES), APITimeoutError);
  });

  test("a caller's abort signal stops the call without retrying", async () => {
    fault.script = [{ ...ok(), delay: 1000 }];
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("user gave up")), 100);
    await assert.rejects(fastClient().getResource(RES, { signal: controller.signal }), /user gave up/);
    assert.equal(fault.apiRequests().length, 1);
  });

  test("a non-JSON error page is still typed", async () => {
    fault.script = [{ status: 502, headers: { "x-request-id": "req_proxy" } }];
    await assert.rejects(fastClient({ maxRetries: 0 }).getResource(RES), (err: unknown) => {
      assert.ok(err instanceof ServerError);
      assert.deepEqual([err.status, err.code, err.requestId], [502, "HTTP_502", "req_proxy"]);
      return true;
    });
  });

  test("User-Agent and API key header; VERSION matches package.json", async () => {
    await fastClient().getResource(RES);
    const sent = fault.apiRequests()[0]!.headers;
    assert.equal(sent["user-agent"], `tollgate-node/${VERSION}`);
    assert.equal(sent["x-api-key"], "tgk_test");
    // The package.json of whichever @tollgate/sdk the tests import (the checkout or the installed tarball).
    const pkg = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@tollgate/sdk/package.json"), "utf8")) as { version: string };
    assert.equal(VERSION, pkg.version);
  });
});
