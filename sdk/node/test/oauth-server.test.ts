/** OAuth client credentials against the real server's /oauth/token (enabled by TOLLGATE_TEST_OAUTH=1). */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { AuthenticationError, Client, PermissionDeniedError } from "@tollgate/sdk";

import { cleanSdkEnv, TollgateServer, uniqueKind } from "./support/tollgate-server.js";

const skip = process.env.TOLLGATE_TEST_OAUTH === "1" ? false : "OAuth tests against the server run only with TOLLGATE_TEST_OAUTH=1";

/** White-box: the only way to learn which token to revoke. */
function currentToken(client: Client): string | undefined {
  return (client as unknown as { transport: { auth: { token?: { value: string } } } }).transport.auth.token?.value;
}

describe("oauth against the server", () => {
  let server: TollgateServer;

  before(async () => {
    if (skip) return;
    cleanSdkEnv();
    server = await TollgateServer.start();
  });
  after(() => server?.stop());

  const oauthClient = (scopes: string[], scope?: string) => {
    const { clientId, clientSecret } = server.createOAuthClient(scopes);
    return new Client({ clientId, clientSecret, scope, endpoint: server.url });
  };

  test("client credentials: create, get, iterate", { skip }, async () => {
    const kind = uniqueKind();
    const client = oauthClient(["resource:read", "resource:write"]);
    const created = await client.createResource({ name: "via oauth", type: kind, attributes: { auth: "oauth" } });
    assert.deepEqual((await client.getResource(created.id)).attributes, { auth: "oauth" });
    const ids: string[] = [];
    for await (const r of client.iterResources({ type: kind })) ids.push(r.id);
    assert.deepEqual(ids, [created.id]);
  });

  test("a requested scope narrows the token", { skip }, async () => {
    const kind = uniqueKind();
    const client = oauthClient(["resource:read", "resource:write"], "resource:read");
    assert.deepEqual((await client.listResources({ type: kind })).items, []);
    await assert.rejects(client.createResource({ name: "nope", type: kind }), PermissionDeniedError);
  });

  test("a wrong secret is an AuthenticationError", { skip }, async () => {
    const { clientId } = server.createOAuthClient(["resource:read"]);
    const client = new Client({ clientId, clientSecret: `tgs_${"A".repeat(46)}`, endpoint: server.url });
    await assert.rejects(client.listResources(), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError);
      assert.deepEqual([err.status, err.code], [401, "invalid_client"]);
      return true;
    });
  });

  test("a revoked token is replaced transparently", { skip }, async () => {
    const kind = uniqueKind();
    const { clientId, clientSecret } = server.createOAuthClient(["resource:read", "resource:write"]);
    const client = new Client({ clientId, clientSecret, endpoint: server.url });
    await client.listResources({ type: kind });
    const token = currentToken(client);
    assert.ok(token);
    const revoked = await fetch(`${server.url}/oauth/revoke`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(revoked.status, 200);
    assert.equal((await client.createResource({ name: "after revoke", type: kind })).name, "after revoke");
    assert.notEqual(currentToken(client), token);
  });
});
