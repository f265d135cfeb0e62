import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";
import { Redis } from "ioredis";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { connectSocket, messageLog, publish, subscribe } from "../helpers/clients.js";
import { startPusher, type PusherHost } from "../helpers/pusher.js";
import { startRedis, type RedisNode } from "../helpers/redis-topology.js";

/** The Redis-only ingress (docs/publishing.md): exactly once, also when a worker died half-way. */

const INGRESS = "pusher:ingress";

function admin(t: TestContext, redis: RedisNode): Redis {
  const client = new Redis({ host: redis.host, port: redis.port });
  client.on("error", () => undefined);
  t.after(() => client.disconnect());
  return client;
}

function host(t: TestContext, redis: RedisNode, env: Record<string, string> = {}): Promise<PusherHost> {
  return startPusher(t, { workers: 2, env: { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: `redis://${redis.address}`, ...env } });
}

/** Resolves once the consumer group holds no entry unacknowledged. */
async function allAcknowledged(redis: Redis): Promise<void> {
  await retryUntil(async () => {
    const [pending] = (await redis.call("XPENDING", INGRESS, "pusher")) as [number];
    assert.equal(pending, 0, "ingress entries still pending");
  }, { timeoutMs: 20_000, intervalMs: 100 });
}

/** One host on a fresh Redis, a socket subscribed to a fresh channel, and an admin client. */
async function subscribedToOne(t: TestContext): Promise<{ channel: string; log: ReturnType<typeof messageLog>; r: Redis }> {
  const redis = await startRedis(t);
  const pusher = await host(t, redis);
  const channel = `ingress-${randomUUID().slice(0, 8)}`;
  const socket = await connectSocket(t, pusher.url);
  const log = messageLog(socket, channel);
  await subscribe(socket, channel);
  return { channel, log, r: admin(t, redis) };
}

test("an entry appended to the ingress stream is published; a malformed one goes to the dead-letter stream", async (t) => {
  const { channel, log, r } = await subscribedToOne(t);
  await r.xadd(INGRESS, "*", "message", JSON.stringify({ channel, event: "e", data: { n: 1 } }));
  const bad = await r.xadd(INGRESS, "*", "message", JSON.stringify({ channel: "bad channel!", event: "e" }));
  await r.xadd(INGRESS, "*", "message", JSON.stringify({ channel, event: "e", data: { n: 2 } }));
  const messages = await log.waitFor(2);
  assert.deepEqual(messages.map((m) => [m.offset, m.data]), [[1, { n: 1 }], [2, { n: 2 }]]);
  await allAcknowledged(r);
  const dead = (await r.xrange(`${INGRESS}:dead`, "-", "+")).map(([, fields]) => Object.fromEntries([[fields[0], fields[1]], [fields[2], fields[3]]]));
  assert.equal(dead.length, 1);
  assert.equal(dead[0]!.entry, bad);
  assert.match(dead[0]!.error, /channel/);
});

test("a consumer group lost with the master's data is created again: entries appended afterwards are published", async (t) => {
  const { channel, log, r } = await subscribedToOne(t);
  await r.xadd(INGRESS, "*", "message", JSON.stringify({ channel, event: "e", data: { n: 1 } }));
  await log.waitFor(1);
  // What a promoted server without the stream looks like to the reader: no stream, no group.
  await r.del(INGRESS);
  await r.xadd(INGRESS, "*", "message", JSON.stringify({ channel, event: "e", data: { n: 2 } }));
  const messages = await log.waitFor(2);
  assert.deepEqual(messages.map((m) => m.data), [{ n: 1 }, { n: 2 }]);
  await allAcknowledged(r);
});

test("entries a dead worker read but never acknowledged are claimed and published exactly once", async (t) => {
  const redis = await startRedis(t);
  const r = admin(t, redis);
  const channel = `claimed-${randomUUID().slice(0, 8)}`;
  const pusher = await host(t, redis, { PUSHER_REDIS_INGRESS_CLAIM_IDLE_MS: "3000" });
  const socket = await connectSocket(t, pusher.url);
  const log = messageLog(socket, channel);
  await subscribe(socket, channel);
  const first = await publish(pusher.url, { channel, event: "e", data: "already published", id: "done-before-crash" });
  assert.equal(first.status, 200);

  // A worker that read two entries and died: one it had published already (its id says so), one
  // not. One transaction appends them, moves the group past them and makes them the dead
  // consumer's, so the live workers never read them as new and the claim clock starts only now,
  // however long the host took to start.
  const top = Date.now();
  const ids = [`${top}-0`, `${top}-1`];
  const made = await r.multi([
    ["xadd", INGRESS, ids[0]!, "message", JSON.stringify({ channel, event: "e", data: "already published", id: "done-before-crash" })],
    ["xadd", INGRESS, ids[1]!, "message", JSON.stringify({ channel, event: "e", data: "never published" })],
    ["xgroup", "SETID", INGRESS, "pusher", ids[1]!],
    ["xclaim", INGRESS, "pusher", "dead-worker", "0", ...ids, "FORCE", "JUSTID"],
  ]).exec();
  assert.deepEqual(made?.map(([err]) => err), [null, null, null, null]);

  await allAcknowledged(r);
  const after = await publish(pusher.url, { channel, event: "e", data: "after" });
  assert.equal(after.status, 200);
  const messages = await log.waitFor(3);
  assert.deepEqual(messages.map((m) => [m.offset, m.data]), [[1, "already published"], [2, "never published"], [3, "after"]]);
});

test("entries are delivered to every subscriber in the order they were appended, per channel, with two workers", async (t) => {
  const redis = await startRedis(t);
  const pusher = await host(t, redis);
  const r = admin(t, redis);
  const run = randomUUID().slice(0, 8);
  const channels = Array.from({ length: 8 }, (_, i) => `order-${run}-${i}`);
  const perChannel = 500;
  // Four connections, so both workers deliver; each subscribes to every channel.
  const logs = [];
  for (let s = 0; s < 4; s++) {
    const socket = await connectSocket(t, pusher.url);
    logs.push(messageLog(socket));
    for (const channel of channels) await subscribe(socket, channel);
  }

  // One backend appending in sequence, in chunks: a worker's read never holds the whole sequence.
  for (let chunk = 0; chunk < perChannel / 50; chunk++) {
    const pipeline = r.pipeline();
    for (let n = chunk * 50; n < (chunk + 1) * 50; n++) {
      for (const channel of channels) pipeline.xadd(INGRESS, "*", "message", JSON.stringify({ channel, event: "e", data: n }));
    }
    await pipeline.exec();
  }

  for (const log of logs) {
    const messages = await log.waitFor(channels.length * perChannel, 60_000);
    for (const channel of channels) {
      const sequence = messages.filter((m) => m.channel === channel).map((m) => m.data);
      assert.deepEqual(sequence, Array.from({ length: perChannel }, (_, n) => n), `${channel} in append order`);
    }
  }
  await allAcknowledged(r);
});
