import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";
import { joinPresence, stateEventually } from "../helpers/presence.js";
import { startPusher, type PusherHost } from "../helpers/pusher.js";
import { startRedis, type RedisNode } from "../helpers/redis-topology.js";
import { WebhookReceiver } from "../helpers/webhook-receiver.js";
import { presenceSuite, SUITE_ENV } from "./presence-suite.js";

/** Presence and channel state across two hosts on one real Redis (standalone). */

const LEASE_MS = 1500;
const WEBHOOK_SECRET = "presence-webhook-secret";

async function hostsOn(t: TestContext, redis: RedisNode, env: Record<string, string> = {}): Promise<[PusherHost, PusherHost]> {
  const redisEnv = { PUSHER_REDIS_MODE: "standalone", PUSHER_REDIS_URL: `redis://${redis.address}`, PUSHER_CHANNEL_STATE_WORKER_LEASE_MS: String(LEASE_MS), ...SUITE_ENV, ...env };
  const [a, b] = await Promise.all([startPusher(t, { workers: 1, env: redisEnv }), startPusher(t, { workers: 1, env: redisEnv })]);
  return [a, b];
}

presenceSuite("redis", async (t) => {
  const [a, b] = await hostsOn(t, await startRedis(t));
  return [a.url, b.url];
});

test("redis: a killed host's members are removed within the lease bound", async (t) => {
  const [a, b] = await hostsOn(t, await startRedis(t));
  const room = `presence-${randomUUID().slice(0, 8)}`;
  await joinPresence(t, a.url, room, "doomed");
  const survivor = await joinPresence(t, b.url, room, "survivor");
  await survivor.membersAre(["doomed", "survivor"]);
  const killedAt = Date.now();
  await a.crash();
  // Reaped by the other host's worker: the lease lapses, then its next round (every lease/3) runs.
  const bound = Math.ceil((LEASE_MS * 4) / 3) + 1000;
  await survivor.membersAre(["survivor"], bound + 2000);
  const took = Date.now() - killedAt;
  t.diagnostic(`member removed ${took} ms after the host was killed (bound ${bound} ms)`);
  assert.ok(took <= bound, `removed after ${took} ms, over the bound of ${bound} ms`);
  const counts = await stateEventually(b.url, `/v1/channels/${room}`, (body) => body.subscribers === 1);
  assert.equal(counts.members, 1);
});

test("redis: webhook events are decided once for all hosts and posted once", async (t) => {
  const receiver = await WebhookReceiver.start(t, WEBHOOK_SECRET);
  const [a, b] = await hostsOn(t, await startRedis(t), { PUSHER_WEBHOOK_URLS: receiver.url, PUSHER_WEBHOOK_SECRET: WEBHOOK_SECRET, PUSHER_WEBHOOK_BATCH_WAIT_MS: "50" });
  const room = `presence-${randomUUID().slice(0, 8)}`;
  const alice = await joinPresence(t, a.url, room, "alice");
  const aliceAgain = await joinPresence(t, b.url, room, "alice");
  const bob = await joinPresence(t, b.url, room, "bob");
  await alice.membersAre(["alice", "bob"]);
  alice.client.close();
  aliceAgain.client.close();
  await bob.membersAre(["bob"]);
  bob.client.close();
  const mine = () => receiver.acknowledged().filter((e) => e.channel === room);
  await receiver.until(() => mine().some((e) => e.name === "channel_vacated"), 20_000, "channel_vacated posted");
  assert.deepEqual(mine().map((e) => [e.name, e.user_id]), [
    ["channel_occupied", undefined],
    ["member_added", "alice"],
    ["member_added", "bob"],
    ["member_removed", "alice"],
    ["member_removed", "bob"],
    ["channel_vacated", undefined],
  ]);
  assert.ok(receiver.posts.every((p) => p.signatureValid));
});

test("redis: a host that stops withdraws its members at once", async (t) => {
  const [a, b] = await hostsOn(t, await startRedis(t), { PUSHER_CHANNEL_STATE_WORKER_LEASE_MS: "60000" });
  const room = `presence-${randomUUID().slice(0, 8)}`;
  await joinPresence(t, a.url, room, "leaving");
  const stays = await joinPresence(t, b.url, room, "stays");
  await stays.membersAre(["leaving", "stays"]);
  await a.stop("SIGTERM");
  // Far below the 60 s lease: the drain's leaves and the worker's withdrawal did it.
  await stays.membersAre(["stays"], 10_000);
});
