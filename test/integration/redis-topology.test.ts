import test from "node:test";
import assert from "node:assert/strict";
import { startRedis, startSentinelTopology } from "../helpers/redis-topology.js";
import { withAdmin } from "../../src/redis-client/sentinel-commands.js";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a sentinel topology starts ready, fails over on kill -9 of its master, and leaves nothing behind", async (t) => {
  const started = Date.now();
  const topology = await startSentinelTopology(t);
  t.diagnostic(`topology ready in ${Date.now() - started} ms`);
  assert.equal(topology.redis.length, 3);
  assert.equal(topology.sentinels.length, 3);
  assert.equal(topology.sentinelList, topology.sentinels.map((s) => `127.0.0.1:${s.port}`).join(","));
  assert.equal(await topology.currentMaster(), topology.redis[0]);

  const switched = topology.nextSwitchMaster(15_000);
  const killedAt = Date.now();
  await topology.redis[0]!.kill();
  const { from, to, at } = await switched;
  t.diagnostic(`+switch-master ${at - killedAt} ms after kill -9`);
  assert.equal(from, topology.redis[0]!.address);
  const replicas = topology.redis.slice(1).map((node) => node.address);
  assert.ok(replicas.includes(to), `${to} is one of the replicas ${replicas.join(", ")}`);
  assert.ok(at - killedAt < 10_000, `failover took ${at - killedAt} ms`);
  assert.equal((await topology.currentMaster()).address, to);
  // Every sentinel announced it: recorded once, at the first announcement.
  assert.deepEqual(topology.switchesSeen(), [{ from, to, at }]);

  const pids = [...topology.redis, ...topology.sentinels].map((node) => node.pid);
  await topology.close();
  assert.deepEqual(pids.filter(isRunning), [], "every process is gone after close");
});

test("startRedis gives a standalone redis-server that answers and is gone after its test", async (t) => {
  let pid = 0;
  await t.test("inner", async (t2) => {
    const redis = await startRedis(t2);
    pid = redis.pid;
    assert.equal(await withAdmin(redis.address, "", (client) => client.ping()), "PONG");
    assert.match(await withAdmin(redis.address, "", (client) => client.info("replication")), /role:master/);
  });
  assert.ok(pid > 0);
  assert.equal(isRunning(pid), false, "the inner test's after hook killed it");
});
