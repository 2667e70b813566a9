/** The resource API against the real server. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Client, NotFoundError, PreconditionFailedError, ValidationError } from "@tollgate/sdk";

import { cleanSdkEnv, TollgateServer, uniqueKind } from "./support/tollgate-server.js";

describe("resources", () => {
  let server: TollgateServer;
  let client: Client;

  before(async () => {
    cleanSdkEnv();
    server = await TollgateServer.start();
    client = new Client({ apiKey: server.adminKey, endpoint: server.url });
  });
  after(() => server?.stop());

  test("create, get, update and delete with version preconditions", async () => {
    const kind = uniqueKind();
    const created = await client.createResource({
      name: "Build server",
      type: kind,
      attributes: { region: "eu-west-1" },
      data: { cpus: 8, tags: ["ci"] },
    });
    assert.match(created.id, /^res_/);
    assert.deepEqual(
      [created.name, created.type, created.status, created.version, created.attributes, created.data],
      ["Build server", kind, "active", 1, { region: "eu-west-1" }, { cpus: 8, tags: ["ci"] }],
    );
    assert.ok(!Number.isNaN(Date.parse(created.created_at)));
    assert.deepEqual(await client.getResource(created.id), created);

    const updated = await client.updateResource(created.id, { status: "archived", attributes: { owner: "infra" } }, { ifVersion: 1 });
    assert.equal(updated.version, 2);
    assert.equal(updated.status, "archived");
    assert.deepEqual(updated.attributes, { region: "eu-west-1", owner: "infra" }); // merged, not replaced

    await assert.rejects(client.updateResource(created.id, { name: "lost update" }, { ifVersion: 1 }), (err: unknown) => {
      assert.ok(err instanceof PreconditionFailedError);
      assert.equal(err.status, 412);
      assert.equal(err.code, "PRECONDITION_FAILED");
      assert.equal(err.details.current_version, 2);
      return true;
    });
    assert.equal((await client.getResource(created.id)).name, "Build server");

    await assert.rejects(client.deleteResource(created.id, { ifVersion: 1 }), PreconditionFailedError);
    assert.equal(await client.deleteResource(created.id, { ifVersion: 2 }), undefined);
    await assert.rejects(client.getResource(created.id), NotFoundError);
  });

  test("merge patch removes an attribute and clears data", async () => {
    const created = await client.createResource({ name: "r", type: uniqueKind(), attributes: { a: "1", b: "2" }, data: { x: 1 } });
    const updated = await client.updateResource(created.id, { attributes: { a: null }, data: null });
    assert.deepEqual(updated.attributes, { b: "2" });
    assert.equal(updated.data, null);
  });

  test("list with filters and page numbers", async () => {
    const kind = uniqueKind();
    const eu = await client.createResource({ name: "eu", type: kind, attributes: { region: "eu", tier: "gold" } });
    const us = await client.createResource({ name: "us", type: kind, attributes: { region: "us", tier: "gold" } });
    const old = await client.createResource({ name: "old", type: kind, status: "archived", attributes: { region: "eu" } });
    await client.createResource({ name: "other type", type: `${kind}_x`, attributes: { region: "eu" } });
    const ids = async (params: Parameters<Client["listResources"]>[0]) => (await client.listResources(params)).items.map((r) => r.id);

    assert.deepEqual(await ids({ type: kind }), [eu.id, us.id, old.id]);
    assert.deepEqual(await ids({ type: kind, status: "archived" }), [old.id]);
    assert.deepEqual(await ids({ type: kind, attributes: { region: "eu" } }), [eu.id, old.id]);
    assert.deepEqual(await ids({ type: kind, attributes: { region: "eu", tier: "gold" } }), [eu.id]);

    const first = await client.listResources({ type: kind, perPage: 2, page: 1 });
    assert.deepEqual([first.page, first.per_page, first.has_next], [1, 2, true]);
    const second = await client.listResources({ type: kind, perPage: 2, page: 2 });
    assert.deepEqual([second.items.map((r) => r.id), second.has_next], [[old.id], false]);
  });

  test("iterResources follows the cursor across pages", async () => {
    const kind = uniqueKind();
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) ids.push((await client.createResource({ name: `item ${i}`, type: kind, attributes: { n: String(i) } })).id);

    const first = await client.listResources({ type: kind, perPage: 10, cursor: "" });
    assert.equal(first.page, null);
    assert.ok(first.has_next && first.next_cursor);
    assert.deepEqual(first.items.map((r) => r.id), ids.slice(0, 10));
    const second = await client.listResources({ type: kind, perPage: 10, cursor: first.next_cursor });
    assert.deepEqual(second.items.map((r) => r.id), ids.slice(10, 20));

    const all: string[] = [];
    for await (const resource of client.iterResources({ type: kind, perPage: 10 })) all.push(resource.id);
    assert.deepEqual(all, ids);
    const seven: string[] = [];
    for await (const resource of client.iterResources({ type: kind, attributes: { n: "7" } })) seven.push(resource.id);
    assert.deepEqual(seven, [ids[7]]);
  });

  test("iterResources on an empty listing yields nothing", async () => {
    for await (const resource of client.iterResources({ type: uniqueKind() })) assert.fail(`unexpected ${resource.id}`);
  });

  // What makes the SDK's POST/PATCH retries safe: the server answers a repeated key with the
  // first response instead of writing again, and refuses the key for a different request.
  test("an Idempotency-Key makes a repeated write a replay", async () => {
    const kind = uniqueKind();
    const first = await client.createResource({ name: "once", type: kind }, { idempotencyKey: `create-${kind}` });
    const again = await client.createResource({ name: "once", type: kind }, { idempotencyKey: `create-${kind}` });
    assert.equal(again.id, first.id);
    assert.equal((await client.listResources({ type: kind })).items.length, 1);

    const patched = await client.updateResource(first.id, { name: "twice" }, { idempotencyKey: `patch-${kind}` });
    const replayed = await client.updateResource(first.id, { name: "twice" }, { idempotencyKey: `patch-${kind}` });
    assert.deepEqual([patched.version, replayed.version], [2, 2]);

    await assert.rejects(client.createResource({ name: "something else", type: kind }, { idempotencyKey: `create-${kind}` }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual([err.status, err.code], [422, "IDEMPOTENCY_KEY_REUSED"]);
      return true;
    });
  });

  test("request() reaches endpoints the SDK does not wrap", async () => {
    const usage = await client.request<Record<string, unknown>>("GET", "/v1/usage");
    assert.ok("write" in usage);
  });
});
