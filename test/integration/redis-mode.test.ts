import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";
import { Redis } from "ioredis";
import type { ResyncNotice } from "../../src/protocol/events.js";
import { connectSocket, messageLog, publish, subscribe } from "../helpers/clients.js";
import { explainedByHostLogs, startPusher, type PusherHost } from "../helpers/pusher.js";
import { startRedis, type RedisNode } from "../helpers/redis-topology.js";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { withTimeout } from "../helpers/with-timeout.js";
import { assertDeliveryGuarantee, ChannelRecorder, SteadyPublisher } from "../helpers/steady-traffic.js";

/** The Redis backend (standalone) end to end: across hosts, lost history, a hung Redis, metrics. */

const channel = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

async function hostsOn(t: TestContext, redis: RedisNode, count: number, env: Record<string, string> = {}): Promise<PusherHost[]> {
  const redisEnv = { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: `redis://${redis.address}`, ...env };
  return Promise.all(Array.from({ length: count }, () => startPusher(t, { workers: 1, env: redisEnv })));
}

function admin(t: TestContext, redis: RedisNode): Redis {
  const client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: 1 });
  client.on("error", () => undefined);
  t.after(() => client.disconnect());
  return client;
}

/** One Redis, one host, and a socket subscribed to a fresh channel that records messages and resyncs. */
async function subscribedOnOneHost(t: TestContext, prefix: string) {
  const redis = await startRedis(t);
  const [host] = await hostsOn(t, redis, 1);
  const ch = channel(prefix);
  const socket = await connectSocket(t, host!.url);
  const log = messageLog(socket, ch);
  const notices: ResyncNotice[] = [];
  socket.on("resync", (notice) => notices.push(notice));
  await subscribe(socket, ch);
  return { redis, url: host!.url, ch, socket, log, notices };
}

async function publishOk(url: string, ch: string, data: unknown) {
  const res = await publish(url, { channel: ch, event: "e", data });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.offsets[ch] as { epoch: string; offset: number };
}

test("a message published on one host reaches the other, and recovery works from either", async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await hostsOn(t, redis, 2);
  const ch = channel("cross");
  const onA = await connectSocket(t, a!.url);
  const log = messageLog(onA, ch);
  const ack = await subscribe(onA, ch);
  assert.equal(ack.ok, true);
  for (let i = 1; i <= 3; i++) await publishOk(b!.url, ch, i);
  const received = await log.waitFor(3);
  assert.deepEqual(received.map((m) => [m.offset, m.data]), [[1, 1], [2, 2], [3, 3]]);

  const onB = await connectSocket(t, b!.url);
  const replay = messageLog(onB, ch);
  const resumed = await subscribe(onB, ch, { since: { epoch: received[0]!.epoch, offset: 1 } });
  assert.deepEqual([resumed.ok, resumed.ok && resumed.recovered], [true, true]);
  assert.deepEqual((await replay.waitFor(2)).map((m) => m.data), [2, 3]);
});

test("Redis restarted empty: subscribers are told, and old positions are not recoverable", async (t) => {
  const { redis, url, ch, log, notices } = await subscribedOnOneHost(t, "emptied");
  const before = await publishOk(url, ch, "before");
  await admin(t, redis).flushall();
  const after = await publishOk(url, ch, "after");
  assert.notEqual(after.epoch, before.epoch, "a channel created again takes a new epoch");
  assert.equal(after.offset, 1);
  await log.waitFor(2);
  assert.deepEqual(notices.map((n) => [n.reason, n.epoch]), [["epoch_changed", after.epoch]]);
  const late = await connectSocket(t, url);
  const ack = await subscribe(late, ch, { since: before });
  assert.deepEqual([ack.ok, ack.ok && ack.recovered], [true, false]);
});

test("a master that lost acknowledged writes: subscribers resync at once, offsets are never reused", async (t) => {
  const { redis, url, ch, socket, log, notices } = await subscribedOnOneHost(t, "lost");
  for (let i = 1; i <= 5; i++) await publishOk(url, ch, i);
  await log.waitFor(5);
  // What a promoted replica that missed the last writes looks like: the head is behind what was
  // delivered. The reconnect is what a failover does to every client.
  const redisAdmin = admin(t, redis);
  await redisAdmin.hset(`pusher:c:${ch}`, "o", 3);
  await redisAdmin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
  const notice = await withTimeout(new Promise<ResyncNotice>((resolve) => socket.once("resync", resolve)), 10_000, "a resync notice");
  assert.deepEqual([notice.reason, notice.offset], ["epoch_changed", 0]);
  assert.equal(notices.length, 1);
  const next = await publishOk(url, ch, 6);
  assert.notEqual(next.epoch, log.messages[0]!.epoch);
  assert.equal(next.offset, 1);
  const sixth = (await log.waitFor(6))[5]!;
  assert.deepEqual([sixth.epoch, sixth.offset, sixth.data], [next.epoch, 1, 6]);
});

