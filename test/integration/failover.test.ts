import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";
import { explainedByHostLogs, startPusher, type PusherHost } from "../helpers/pusher.js";
import { startSentinelTopology, type SentinelTopology } from "../helpers/redis-topology.js";
import { assertDeliveryGuarantee, ChannelRecorder, SteadyPublisher } from "../helpers/steady-traffic.js";
import { startBalancer } from "../helpers/tcp-balancer.js";

/**
 * DESIGN §5 across a real Sentinel topology (master, 2 replicas, 3 sentinels, down-after 1000 ms)
 * and two pusher hosts as separate process trees: every acknowledged message reaches every
 * subscriber exactly once, in order, through a master kill, a hung master and a host death.
 */

async function twoHosts(t: TestContext, topology: SentinelTopology): Promise<PusherHost[]> {
  const env = {
    PUSHER_REDIS_MODE: "sentinel",
    PUSHER_REDIS_SENTINELS: topology.sentinelList,
    PUSHER_REDIS_NAME: topology.name,
    // Above the slowest failover the topology below allows (a split vote retried once).
    PUSHER_PUBLISH_TIMEOUT_MS: "15000",
  };
  return Promise.all([startPusher(t, { workers: 1, env }), startPusher(t, { workers: 1, env })]);
}

async function subscribers(t: TestContext, urls: string[], channel: string): Promise<ChannelRecorder[]> {
  const recorders = urls.map((url) => new ChannelRecorder(t, url, channel));
  await Promise.all(recorders.map((r) => r.subscribed()));
  return recorders;
}

/**
 * Sentinels that split their vote retry the election only after twice failover-timeout (seen
 * here: a 24 s failover with Sentinel's 10 s); 3 s keeps even that case within the publish timeout.
 */
const topologyOptions = { failoverTimeoutMs: 3000 };

/**
 * Publishes for a while, injects `fault` on the master, and checks delivery once publishing
 * resumed. What `fault` returns runs once Sentinel has switched masters.
 */
async function masterFault(t: TestContext, fault: (topology: SentinelTopology) => Promise<(() => void) | void>): Promise<void> {
  const topology = await startSentinelTopology(t, topologyOptions);
  const [a, b] = await twoHosts(t, topology);
  const channel = `failover-${randomUUID().slice(0, 8)}`;
  const recorders = await subscribers(t, [a!.url, a!.url, b!.url, b!.url], channel);
  const publisher = new SteadyPublisher([a!.url, b!.url], channel, 100);
  publisher.start();
  await publisher.nextAckAfter(Date.now() + 500);

  const switched = topology.nextSwitchMaster(30_000);
  const afterSwitch = await fault(topology);
  const { at } = await switched;
  afterSwitch?.();
  const resumed = await publisher.nextAckAfter(at, 20_000);
  t.diagnostic(`first acknowledged publish ${resumed.at - at} ms after +switch-master`);
  await publisher.nextAckAfter(resumed.at + 1000);
  await publisher.stop();

  assert.deepEqual(publisher.failures, [], "publishes issued during the failover wait, they do not fail");
  const acked = publisher.acks.map((a) => a.seq);
  const resyncs = await explainedByHostLogs([a!, b!], async () => {
    await Promise.all(recorders.map((r) => r.waitForAll(acked)));
    return recorders.map((r, i) => assertDeliveryGuarantee(r, publisher.acks, `subscriber ${i}`));
  });
  t.diagnostic(`${publisher.acks.length} acknowledged; resyncs per subscriber: ${resyncs.join(", ")}`);
}

test("kill -9 of the master: acknowledged messages arrive once and in order (or a resync tells of lost history), publishing resumes", async (t) => {
  await masterFault(t, async (topology) => (await topology.currentMaster()).kill());
});

test("a hung master (SIGSTOP) is left behind through the failover detector", async (t) => {
  await masterFault(t, async (topology) => {
    const master = await topology.currentMaster();
    master.signal("SIGSTOP");
    // Woken once replaced, as an operator would: it rejoins as a replica of the new master.
    return () => master.signal("SIGCONT");
  });
});

