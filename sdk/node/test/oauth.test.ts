/**
 * OAuth client credentials against the local fault server: lazy token fetch, HTTP Basic client
 * authentication, renewal before expiry, one renewal on a 401, and token endpoint failures.
 */

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, test } from "node:test";

import { AuthenticationError, Client, type ClientOptions } from "@tollgate/sdk";

import { basicCredentials, error, FaultServer, RES } from "./support/fault-server.js";
import { cleanSdkEnv } from "./support/tollgate-server.js";

describe("oauth", () => {
  let fault: FaultServer;

  beforeEach(async () => {
    cleanSdkEnv();
    fault = await FaultServer.start();
  });
  afterEach(async () => {
    cleanSdkEnv();
    await fault.close();
  });

  const oauthClient = (options: ClientOptions = {}) =>
    new Client({ clientId: "tgc_id+1", clientSecret: "tgs_s/cret", endpoint: fault.url, backoffBase: 10, ...options });
  const bearers = () => fault.apiRequests().map((r) => r.headers.authorization);

  test("the token is fetched lazily with Basic auth, then reused", async () => {
    const client = oauthClient({ scope: "resource:read" });
    assert.ok(client.usesOAuth);
    assert.deepEqual(fault.requests, []);
    await Promise.all([client.getResource(RES), client.getResource(RES)]); // concurrent calls share one token request
    await client.getResource(RES);
    const tokenRequests = fault.tokenRequests();
    assert.equal(tokenRequests.length, 1);
    assert.equal(tokenRequests[0]!.headers["content-type"], "application/x-www-form-urlencoded");
    assert.deepEqual(basicCredentials(tokenRequests[0]!), ["tgc_id%2B1", "tgs_s%2Fcret"]);
    assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequests[0]!.body)), {
      grant_type: "client_credentials",
      scope: "resource:read",
    });
    assert.deepEqual(bearers(), ["Bearer tok1", "Bearer tok1", "Bearer tok1"]);
  });

  test("the token is renewed before it expires", async () => {
    fault.tokenLifetime = 2; // renewed after half its life: the 60 s margin is capped at half
    const client = oauthClient();
    await client.getResource(RES);
    await sleep(1100);
    await client.getResource(RES);
    assert.deepEqual(bearers(), ["Bearer tok1", "Bearer tok2"]);
  });

  test("a 401 renews the token once and retries", async () => {
    fault.script = [error(401, "AUTHENTICATION_FAILED"), { status: 204 }];
    await oauthClient().deleteResource(RES);
    assert.deepEqual(bearers(), ["Bearer tok1", "Bearer tok2"]);
  });

  test("a persistent 401 is thrown after one renewal", async () => {
    fault.script = [error(401, "AUTHENTICATION_FAILED"), error(401, "AUTHENTICATION_FAILED"), error(401, "AUTHENTICATION_FAILED")];
    await assert.rejects(oauthClient().getResource(RES), AuthenticationError);
    assert.equal(fault.tokenRequests().length, 2);
    assert.equal(fault.apiRequests().length, 2);
  });

  test("a refused client is an AuthenticationError", async () => {
    fault.tokenScript = [{ status: 400, body: { error: "invalid_scope", error_description: "no such scope" } }];
    await assert.rejects(oauthClient().getResource(RES), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError);
      assert.deepEqual([err.status, err.code, err.message], [400, "invalid_scope", "no such scope"]);
      return true;
    });
    assert.deepEqual(fault.apiRequests(), []);
  });

  test("a token endpoint outage is retried", async () => {
    fault.tokenScript = [error(503, "SERVICE_UNAVAILABLE")];
    await oauthClient().getResource(RES);
    assert.equal(fault.tokenRequests().length, 2);
    assert.deepEqual(bearers(), ["Bearer tok1"]);
  });

  test("OAuth credentials from the environment", async () => {
    process.env.TOLLGATE_CLIENT_ID = "tgc_env";
    process.env.TOLLGATE_CLIENT_SECRET = "tgs_env";
    process.env.TOLLGATE_ENDPOINT = fault.url;
    const client = new Client();
    assert.ok(client.usesOAuth);
    await client.getResource(RES);
    assert.deepEqual(basicCredentials(fault.tokenRequests()[0]!), ["tgc_env", "tgs_env"]);
  });
});