test("a message written again in a new epoch (its first copy lost with the master) reaches the application once", async (t) => {
  const redis = await startRedis(t);
  const [host] = await hostsOn(t, redis, 1);
  const ch = channel("twice");
  const recorder = new ChannelRecorder(t, host!.url, ch);
  await recorder.subscribed();
  const send = (seq: number) => publish(host!.url, { channel: ch, event: "seq", data: { seq }, id: `${ch}-${seq}` });
  for (let seq = 1; seq <= 3; seq++) assert.equal((await send(seq)).status, 200);
  await recorder.waitForAll([1, 2, 3]);
  // A promoted replica that missed the last write: head, history and the id's memory all lack it,
  // and the publisher, whose answer was lost with the old master, sends it again with its id.
  const redisAdmin = admin(t, redis);
  await redisAdmin.hset(`pusher:c:${ch}`, "o", 2);
  await redisAdmin.xtrim(`pusher:h:${ch}`, "MAXLEN", 2);
  await redisAdmin.del(...(await redisAdmin.keys("pusher:id:*")));
  await redisAdmin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
  const resynced = withTimeout(new Promise<void>((resolve) => recorder.client.on("resync", () => resolve())), 10_000, "a resync");
  await resynced;
  const again = await send(3);
  assert.equal(again.status, 200);
  assert.notEqual(again.body.offsets[ch].epoch, recorder.messages[0]!.epoch, "written again in a new epoch");
  assert.equal((await send(4)).status, 200);
  await recorder.waitForAll([4]);
  assert.deepEqual(recorder.seqs(), [1, 2, 3, 4]);
});

test("a hung Redis: /readyz turns 503, publishes answer 503 with Retry-After, and both recover", async (t) => {
  const redis = await startRedis(t);
  const [a] = await hostsOn(t, redis, 1, { PUSHER_PUBLISH_TIMEOUT_MS: "1500" });
  assert.equal((await fetch(`${a!.url}/readyz`)).status, 200);
  redis.signal("SIGSTOP");
  const refused = await publish(a!.url, { channel: "hung", event: "e", data: 1 });
  assert.equal(refused.status, 503);
  assert.ok(Number(refused.headers.get("retry-after")) >= 1);
  const unready = await fetch(`${a!.url}/readyz`);
  assert.equal(unready.status, 503);
  assert.match(((await unready.json()) as { reason: string }).reason, /canary/);
  redis.signal("SIGCONT");
  await retryUntil(async () => assert.equal((await fetch(`${a!.url}/readyz`)).status, 200, "ready again"), { timeoutMs: 15_000 });
  assert.equal((await publish(a!.url, { channel: "hung", event: "e", data: 2 })).status, 200);
});

test("a master turned read-only (demoted to a replica) makes the host unready until it takes writes again", async (t) => {
  const [redis, other] = await Promise.all([startRedis(t), startRedis(t)]);
  const [a] = await hostsOn(t, redis, 1);
  assert.equal((await fetch(`${a!.url}/readyz`)).status, 200);
  const redisAdmin = admin(t, redis);
  await redisAdmin.call("REPLICAOF", other.host, String(other.port));
  await retryUntil(async () => assert.equal((await fetch(`${a!.url}/readyz`)).status, 503, "unready while read-only"), { timeoutMs: 15_000 });
  await redisAdmin.call("REPLICAOF", "NO", "ONE");
  await retryUntil(async () => assert.equal((await fetch(`${a!.url}/readyz`)).status, 200, "ready again"), { timeoutMs: 15_000 });
});

test("metrics name the Redis master and time publishes", async (t) => {
  const redis = await startRedis(t);
  const [a] = await hostsOn(t, redis, 1);
  await publishOk(a!.url, channel("metrics"), 1);
  const text = await (await fetch(`${a!.url}/metrics`)).text();
  assert.match(text, new RegExp(`pusher_redis_master\\{address="${redis.address.replace(/\./g, "\\.")}"\\} 1`));
  assert.match(text, /pusher_redis_failovers_total 0/);
  assert.match(text, /pusher_publish_wait_seconds_count 1/);
  assert.match(text, /pusher_fanout_lag_seconds \d/);
});

test("a worker SIGKILL costs no resync: its clients recover every acknowledged message exactly once", async (t) => {
  const redis = await startRedis(t);
  const env = { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: `redis://${redis.address}` };
  // Publishing goes through another host: publishes relayed to the dying worker are the primary's concern.
  const [host, publishing] = await Promise.all([startPusher(t, { workers: 2, env }), startPusher(t, { workers: 1, env })]);
  const channels = Array.from({ length: 4 }, (_, i) => `workerkill-${i}-${randomUUID().slice(0, 8)}`);
  // The killed worker's clients reconnect to its respawned successor first (least-connection):
  // their history reads race that worker's fan-out reader finding its place in the stream.
  const recorders = channels.flatMap((ch) => Array.from({ length: 6 }, () => new ChannelRecorder(t, host!.url, ch)));
  await Promise.all(recorders.map((r) => r.subscribed()));
  const publishers = channels.map((ch) => new SteadyPublisher([publishing!.url], ch, 50));
  publishers.forEach((p) => p.start());
  await Promise.all(publishers.map((p) => p.nextAckAfter(Date.now() + 500)));

  const [index, pid] = [...host!.workers][0]!;
  process.kill(pid, "SIGKILL");
  await host!.waitForLog((l) => l.msg === "worker ready" && l.index === index && l.workerPid !== pid);
  await Promise.all(publishers.map((p) => p.nextAckAfter(Date.now() + 1000)));
  await Promise.all(publishers.map((p) => p.stop()));

  for (const [i, publisher] of publishers.entries()) {
    assert.deepEqual(publisher.failures, [], `publishes on ${channels[i]}`);
    const own = recorders.filter((r) => r.subscription.channel === channels[i]);
    await explainedByHostLogs([host!], async () => {
      await Promise.all(own.map((r) => r.waitForAll(publisher.acks.map((a) => a.seq))));
      own.forEach((r, j) => assert.equal(assertDeliveryGuarantee(r, publisher.acks, `${channels[i]} subscriber ${j}`), 0, `${channels[i]} subscriber ${j} resynced`));
    });
  }
});