test("a host dies: its clients reconnect to the other host and recover every message", async (t) => {
  const topology = await startSentinelTopology(t, topologyOptions);
  const [a, b] = await twoHosts(t, topology);
  const balancer = await startBalancer(t, [a!.port, b!.port]);
  const channel = `hostdeath-${randomUUID().slice(0, 8)}`;
  const recorders = await subscribers(t, [balancer.url, balancer.url, b!.url], channel);
  const publisher = new SteadyPublisher([b!.url], channel, 100);
  publisher.start();
  await publisher.nextAckAfter(Date.now() + 500);

  const reconnected = recorders.slice(0, 2).map((r) => new Promise<void>((resolve) => r.client.on("state", (s) => s === "connected" && resolve())));
  await a!.stop("SIGKILL");
  await Promise.all(reconnected);
  await publisher.nextAckAfter(Date.now() + 1000);
  await publisher.stop();

  assert.deepEqual(publisher.failures, []);
  const acked = publisher.acks.map((x) => x.seq);
  await Promise.all(recorders.map((r) => r.waitForAll(acked)));
  // Redis kept everything: a host death alone must not cost any subscriber a resync.
  recorders.forEach((r, i) => assert.equal(assertDeliveryGuarantee(r, publisher.acks, `subscriber ${i}`), 0, `subscriber ${i} resynced`));
});

test("replica durability through a double failover: no acknowledged message lost, publishing back after the last switch", async (t) => {
  // Three replicas, so the last promoted master still has one in sync: with two, the other is the
  // stalled ex-master, which Sentinel converts only at its next INFO (up to 10 s), and replica
  // durability cannot acknowledge anything before some replica holds it.
  const topology = await startSentinelTopology(t, { ...topologyOptions, replicas: 3 });
  const env = {
    PUSHER_REDIS_MODE: "sentinel",
    PUSHER_REDIS_SENTINELS: topology.sentinelList,
    PUSHER_REDIS_NAME: topology.name,
    PUSHER_PUBLISH_DURABILITY: "replica",
    PUSHER_PUBLISH_TIMEOUT_MS: "15000",
  };
  const [a, b] = await Promise.all([startPusher(t, { workers: 1, env }), startPusher(t, { workers: 1, env })]);
  const channel = `double-${randomUUID().slice(0, 8)}`;
  const recorders = await subscribers(t, [a!.url, b!.url], channel);
  const publisher = new SteadyPublisher([a!.url, b!.url], channel, 100);
  publisher.start();
  await publisher.nextAckAfter(Date.now() + 500);

  const first = topology.nextSwitchMaster(30_000);
  await (await topology.currentMaster()).kill();
  const { to } = await first;
  // The promoted replica looks down for a while (issue 10: a loaded machine), so Sentinel fails
  // over again, to the other replica.
  const promoted = topology.redis.find((n) => n.address === to)!;
  promoted.signal("SIGSTOP");
  // Every sentinel announces a switch: the second failover's is the one away from `promoted`.
  let at = 0;
  while (at === 0) {
    const next = await topology.nextSwitchMaster(30_000);
    if (next.from === to) at = next.at;
  }
  promoted.signal("SIGCONT");
  const resumed = await publisher.nextAckAfter(at, 20_000);
  t.diagnostic(`first acknowledged publish ${resumed.at - at} ms after the last +switch-master`);
  await publisher.nextAckAfter(resumed.at + 1000);
  await publisher.stop();

  assert.deepEqual(publisher.failures, [], "publishes issued during the failovers wait, they do not fail");
  const acked = publisher.acks.map((x) => x.seq);
  await Promise.all(recorders.map((r) => r.waitForAll(acked)));
  recorders.forEach((r, i) => assert.equal(assertDeliveryGuarantee(r, publisher.acks, `subscriber ${i}`), 0, `subscriber ${i} resynced: an acknowledged message was lost`));
  // The first sentinel announces the switch before the other replica has synced with the new
  // master, and replica durability needs one that has: 0.6-1.4 s measured here on 2 cores, where
  // WAIT 1 against a master without replicas stalled publishing for 10-12 s (issue 10).
  assert.ok(resumed.at - at <= 2500, `publishing back ${resumed.at - at} ms after the last +switch-master`);
});

test("a Sentinel config naming an unknown master stops the host before any worker starts", async (t) => {
  const topology = await startSentinelTopology(t);
  const host = await startPusher(t, {
    waitReady: false,
    env: { PUSHER_REDIS_MODE: "sentinel", PUSHER_REDIS_SENTINELS: topology.sentinelList, PUSHER_REDIS_NAME: "no-such-master" },
  });
  assert.equal(await host.exited, 78, "EX_CONFIG");
  assert.equal(host.lines.filter((l) => l.msg === "worker ready").length, 0);
});
