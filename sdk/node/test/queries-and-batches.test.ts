/** Sorting, time ranges, sparse fieldsets, totals and atomic batches, against the real server. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { batchCreate, batchDelete, batchUpdate, Client, NotFoundError, PreconditionFailedError, ValidationError } from "@tollgate/sdk";

import { cleanSdkEnv, TollgateServer, uniqueKind } from "./support/tollgate-server.js";

describe("queries and batches", () => {
  let server: TollgateServer;
  let client: Client;

  before(async () => {
    cleanSdkEnv();
    server = await TollgateServer.start();
    client = new Client({ apiKey: server.adminKey, endpoint: server.url });
  });
  after(() => server?.stop());

  test("sort by name and by an attribute, descending, across cursor pages", async () => {
    const kind = uniqueKind();
    for (const [name, rank] of [["b", "2"], ["c", "1"], ["a", "3"]] as const) {
      await client.createResource({ name, type: kind, attributes: { rank } });
    }
    const byName = await client.listResources({ type: kind, sort: "name" });
    assert.deepEqual(byName.items.map((r) => r.name), ["a", "b", "c"]);
    const byRank = await client.listResources({ type: kind, sort: ["-attributes.rank", "name"] });
    assert.deepEqual(byRank.items.map((r) => r.attributes.rank), ["3", "2", "1"]);
    const names: string[] = [];
    for await (const r of client.iterResources({ type: kind, perPage: 1, sort: "-name" })) names.push(r.name);
    assert.deepEqual(names, ["c", "b", "a"]);
  });

  test("time ranges take a Date or a string", async () => {
    const kind = uniqueKind();
    const first = await client.createResource({ name: "first", type: kind });
    await new Promise((r) => setTimeout(r, 10));
    const second = await client.createResource({ name: "second", type: kind });
    const afterFirst = new Date(Date.parse(first.created_at) + 1);
    assert.deepEqual((await client.listResources({ type: kind, createdAfter: afterFirst })).items.map((r) => r.id), [second.id]);
    assert.deepEqual((await client.listResources({ type: kind, createdBefore: afterFirst.toISOString() })).items.map((r) => r.id), [first.id]);
    assert.throws(() => client.listResources({ createdAfter: new Date("nonsense") }), TypeError);
  });

  test("sparse fieldsets and the total", async () => {
    const kind = uniqueKind();
    const created = await client.createResource({ name: "sparse", type: kind, attributes: { region: "eu" }, data: { cpus: 4, ram: 8 } });
    const page = await client.listResources({ type: kind, fields: ["name", "attributes.region", "data.cpus"], includeTotal: true });
    assert.equal(page.total, 1);
    assert.deepEqual(page.items, [{ id: created.id, name: "sparse", attributes: { region: "eu" }, data: { cpus: 4 } }]);
    assert.equal((await client.listResources({ type: kind })).total, undefined);
    const ids: string[] = [];
    for await (const r of client.iterResources({ type: kind, fields: "name" })) ids.push(r.id);
    assert.deepEqual(ids, [created.id]);
  });

  test("an unknown or snake_case option is refused, not ignored", async () => {
    assert.throws(() => client.listResources({ per_page: 5 } as never), /unknown option "per_page"; did you mean perPage\?/);
    await assert.rejects(client.iterResources({ page: 2 } as never).next(), /iterResources: unknown option "page"/);
  });

  test("a bad query parameter is a validation error naming it", async () => {
    await assert.rejects(client.listResources({ sort: "colour" }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.ok("sort" in err.fields);
      assert.match(String(err), /^ValidationError: 400 VALIDATION_FAILED Validation failed: sort: unknown sort key .*\(request_id=req_/);
      return true;
    });
  });

  test("a batch applies every operation, in order", async () => {
    const kind = uniqueKind();
    const existing = await client.createResource({ name: "old", type: kind });
    const doomed = await client.createResource({ name: "doomed", type: kind });
    const result = await client.batch([
      batchCreate({ name: "new", type: kind, attributes: { region: "eu" } }),
      batchUpdate(existing.id, { name: "renamed" }, { ifVersion: 1 }),
      batchDelete(doomed.id, { ifVersion: 1 }),
    ]);
    assert.deepEqual(result.results.map((r) => [r.op, r.status]), [["create", 201], ["update", 200], ["delete", 204]]);
    const [created, updated, deleted] = result.results;
    assert.ok(created?.op === "create" && created.resource.name === "new");
    assert.ok(updated?.op === "update" && updated.resource.version === 2);
    assert.ok(deleted?.op === "delete" && deleted.id === doomed.id);
    await assert.rejects(client.getResource(doomed.id), NotFoundError);
  });

  test("a failed batch applies nothing and names the operation", async () => {
    const kind = uniqueKind();
    const existing = await client.createResource({ name: "kept", type: kind });
    await assert.rejects(client.batch([batchCreate({ name: "never", type: kind }), batchUpdate(existing.id, { name: "never" }, { ifVersion: 7 })]), (err: unknown) => {
      assert.ok(err instanceof PreconditionFailedError);
      assert.equal(err.operationIndex, 1);
      assert.match(String(err), /\(operation 1\) \(request_id=req_/);
      return true;
    });
    assert.equal((await client.listResources({ type: kind, includeTotal: true })).total, 1);
    await assert.rejects(client.batch([batchCreate({ name: "", type: kind })]), (err: unknown) => {
      assert.ok(err instanceof ValidationError && "operations[0].body.name" in err.fields);
      return true;
    });
    assert.throws(() => client.batch([]), RangeError);
  });

  test("a batch retried with the same key is a replay", async () => {
    const kind = uniqueKind();
    const ops = [batchCreate({ name: "once", type: kind })];
    const first = await client.batch(ops, { idempotencyKey: `batch-${kind}` });
    const again = await client.batch(ops, { idempotencyKey: `batch-${kind}` });
    assert.deepEqual(again, first);
    assert.equal((await client.listResources({ type: kind, includeTotal: true })).total, 1);
  });
});
