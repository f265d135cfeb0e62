import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import { Registry } from "prom-client";
import { createConfig, type PusherConfig } from "../../src/config/schema.js";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { EmbeddedWebhooks } from "../../src/webhooks/embedded-webhooks.js";
import { startRedisWebhooks, webhookUrlKeys } from "../../src/webhooks/redis-webhooks.js";
import { webhookQueueKey, type WebhookEvent } from "../../src/webhooks/webhook-events.js";
import { startPusher } from "../helpers/pusher.js";
import { startRedis, type RedisNode } from "../helpers/redis-topology.js";
import { joinPresence } from "../helpers/presence.js";
import { WebhookReceiver } from "../helpers/webhook-receiver.js";

/** Webhooks posted to a real HTTP server in this process: signed, batched, retried, none lost. */

const SECRET = "webhook-test-secret-0123456789";
const silent = pino({ level: process.env.TEST_LOG ?? "silent" });

function settings(urls: string[], env: Record<string, string> = {}): PusherConfig {
  return createConfig({ PUSHER_WEBHOOK_URLS: urls.join(","), PUSHER_WEBHOOK_SECRET: SECRET, PUSHER_WEBHOOK_BATCH_WAIT_MS: "50", PUSHER_WEBHOOK_RETRY_MIN_MS: "50", PUSHER_WEBHOOK_RETRY_MAX_MS: "200", ...env }).getProperties();
}

function events(count: number, from = 0): WebhookEvent[] {
  return Array.from({ length: count }, (_, i) => ({ name: i % 2 === 0 ? "member_added" : "channel_occupied", channel: `presence-c${from + i}`, ...(i % 2 === 0 ? { user_id: `u${from + i}` } : {}), time_ms: Date.now() }));
}

function embedded(t: TestContext, config: PusherConfig): { outbox: EmbeddedWebhooks; registry: Registry } {
  const registry = new Registry();
  const outbox = new EmbeddedWebhooks(config.webhooks, registry, silent);
  outbox.start();
  t.after(() => outbox.flush(Date.now()));
  return { outbox, registry };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return found?.values.reduce((sum, v) => sum + v.value, 0) ?? Number.NaN;
}

/** Polls a condition that has no event to wait on (a metric, a Redis key). */
function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  return retryUntil(async () => {
    if (!(await check())) throw new Error(`timed out waiting for ${what}`);
  }, { timeoutMs, intervalMs: 50 });
}

const channels = (list: { channel: string }[]): string[] => list.map((e) => e.channel);

test("embedded: the outbox's events arrive signed, in order, batched, as the contract's body", async (t) => {
  const receiver = await WebhookReceiver.start(t, SECRET);
  const { outbox, registry } = embedded(t, settings([receiver.url], { PUSHER_WEBHOOK_BATCH_MAX_EVENTS: "10" }));
  const sent = events(25);
  const before = Date.now();
  outbox.add(sent.slice(0, 5));
  outbox.add(sent.slice(5));
  await receiver.until(() => receiver.acknowledged().length >= 25);

  assert.ok(receiver.posts.every((p) => p.signatureValid), "every post is signed with webhooks.secret");
  assert.ok(receiver.posts.every((p) => p.body.events.length <= 10), "no post holds more than webhooks.batchMaxEvents");
  assert.ok(receiver.posts.length < 25, `events were batched (${receiver.posts.length} posts)`);
  assert.deepEqual(channels(receiver.acknowledged()), channels(sent));
  // Only the contract's fields: what happened, to whom; time_ms is the post's.
  assert.deepEqual(receiver.posts[0]!.body.events[0], { name: "member_added", channel: "presence-c0", user_id: "u0" });
  assert.deepEqual(receiver.posts[0]!.body.events[1], { name: "channel_occupied", channel: "presence-c1" });
  assert.ok(receiver.posts[0]!.body.time_ms >= before);
  await eventually(async () => (await metric(registry, "pusher_webhook_events_sent_total")) === 25, "25 events counted as sent");
  assert.equal(await metric(registry, "pusher_webhook_events_queued_total"), 25);
});

