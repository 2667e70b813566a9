/** The events API and the live stream against the real server: filters and paging, live events, resuming across a `kill -9` and restart without a gap or a duplicate, 410 thrown without a reconnect, and a 429's Retry-After honoured. */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { Client, GoneError, NotFoundError, RateLimitError, ValidationError, type Event } from "@tollgate/sdk";

import { cleanSdkEnv, TollgateServer, uniqueKind } from "./support/tollgate-server.js";

/** An event id minted in 1970: older than any retention. */
const ANCIENT_EVENT = "evt_000000YGJ00000000000000007";

async function allIds(client: Client, params: { resourceType?: string } = {}): Promise<string[]> {
  const ids: string[] = [];
  for await (const e of client.events.iter({ order: "oldest", ...params })) ids.push(e.id);
  return ids;
}

async function withServer(env: Record<string, string>, body: (server: TollgateServer, client: Client) => Promise<void>): Promise<void> {
  const server = await TollgateServer.start(env);
  try {
    await body(server, new Client({ apiKey: server.adminKey, endpoint: server.url }));
  } finally {
    await server.stop();
  }
}

describe("events", () => {
  let server: TollgateServer;
  let client: Client;

  before(async () => {
    cleanSdkEnv();
    server = await TollgateServer.start();
    client = new Client({ apiKey: server.adminKey, endpoint: server.url });
  });
  after(() => server?.stop());

  test("list, get, filters and iter", async () => {
    const kind = uniqueKind();
    const first = await client.createResource({ name: "a", type: kind });
    await client.createResource({ name: "b", type: kind });
    await client.deleteResource(first.id);
    const page = await client.events.list({ resourceType: kind, limit: 2 });
    assert.deepEqual(page.items.map((e) => e.type), ["resource.deleted", "resource.created"]);
    assert.ok(page.has_next && page.next_cursor);
    assert.deepEqual(await client.events.get(page.items[1]!.id), page.items[1]);
    const about = await client.events.list({ resourceId: first.id, order: "oldest" });
    assert.deepEqual(about.items.map((e) => e.type), ["resource.created", "resource.deleted"]);
    assert.equal((await client.events.list({ resourceType: kind, type: ["resource.created"] })).items.length, 2);
    let count = 0;
    for await (const _ of client.events.iter({ resourceType: kind, limit: 1 })) count += 1;
    assert.equal(count, 3);
    await assert.rejects(client.events.get("evt_01JD3Z9T6W4X8Y2K5M7N9P1Q3R"), NotFoundError);
    await assert.rejects(client.events.list({ after: "yesterday" }), ValidationError);
  });

  test("the stream yields live events, stops on break, and resumes after an id", async () => {
    const kind = uniqueKind();
    const writes = (async () => {
      await sleep(300);
      for (let i = 0; i < 3; i++) await client.createResource({ name: `live-${i}`, type: kind });
    })();
    const stream = client.events.stream({ resourceType: kind });
    const got: Event[] = [];
    for await (const event of stream) {
      got.push(event);
      if (got.length === 3) break;
    }
    await writes;
    assert.deepEqual(got.map((e) => e.id), await allIds(client, { resourceType: kind }));
    assert.equal((got[0]!.data as { name: string }).name, "live-0");
    assert.equal(stream.lastEventId, got[2]!.id);
    assert.deepEqual(await stream.next(), { value: undefined, done: true }, "break closed it");

    const resumed = client.events.stream({ resourceType: kind, lastEventId: got[0]!.id });
    const again = [(await resumed.next()).value?.id, (await resumed.next()).value?.id];
    resumed.close();
    assert.deepEqual(again, got.slice(1).map((e) => e.id));
  });

  test("the stream survives a server restart without a gap or a duplicate", async () => {
    await withServer({}, async (srv, c) => {
      for (let i = 0; i < 4; i++) await c.createResource({ name: `before-${i}`, type: "machine" });
      const first = (await allIds(c))[0]!;
      const stream = c.events.stream({ lastEventId: first });
      const seen = [first];
      for (let i = 0; i < 3; i++) seen.push((await stream.next()).value!.id);
      await srv.restart();
      for (let i = 0; i < 3; i++) await c.createResource({ name: `after-${i}`, type: "machine" });
      const writes = (async () => {
        await sleep(500);
        for (let i = 0; i < 3; i++) await c.createResource({ name: `live-${i}`, type: "machine" });
      })();
      for await (const event of stream) {
        seen.push(event.id);
        if (seen.length === 10) break;
      }
      await writes;
      assert.deepEqual(seen, await allIds(c), "every event once, in commit order");
    });
  });

  test("410 GONE is thrown once, without reconnecting", async () => {
    await withServer({ TOLLGATE_EVENT_RETENTION: "1h" }, async (_srv, c) => {
      const stream = c.events.stream({ lastEventId: ANCIENT_EVENT });
      const started = performance.now();
      await assert.rejects(stream.next(), (err: unknown) => {
        assert.ok(err instanceof GoneError);
        assert.equal(err.status, 410);
        assert.equal(err.code, "GONE");
        return true;
      });
      assert.ok(performance.now() - started < 2000);
      assert.deepEqual(await stream.next(), { value: undefined, done: true });
    });
  });

  test("a 429 waits for its Retry-After; close() frees the slot", async () => {
    await withServer({ TOLLGATE_EVENT_STREAMS_PER_CREDENTIAL: "1" }, async (_srv, c) => {
      const holder = c.events.stream();
      const first = holder.next();
      await sleep(300);
      await c.createResource({ name: "first", type: "machine" });
      assert.equal(((await first).value!.data as { name: string }).name, "first");

      await assert.rejects(c.events.stream({ maxReconnects: 0 }).next(), (err: unknown) => {
        assert.ok(err instanceof RateLimitError);
        assert.equal(err.retryAfter, 5);
        return true;
      });

      const waiting = c.events.stream();
      const started = performance.now();
      const next = waiting.next();
      await sleep(500);
      holder.close();
      await sleep(6000);
      await c.createResource({ name: "after-the-wait", type: "machine" });
      const event = (await next).value!;
      waiting.close();
      assert.ok(performance.now() - started >= 5000, "Retry-After honoured");
      assert.equal((event.data as { name: string }).name, "after-the-wait");
    });
  });
});
