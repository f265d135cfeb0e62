import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import type { NginxProxy } from "../helpers/nginx.js";
import { FleetTraffic, hostHoldingAll, startFleet, type Fleet } from "../helpers/nginx-fleet.js";
import { startPusher, type PusherHost } from "../helpers/pusher.js";

/** DESIGN §5 through a rolling restart behind the shipped nginx config: one host at a time drains, exits and comes back. */

/** Drains host `index` (SIGTERM), expects exit 0, and starts its replacement on the same port. */
async function restartHost(t: TestContext, fleet: Fleet, traffic: FleetTraffic, index: number): Promise<void> {
  // Backends move their publishes off a host before it goes, as a deploy script would.
  await traffic.retarget(fleet.hosts.filter((_, i) => i !== index).map((host) => host.url));
  assert.equal(await fleet.hosts[index]!.stop("SIGTERM"), 0, `host ${index} drained and exited 0`);
  fleet.hosts[index] = await startPusher(t, { ...fleet.hostOptions, port: fleet.hosts[index]!.port });
  await traffic.retarget(fleet.hosts.map((host) => host.url));
}

/**
 * Resolves once nginx answers a short request from `host` again. A host that failed is held back
 * for fail_timeout, and only a *finished* request brings it back: a websocket that happens to be
 * the probe keeps it out another round. Draining the next host before this leaves its clients
 * nowhere to go (docs: rolling restarts).
 */
async function nginxRoutesTo(proxy: NginxProxy, host: PusherHost): Promise<void> {
  const address = `127.0.0.1:${host.port}`;
  await retryUntil(
    async () => {
      const { upstream, status } = await proxy.servedBy("/healthz");
      if (upstream !== address || status !== 200) throw new Error(`nginx still answers from ${upstream} (${status}), not the restarted ${address}`);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

async function allConnected(traffic: FleetTraffic): Promise<void> {
  await retryUntil(
    async () => {
      const away = traffic.subscribers.filter((s) => s.recorder.client.state !== "connected").map((s) => `${s.label}: ${s.recorder.client.state}`);
      if (away.length > 0) throw new Error(`not every subscriber is connected: ${away.join("; ")}`);
    },
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

test("rolling restart behind nginx: every subscriber gets every message once, in order, and ends connected", async (t) => {
  const started = Date.now();
  const mark = (what: string): void => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  const fleet = await startFleet(t, 2);
  mark("hosts and nginx up");
  const traffic = await FleetTraffic.start(t, fleet);
  const clients = traffic.recorders.length;
  const holder = await hostHoldingAll(fleet.hosts, clients);
  const drains = traffic.recorders.map(() => 0);
  traffic.recorders.forEach((r, i) => r.client.on("state", (state, detail) => void (state === "reconnecting" && detail.reason === "draining" && drains[i]!++)));

  // The host holding the clients goes first: they move to the other host, and back with the second restart.
  mark("subscribed and publishing");
  await restartHost(t, fleet, traffic, holder);
  mark(`host ${holder} restarted`);
  await allConnected(traffic);
  assert.equal(await hostHoldingAll(fleet.hosts, clients), 1 - holder, "the drained clients all moved to the other host");
  await nginxRoutesTo(fleet.proxy, fleet.hosts[holder]!);
  mark(`nginx routes to host ${holder} again`);
  await traffic.nextAcks();

  await restartHost(t, fleet, traffic, 1 - holder);
  mark(`host ${1 - holder} restarted`);
  await allConnected(traffic);
  mark("all connected");
  assert.equal(await hostHoldingAll(fleet.hosts, clients), holder, "the clients all moved back to the restarted first host");
  mark("all on the first host");

  traffic.subscribers.forEach(({ label, transports, outages }, i) => {
    // A polling session survives only while nginx keeps routing to the same host: when the first
    // host came back, its next poll went there ("Session ID unknown"), so it reconnected there
    // before the second drain. A websocket stays where it is until its host drains it.
    if (transports.includes("websocket")) assert.equal(drains[i], 2, `${label} was drained by each restart`);
    else assert.ok(drains[i]! >= 1, `${label} was drained by the first restart`);
    assert.ok(outages.length > 0 && Math.max(...outages) < 5000, `${label} was back within 5 s each time (${outages.join(", ")} ms)`);
  });
  t.diagnostic(`longest outage: ${Math.max(...traffic.subscribers.flatMap((s) => s.outages))} ms`);
  // Acknowledged once every subscriber is back, so their arrival proves each subscription is live.
  await traffic.nextAcks();
  await traffic.stopAndAssertDelivered();
});
