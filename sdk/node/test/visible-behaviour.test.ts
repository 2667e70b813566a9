/**
 * What a user sees: the logger hook, endpoints given with /v1, errors that name the URL and
 * the bad fields, unknown options refused, deprecation warnings once.
 */

import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";

import { APIConnectionError, Client, ValidationError, type Logger } from "@tollgate/sdk";

import { error, FaultServer, ok, RES, resourceBody } from "./support/fault-server.js";
import { cleanSdkEnv, TollgateServer } from "./support/tollgate-server.js";

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(`debug ${m}`), warn: (m) => lines.push(`warn ${m}`) };
}

describe("against the real server", () => {
  let server: TollgateServer;
  before(async () => {
    cleanSdkEnv();
    server = await TollgateServer.start();
  });
  after(() => server?.stop());

  test("every response is logged at debug, without the key", async () => {
    const logger = recorder();
    await new Client({ apiKey: server.adminKey, endpoint: server.url, logger }).listResources({ perPage: 1 });
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0]!, /^debug GET \/v1\/resource -> 200 \(request_id=req_\w+, [\d.]+ ms\)$/);
    assert.ok(!logger.lines.join("").includes(server.adminKey));
  });

  test("an endpoint ending in /v1 works; one without a scheme is refused", async () => {
    const client = new Client({ apiKey: server.adminKey, endpoint: `${server.url}/v1/` });
    assert.equal(client.endpoint, server.url);
    assert.equal((await client.listResources({ perPage: 1 })).per_page, 1);
    assert.throws(() => new Client({ apiKey: "tgk_x", endpoint: "127.0.0.1:8080" }), /http:\/\/ or https:\/\//);
  });

  test("a validation error's string names the fields", async () => {
    const client = new Client({ apiKey: server.adminKey, endpoint: server.url });
    await assert.rejects(client.createResource({ name: "", type: "Not A Type" }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.match(String(err), /^ValidationError: 400 VALIDATION_FAILED Validation failed: .*name: .*type: .*\(request_id=req_/);
      return true;
    });
  });

  test("the server's Deprecation is warned about once per endpoint, with its Sunset and changelog link", async () => {
    const logger = recorder();
    const client = new Client({ apiKey: server.adminKey, endpoint: server.url, logger });
    for (let i = 0; i < 3; i++) await client.request("POST", "/v1/keys", { json: { name: "legacy", scopes: "resource:read" } });
    const warnings = logger.lines.filter((l) => l.startsWith("warn"));
    assert.deepEqual(warnings, [
      'warn POST /v1/keys is deprecated (Deprecation: @1796083200; Sunset: Wed, 30 Jun 2027 23:59:59 GMT; see </CHANGELOG.md#deprecation-scopes-string>; rel="deprecation"; type="text/markdown")',
    ]);
    assert.equal(logger.lines.filter((l) => l.startsWith("debug POST /v1/keys -> 201")).length, 3);
  });

  test("an unknown client option is refused", () => {
    assert.throws(() => new Client({ apiKey: "tgk_x", max_retries: 2 } as never), /Client: unknown option "max_retries"; did you mean maxRetries\?/);
  });
});

describe("against a fault server", () => {
  let fault: FaultServer;
  beforeEach(async () => {
    fault = await FaultServer.start();
  });
  afterEach(() => fault.close());

  test("each retry is a warning with its reason and wait", async () => {
    fault.script = [error(503, "SERVICE_UNAVAILABLE"), ok()];
    const logger = recorder();
    await new Client({ apiKey: "tgk_test", endpoint: fault.url, backoffBase: 10, backoffCap: 10, logger }).getResource(RES);
    const warnings = logger.lines.filter((l) => l.startsWith("warn"));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`^warn GET /v1/resource/${RES}: retry 1 in 0\\.0\\d s after ServerError: 503 SERVICE_UNAVAILABLE`));
  });

  test("deprecation headers warn once per endpoint", async () => {
    const headers = { deprecation: "@1767225599", sunset: "Wed, 30 Jun 2027 23:59:59 GMT", link: '<https://example.test/changelog>; rel="deprecation"' };
    fault.script = [1, 2, 3].map(() => ({ status: 200, body: resourceBody(), headers }));
    const logger = recorder();
    const client = new Client({ apiKey: "tgk_test", endpoint: fault.url, logger });
    for (let i = 0; i < 3; i++) await client.getResource("res_deprecated_once");
    const warnings = logger.lines.filter((l) => l.startsWith("warn"));
    assert.deepEqual(warnings, [
      'warn GET /v1/resource/res_deprecated_once is deprecated (Deprecation: @1767225599; Sunset: Wed, 30 Jun 2027 23:59:59 GMT; see <https://example.test/changelog>; rel="deprecation")',
    ]);
  });
});

test("a refused connection names the URL", async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const client = new Client({ apiKey: "tgk_x", endpoint: `http://127.0.0.1:${port}`, maxRetries: 0 });
  await assert.rejects(client.listResources(), (err: unknown) => {
    assert.ok(err instanceof APIConnectionError);
    assert.match(err.message, new RegExp(`^connection failed \\(GET http://127\\.0\\.0\\.1:${port}/v1/resource\\): ECONNREFUSED`));
    return true;
  });
});