test("embedded: a post answered 500, or not at all because the receiver is down, is retried until a 2xx", async (t) => {
  const receiver = await WebhookReceiver.start(t, SECRET);
  const { outbox, registry } = embedded(t, settings([receiver.url]));
  receiver.mode = { status: 500 };
  outbox.add(events(3));
  await receiver.until(() => receiver.posts.length >= 3, 20_000, "three refused posts");
  receiver.mode = { status: 204 };
  await receiver.until(() => receiver.acknowledged().length === 3);
  assert.deepEqual(receiver.posts.map((p) => channels(p.body.events)), receiver.posts.map(() => channels(events(3))), "each retry carries the same batch");
  assert.ok((await metric(registry, "pusher_webhook_posts_failed_total")) >= 3);

  await receiver.close();
  const refusedBefore = await metric(registry, "pusher_webhook_posts_failed_total");
  outbox.add(events(2, 100));
  // Connection refused, retried: the failures show in the metric while the receiver is down.
  await eventually(async () => (await metric(registry, "pusher_webhook_posts_failed_total")) >= refusedBefore + 2, "refused posts counted");
  await receiver.listen();
  await receiver.until(() => receiver.acknowledged().length === 5);
  assert.deepEqual(channels(receiver.acknowledged().slice(3)), ["presence-c100", "presence-c101"]);
});

test("embedded: a dead URL delays only its own events, and its queue keeps the newest webhooks.maxQueuedEvents", async (t) => {
  const [live, dead] = await Promise.all([WebhookReceiver.start(t, SECRET), WebhookReceiver.start(t, SECRET)]);
  dead.mode = { status: 503 };
  const { outbox, registry } = embedded(t, settings([dead.url, live.url], { PUSHER_WEBHOOK_MAX_QUEUED_EVENTS: "20" }));
  // In chunks the live URL takes before the next: only the dead URL's queue overflows.
  for (let from = 0; from < 50; from += 10) {
    outbox.add(events(10, from));
    await live.until(() => live.acknowledged().length === from + 10);
  }
  assert.deepEqual(channels(live.acknowledged()), channels(events(50)));
  assert.equal(dead.acknowledged().length, 0);
  assert.equal(await metric(registry, "pusher_webhook_events_dropped_total"), 30, "the dead URL's queue dropped all but its newest 20");
  await eventually(async () => (await metric(registry, "pusher_webhook_queue_length")) === 20, "the dead URL's 20 events as the queue length");

  dead.mode = { status: 200 };
  await dead.until(() => dead.acknowledged().at(-1)?.channel === "presence-c49");
  const inFlight = dead.posts[0]!.body.events.length;
  const got = new Set(channels(dead.acknowledged()));
  for (const event of events(20, 30)) assert.ok(got.has(event.channel), `${event.channel}, among the newest 20, was sent`);
  assert.ok(got.size <= 20 + inFlight, `only the newest 20 and the batch in flight were sent (${got.size})`);
});

test("embedded: flush sends what is queued before the drain deadline", async (t) => {
  const receiver = await WebhookReceiver.start(t, SECRET);
  const config = settings([receiver.url], { PUSHER_WEBHOOK_BATCH_WAIT_MS: "5000" });
  const outbox = new EmbeddedWebhooks(config.webhooks, new Registry(), silent);
  outbox.start();
  outbox.add(events(4));
  const started = Date.now();
  await outbox.flush(Date.now() + 3000);
  assert.equal(receiver.acknowledged().length, 4);
  assert.ok(Date.now() - started < 2500, "flushing does not wait out webhooks.batchWaitMs");
});

async function redisConfig(redis: RedisNode, urls: string[], env: Record<string, string> = {}): Promise<PusherConfig> {
  return settings(urls, { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: `redis://${redis.address}`, ...env });
}

function redisClient(t: TestContext, redis: RedisNode): Redis {
  const client = new Redis(redis.port, redis.host);
  t.after(() => client.disconnect());
  return client;
}

async function record(client: Redis, list: readonly WebhookEvent[]): Promise<void> {
  await client.rpush(webhookQueueKey("pusher:"), ...list.map((e) => JSON.stringify(e)));
}

test("redis: events recorded in the queue key reach every URL; a malformed entry is dropped, not stuck", async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await Promise.all([WebhookReceiver.start(t, SECRET), WebhookReceiver.start(t, SECRET)]);
  const client = redisClient(t, redis);
  const config = await redisConfig(redis, [a.url, b.url]);
  const registry = new Registry();
  const webhooks = startRedisWebhooks(config, registry, silent);
  t.after(() => webhooks.close());

  await record(client, events(3));
  await client.rpush(webhookQueueKey("pusher:"), "not json", JSON.stringify({ channel: "no-name" }));
  await record(client, events(3, 3));
  await Promise.all([a.until(() => a.acknowledged().length >= 6), b.until(() => b.acknowledged().length >= 6)]);
  assert.deepEqual(channels(a.acknowledged()), channels(events(6)));
  assert.deepEqual(channels(b.acknowledged()), channels(events(6)));
  assert.ok([...a.posts, ...b.posts].every((p) => p.signatureValid));
  assert.equal(await client.llen(webhookQueueKey("pusher:")), 0);
  await eventually(async () => (await client.llen(webhookUrlKeys("pusher:", a.url).list)) === 0, "acknowledged events leaving the URL's list");
  assert.equal(await metric(registry, "pusher_webhook_events_queued_total"), 12, "six events for each of two URLs");
});

