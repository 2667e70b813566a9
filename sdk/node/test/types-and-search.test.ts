/** Resource types (register, validate, update, delete) and full-text search, against the real server. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { batchCreate, Client, ConflictError, NotFoundError, ValidationError, type FieldError } from "@tollgate/sdk";

import { cleanSdkEnv, TollgateServer, uniqueKind } from "./support/tollgate-server.js";

const schema = (maxCpus: number) => ({
  type: "object",
  required: ["cpus"],
  properties: { cpus: { type: "integer", minimum: 1, maximum: maxCpus } },
});

/** A word no other test's resource holds. */
const uniqueWord = () => `zq${Math.random().toString(36).slice(2, 10).replace(/[0-9]/g, "x")}`;

describe("types and search", () => {
  let server: TollgateServer;
  let client: Client;

  before(async () => {
    cleanSdkEnv();
    server = await TollgateServer.start();
    client = new Client({ apiKey: server.adminKey, endpoint: server.url });
  });
  after(() => server?.stop());

  test("a registered type validates writes, is versioned, and is deleted once unused", async () => {
    const kind = uniqueKind();
    const created = await client.createType({
      name: kind,
      schema: schema(64),
      attributes: { region: { required: true, enum: ["eu", "us"] } },
      description: "A machine",
    });
    assert.deepEqual([created.name, created.version, created.description], [kind, 1, "A machine"]);
    assert.deepEqual(created.attributes, { region: { required: true, enum: ["eu", "us"] } });
    assert.deepEqual(created.schema, schema(64));
    assert.match(created.created_at, /^\d{4}-\d\d-\d\dT/);
    await assert.rejects(client.createType({ name: kind }), ConflictError);

    const good = await client.createResource({ name: "m1", type: kind, attributes: { region: "eu" }, data: { cpus: 4 } });
    await assert.rejects(client.createResource({ name: "m2", type: kind, attributes: { region: "mars" }, data: { cpus: 0 } }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.equal(err.code, "VALIDATION_FAILED");
      const errors: FieldError[] = err.errors;
      assert.deepEqual(errors.map((e) => e.pointer).sort(), ["/attributes/region", "/data/cpus"]);
      assert.ok(errors.every((e) => e.message !== ""));
      assert.match(String(err), /\/data\/cpus: .*\/attributes\/region: |\/attributes\/region: .*\/data\/cpus: /);
      return true;
    });
    // In a batch, the same list with the failing operation's index.
    await assert.rejects(client.batch([batchCreate({ name: "b", type: kind, attributes: { region: "eu" }, data: {} })]), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual([err.operationIndex, err.errors.map((e) => e.pointer)], [0, ["/data"]]);
      return true;
    });

    const updated = await client.updateType(kind, { schema: schema(2), attributes: { region: { required: true } } });
    assert.deepEqual([updated.version, updated.created_at, updated.description], [2, created.created_at, ""]);
    assert.deepEqual(await client.getType(kind), updated);
    assert.ok((await client.listTypes()).some((t) => t.name === kind));
    await assert.rejects(client.createResource({ name: "m3", type: kind, attributes: { region: "us" }, data: { cpus: 4 } }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.deepEqual(err.errors.map((e) => e.pointer), ["/data/cpus"], "checked against version 2");
      return true;
    });

    await assert.rejects(client.deleteType(kind), ConflictError);
    await client.deleteResource(good.id);
    await client.deleteType(kind);
    await assert.rejects(client.getType(kind), NotFoundError);
    assert.ok(!(await client.listTypes()).some((t) => t.name === kind));
  });

  test("a refused schema names the schema; unknown options are refused", async () => {
    await assert.rejects(client.createType({ name: uniqueKind(), schema: { $ref: "https://schemas.invalid/x.json" } }), (err: unknown) => {
      assert.ok(err instanceof ValidationError && "schema" in err.fields);
      assert.deepEqual(err.errors, []);
      return true;
    });
    assert.throws(() => client.createType({ name: "x", version: 2 } as never), /createType: unknown option "version"/);
    assert.throws(() => client.updateType("x", { name: "x" } as never), /updateType: unknown option "name"/);
  });

  test("q finds resources by a word in their data and not others", async () => {
    const kind = uniqueKind();
    const word = uniqueWord();
    const first = await client.createResource({ name: "first", type: kind, data: { text: `the ${word} waddles on the ice` } });
    await client.createResource({ name: "second", type: kind, data: { text: "a camel crosses the desert" } });
    const third = await client.createResource({ name: "third", type: kind, data: { notes: [`a ${word} colony`] } });
    const page = await client.listResources({ q: word, includeTotal: true });
    assert.equal(page.total, 2);
    assert.deepEqual(page.items.map((r) => r.id).sort(), [first.id, third.id].sort());
    // By relevance the iterator pages by number; with a sort, by cursor.
    const byRank: string[] = [];
    for await (const r of client.iterResources({ q: word, perPage: 1 })) byRank.push(r.name);
    assert.deepEqual(byRank.sort(), ["first", "third"]);
    const byName: string[] = [];
    for await (const r of client.iterResources({ q: word, sort: "-name", perPage: 1 })) byName.push(r.name);
    assert.deepEqual(byName, ["third", "first"]);
    assert.deepEqual((await client.listResources({ q: uniqueWord() })).items, []);
    await assert.rejects(client.listResources({ q: "a".repeat(501) }), (err: unknown) => err instanceof ValidationError && "q" in err.fields);
  });
});
