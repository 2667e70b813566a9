/**
 * Errors are classed by the envelope's `code`, for every code of the server's error table (read
 * from the checked-in OpenAPI document), with the HTTP status as the fallback for codes this SDK
 * does not know; and the newest codes arrive typed from the real server.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import {
  Client,
  ConflictError,
  errorFromResponse,
  HeadersTooLargeError,
  KNOWN_ERROR_CODES,
  RateLimitError,
  ServerError,
  TollgateError,
  UriTooLongError,
  ValidationError,
} from "@tollgate/sdk";

import { cleanSdkEnv, TollgateServer } from "./support/tollgate-server.js";

/** The repository's docs/openapi.json: TOLLGATE_OPENAPI (set by run-tests.sh), else from build/test/. */
const OPENAPI = process.env.TOLLGATE_OPENAPI ?? new URL("../../../../docs/openapi.json", import.meta.url);

function envelope(status: number, code: string, headers: Record<string, string> = {}): TollgateError {
  const body = JSON.stringify({ error: { code, message: "m", details: {}, request_id: "req_1" } });
  return errorFromResponse(status, "", new Headers(headers), body);
}

describe("error codes", () => {
  test("every code of the server's table is mapped", () => {
    const doc = JSON.parse(readFileSync(OPENAPI, "utf8"));
    const codes: string[] = doc.components.schemas.ErrorCode.enum;
    assert.ok(codes.length >= 18, String(codes));
    const unmapped = codes.filter((c) => !KNOWN_ERROR_CODES.includes(c));
    assert.deepEqual(unmapped, [], `codes the SDK does not map: ${unmapped}`);
  });

  test("the code decides and the status is the fallback", () => {
    const cases: [number, string, typeof TollgateError][] = [
      [409, "CONFLICT", ConflictError],
      [414, "URI_TOO_LONG", UriTooLongError],
      [431, "HEADERS_TOO_LARGE", HeadersTooLargeError],
      [413, "PAYLOAD_TOO_LARGE", ValidationError],
      [503, "SERVICE_UNAVAILABLE", ServerError],
      [408, "REQUEST_TIMEOUT", TollgateError],
      [409, "SOMETHING_NEWER", ConflictError],
      [418, "SOMETHING_NEWER", TollgateError],
    ];
    for (const [status, code, Class] of cases) {
      const err = envelope(status, code);
      assert.equal(err.constructor, Class, `${status} ${code}: ${err.name}`);
      assert.deepEqual([err.status, err.code], [status, code]);
    }
    const limited = envelope(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "7" });
    assert.ok(limited instanceof RateLimitError && limited.retryAfter === 7);
  });

  test("String(err) shows the code, the message and the request id", () => {
    assert.equal(String(envelope(409, "CONFLICT")), "ConflictError: 409 CONFLICT m (request_id=req_1)");
  });

  describe("from the real server", () => {
    let server: TollgateServer;
    let client: Client;

    before(async () => {
      cleanSdkEnv();
      server = await TollgateServer.start();
      client = new Client({ apiKey: server.adminKey, endpoint: server.url });
    });
    after(() => server?.stop());

    test("rotating a revoked key is a ConflictError", async () => {
      const key = await client.request<{ key: { id: string } }>("POST", "/v1/keys", {
        json: { name: "to revoke", scopes: ["resource:read"] },
      });
      await client.request("DELETE", `/v1/keys/${key.key.id}`);
      await assert.rejects(client.request("POST", `/v1/keys/${key.key.id}/rotate`), (err: unknown) => {
        assert.ok(err instanceof ConflictError);
        assert.deepEqual([err.status, err.code], [409, "CONFLICT"]);
        assert.match(String(err), /^ConflictError: 409 CONFLICT .* \(request_id=req_/);
        return true;
      });
    });

    test("an overlong URI is a UriTooLongError", async () => {
      await assert.rejects(client.listResources({ type: "x".repeat(9000) }), (err: unknown) => {
        assert.ok(err instanceof UriTooLongError && err instanceof ValidationError);
        assert.deepEqual([err.status, err.code], [414, "URI_TOO_LONG"]);
        return true;
      });
    });

    test("oversized headers are a HeadersTooLargeError", async () => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < 10; i++) headers[`x-filler-${i}`] = "y".repeat(4000);
      await assert.rejects(client.request("GET", "/v1/resource", { headers }), (err: unknown) => {
        assert.ok(err instanceof HeadersTooLargeError);
        assert.deepEqual([err.status, err.code], [431, "HEADERS_TOO_LARGE"]);
        return true;
      });
    });
  });
});