test("redis: the sending host is SIGKILLed with a batch in flight; the other host sends everything", async (t) => {
  const redis = await startRedis(t);
  const receiver = await WebhookReceiver.start(t, SECRET);
  const client = redisClient(t, redis);
  const env = {
    PUSHER_REDIS_MODE: "standalone",
    PUSHER_REDIS_URL: `redis://${redis.address}`,
    PUSHER_WEBHOOK_URLS: receiver.url,
    PUSHER_WEBHOOK_SECRET: SECRET,
    PUSHER_WEBHOOK_LEASE_MS: "1000",
    PUSHER_WEBHOOK_BATCH_WAIT_MS: "50",
    PUSHER_WEBHOOK_BATCH_MAX_EVENTS: "10",
    PUSHER_WEBHOOK_RETRY_MIN_MS: "50",
    PUSHER_WEBHOOK_RETRY_MAX_MS: "200",
  };
  const hosts = await Promise.all([startPusher(t, { workers: 1, env }), startPusher(t, { workers: 1, env })]);
  const lease = webhookUrlKeys("pusher:", receiver.url).lease;
  const senderHost = async () => {
    const owner = await client.get(lease);
    const pid = Number(owner?.split(":").at(-1));
    return hosts.find((h) => [...h.workers.values()].includes(pid));
  };

  await record(client, events(20));
  await receiver.until(() => receiver.acknowledged().length >= 20);
  const first = await senderHost();
  assert.ok(first, "one worker holds the URL's lease");

  receiver.mode = "hang";
  await record(client, events(30, 20));
  await receiver.until(() => receiver.posts.some((p) => p.status === undefined), 10_000, "a post held in flight");
  await first.crash();
  receiver.mode = { status: 200 };
  await receiver.close();
  await receiver.listen();

  await receiver.until(() => new Set(channels(receiver.acknowledged())).size === 50, 20_000, "all 50 events acknowledged");
  const got = channels(receiver.acknowledged());
  assert.deepEqual([...new Set(got)].sort(), channels(events(50)).sort(), "none lost");
  assert.ok(got.length - 50 <= 10, `at most the batch in flight was sent twice (${got.length - 50} duplicates)`);
  const second = await senderHost();
  assert.ok(second && second !== first, "the surviving host took the lease over");
  assert.ok(receiver.posts.every((p) => p.signatureValid));
});

/** Events of one channel as `name:user` strings, in the order acknowledged. */
function channelEvents(receiver: WebhookReceiver, channel: string): string[] {
  return receiver.acknowledged().filter((e) => e.channel === channel).map((e) => (e.user_id ? `${e.name}:${e.user_id}` : e.name));
}

async function presenceRoundTrip(t: TestContext, urls: [string, string], receiver: WebhookReceiver): Promise<void> {
  const room = `presence-hooks-${Date.now()}`;
  const first = await joinPresence(t, urls[0], room, "ann");
  const second = await joinPresence(t, urls[1], room, "ann");
  await receiver.until(() => channelEvents(receiver, room).length >= 2, 20_000, "occupied and member_added");
  first.client.close();
  second.client.close();
  await receiver.until(() => channelEvents(receiver, room).includes("channel_vacated"), 20_000, "member_removed and vacated");
  assert.deepEqual(channelEvents(receiver, room), ["channel_occupied", "member_added:ann", "member_removed:ann", "channel_vacated"]);
  assert.ok(receiver.posts.every((p) => p.signatureValid));
}

test("embedded: a user's two connections on a running host make one member_added and one member_removed, posted", async (t) => {
  const receiver = await WebhookReceiver.start(t, SECRET);
  const host = await startPusher(t, { workers: 2, env: { PUSHER_WEBHOOK_URLS: receiver.url, PUSHER_WEBHOOK_SECRET: SECRET, PUSHER_WEBHOOK_BATCH_WAIT_MS: "50" } });
  await presenceRoundTrip(t, [host.url, host.url], receiver);
});

test("redis: a user connected to two hosts is posted once as added and once as removed, by one host", async (t) => {
  const receiver = await WebhookReceiver.start(t, SECRET);
  const redis = await startRedis(t);
  const env = { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: `redis://${redis.address}`, PUSHER_WEBHOOK_URLS: receiver.url, PUSHER_WEBHOOK_SECRET: SECRET, PUSHER_WEBHOOK_BATCH_WAIT_MS: "50" };
  const [a, b] = await Promise.all([startPusher(t, { workers: 1, env }), startPusher(t, { workers: 1, env })]);
  await presenceRoundTrip(t, [a.url, b.url], receiver);
});
